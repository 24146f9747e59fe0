"""The report's tables of the floor and of W1, W2, W4, W5, W6 and the micro-benchmarks (W3 and
W3b: chapter/bench/idle_tables.py)."""
from __future__ import annotations

from chapter.bench import lineup
from chapter.bench.formatting import (DASH, IMAGES, f_bytes, f_count, f_num, f_ratio, f_us,
                                      pool_of, status_cell, table, with_ratio)
from chapter.bench.lineup import label
from chapter.bench.results import Results, cpu_per_million, p50, p99, ratio, sides_busy
from chapter.bench.sizes import W1_PLACEMENTS

# The IO models whose servers run several processes or threads: only they can use both cores.
SEVERAL_TASKS = ("fork", "thread", "pool")


def section_floor(res: Results) -> str:
    rows = []
    for b in res.param_values("floor-ping", "line_bytes"):
        for pl in W1_PLACEMENTS:
            lg = res.lg("floor-ping", "floor", line_bytes=b, placement=pl)
            rows.append([f"ping-pong, {b}-byte lines, {res.placement_name(pl)}",
                         f_us(p50(lg)), f_us(p99(lg)), f_count(lg and lg["per_second"]),
                         f_num(lg and lg["mb_per_second"], 1)])
    lg = res.lg("floor-bulk", "floor")
    rows.append(["bulk, 64 × 16384-byte lines in flight, separate cores",
                 f_us(p50(lg)), f_us(p99(lg)), f_count(lg and lg["per_second"]),
                 f_num(lg and lg["mb_per_second"], 1)])
    return ("## The floor\n\n`bench/floor` is a plain blocking echo server: no protocol, no "
            "ROT13, one connection at a time. Nothing could answer faster over loopback on this "
            "machine, so latency and bulk are stated as ratios to it.\n\n"
            + table(["floor", "p50 µs", "p99 µs", "round trips/s", "MB/s"], rows) + "\n")


def section_w1(res: Results) -> str:
    sizes = res.param_values("W1", "line_bytes")
    header = ["stage", "placement"]
    for b in sizes:
        header += [f"{b} B: p50 µs (× floor)", f"{b} B: p99 µs", f"{b} B: round trips/s"]
    rows = []
    for pl in W1_PLACEMENTS:
        for stage in ["floor", *res.stages("W1")]:
            row = [label(stage), res.placement_name(pl)]
            for b in sizes:
                floor = res.lg("floor-ping", "floor", line_bytes=b, placement=pl)
                if stage == "floor":
                    lg, r = floor, None
                else:
                    lg = res.lg("W1", stage, line_bytes=b, placement=pl)
                    r = ratio(p50(lg), p50(floor))
                if lg is None:
                    cell = status_cell(res.find("W1", stage, line_bytes=b, placement=pl))
                    row += [cell, DASH, DASH]
                else:
                    row += [with_ratio(f_us(p50(lg)), r), f_us(p99(lg)), f_count(lg["per_second"])]
            rows.append(row)
    return ("## W1: latency\n\nOne connection, one line in flight: the round trip from loadgen's "
            "send to the end of the answer. The ratio is to the floor's p50 in the same placement "
            "and line size (1.00× is as fast as an echo).\n\n"
            + table(header, rows, "ll" + "r" * (len(header) - 2))
            + f"\n\n![W1: round trip per stage](images/{IMAGES['W1']})\n")


def section_w2(res: Results) -> str:
    conns = res.param_values("W2", "connections")
    depths = res.param_values("W2", "depth")
    rows, cpu_rows = [], []
    sides = False  # whether loadgen's CPU was measured (runs before 08b's did not)
    reference = lineup.reference("W2")
    for pl, d in [(pl, d) for pl in res.w2_placements() for d in depths]:
        for stage in res.stages("W2"):
            row = [label(stage), res.placement_name(pl), str(d)]
            cpu_row = list(row)
            for c in conns:
                lg = res.lg("W2", stage, connections=c, depth=d, placement=pl)
                ref = res.lg("W2", reference, connections=c, depth=d, placement=pl)
                if lg is None:
                    row.append(status_cell(res.find("W2", stage, connections=c, depth=d,
                                                    placement=pl)))
                    cpu_row.append(DASH)
                    continue
                r = (ratio(lg["per_second"], ref and ref["per_second"])
                     if stage != reference else None)
                row.append(with_ratio(f_count(lg["per_second"]), r))
                cpu_row.append(f_num(cpu_per_million(lg)) + sides_busy(lg))
                sides = sides or bool(sides_busy(lg))
            rows.append(row)
            cpu_rows.append(cpu_row)
    header = ["stage", "placement", "depth", *[f"{c} conn." for c in conns]]
    pinned = res.w2_placements() == ["separate"]
    pool = lineup.pool_stage()
    pools = sorted({pool_of(r) or pool.pool["default"] for r in res.records
                    if r["workload"] == "W2" and r["stage"] == pool.key}) if pool else []
    pool_note = (f" {pool.key} ran with a pool as large as the connections "
                 f"(`{pool.pool['option']} C`, at least its default {pool.pool['default']}; "
                 f"here {', '.join(map(str, pools))}): each of its workers serves one "
                 "connection until it closes, and loadgen's stay open." if pools else "")
    return ("## W2: throughput\n\nC connections with D lines of 16 bytes in flight on each "
            f"(closed loop): lines answered per second, and the ratio to {reference} at the "
            "same point "
            "and placement." + pool_note + "\n\n"
            + table(header, rows, "llr" + "r" * len(conns))
            + "\n\nServer CPU-seconds per million lines (lower is cheaper; "
            + ("the server is pinned to one core, so 1 CPU-s per second is all it can have"
               if pinned else "pinned to one core, a server can have at most 1 CPU-s per "
               "second; unpinned, only a server of several processes or threads "
               f"({', '.join(lineup.keys_of(*SEVERAL_TASKS))}) can use both cores")
            + ("; in brackets, each side's CPU-seconds per second of the window, server / "
               "loadgen: a pinned side near 1.00 was saturated, as were both unpinned if they "
               "add up to near 2.00" if sides else "")
            + "):\n\n"
            + table(header, cpu_rows, "llr" + "r" * len(conns))
            + f"\n\n![W2: throughput against connections](images/{IMAGES['W2']})\n")




def section_w4(res: Results) -> str:
    rows = []
    # Ratios to the workload's reference, and to the reference of the event loops (W2's).
    first, second = lineup.reference("W4"), lineup.reference("W2")
    ref_first, ref_second = res.lg("W4", first), res.lg("W4", second)
    for stage in res.stages("W4"):
        r = res.find("W4", stage)
        lg = res.lg("W4", stage)
        if lg is None:
            rows.append([label(stage), status_cell(r), *[DASH] * 6])
            continue
        cycles = lg["per_second"] * lg["server_window_seconds"]
        rows.append([
            label(stage), f_count(lg["per_second"]),
            f_ratio(ratio(lg["per_second"], ref_first and ref_first["per_second"])),
            f_ratio(ratio(lg["per_second"], ref_second and ref_second["per_second"])),
            f_us(p50(lg)), f_us(p99(lg)),
            f_num(lg["server_cpu_seconds"] / cycles * 1e3 if cycles else None, 3),
            str(lg.get("failed_in_window", lg["failed"])),
        ])
    header = ["stage", "connections/s", f"× {first}", f"× {second}", "p50 µs per connection",
              "p99 µs", "server CPU-ms per connection", "failed connections"]
    return ("## W4: churn\n\n100 concurrent clients, each connecting, sending one 16-byte line, "
            "reading its answer and closing, over and over, in short bursts (see *How each "
            "figure is measured*: a long window would measure the client's ephemeral ports, not "
            "the server). The time is from connect() to the answer.\n\n" + table(header, rows)
            + f"\n\n![W4: connections per second](images/{IMAGES['W4']})\n")


def section_w5(res: Results) -> str:
    floor = res.lg("floor-bulk", "floor")
    rows = []
    for stage in ["floor", *res.stages("W5")]:
        lg = floor if stage == "floor" else res.lg("W5", stage)
        if lg is None:
            rows.append([label(stage), status_cell(res.find("W5", stage)), *[DASH] * 3])
            continue
        gb = lg["mb_per_second"] * lg["server_window_seconds"] / 1e3
        rows.append([label(stage), f_num(lg["mb_per_second"], 0),
                     f_ratio(ratio(lg["mb_per_second"], floor and floor["mb_per_second"])),
                     f_us(p50(lg)), f_num(lg["server_cpu_seconds"] / gb if gb else None)])
    return ("## W5: bulk\n\nOne connection with 64 lines of 16384 bytes in flight: megabytes "
            "answered per second, against the floor's echo of the same stream.\n\n"
            + table(["stage", "MB/s", "× floor", "p50 µs per line", "server CPU-s per GB"], rows)
            + f"\n\n![W5: bulk stream](images/{IMAGES['W5']})\n")


def section_w6(res: Results) -> str:
    rows = []
    for stage in res.stages("W6"):
        r = res.find("W6", stage)
        lg = res.lg("W6", stage)
        fl = (r or {}).get("flood", {})
        calm = res.lg("W1", stage, line_bytes=16, placement="separate")
        if lg is None:
            rows.append([label(stage), status_cell(r), *[DASH] * 6])
            continue
        rows.append([
            label(stage), f_bytes(fl.get("bytes_sent")), f_us(p50(lg)),
            with_ratio(f_us(p99(lg)), ratio(p99(lg), p99(calm))),
            f_bytes(fl.get("rss_before")), f_bytes(fl.get("rss_peak")),
            f_bytes(fl["rss_peak"] - fl["rss_before"] if "rss_peak" in fl else None),
        ])
    header = ["stage", "flood sent before it stalled", "pinger p50 µs",
              "pinger p99 µs (× W1 p99)", "server memory before", "peak", "growth"]
    return ("## W6: flood\n\nOne client sends without ever reading while another pings (1 "
            "connection, depth 1). Backpressure (rule 5 of the protocol) bounds what the server "
            "buffers for the flooder, and the pinger should not notice it. The p99 ratio is to the "
            "same stage's W1 p99 (16-byte lines, separate cores), without a flood.\n\n"
            + table(header, rows) + "\n")


def section_micro(res: Results) -> str:
    r = res.find("micro", "-")
    if r is None or r["status"] != "ok":
        return "## Micro-benchmarks\n\n" + (status_cell(r) if r else "Not run.") + "\n"
    rows = []
    for b in r["micro"]["benchmarks"]:
        bps = b.get("bytes_per_second")
        ns = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        rows.append([f"`{b['name']}`", f_num(bps / 1e9 if bps else None),
                     f"{ns:.1f} ns" if ns < 1e4 else f"{ns / 1e3:.1f} µs",
                     f_count(b["iterations"])])
    return ("## Micro-benchmarks\n\n`bench/micro` (Google Benchmark, pinned to CPU 1): the two "
            "pieces of code every byte goes through. `BM_LineProtocol/N` feeds 16 KiB reads of "
            "N-byte lines to the state machine and drains its answers.\n\n"
            + table(["benchmark", "GB/s", "time per iteration", "iterations"], rows) + "\n")
