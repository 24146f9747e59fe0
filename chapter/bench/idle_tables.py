"""The report's tables of idle connections: W3 (and its table of models: processes, threads,
a pool, an event loop) and W3b (one high descriptor)."""
from __future__ import annotations

from chapter.bench import lineup
from chapter.bench.formatting import (DASH, IMAGES, f_bytes, f_num, f_ratio, f_us,
                                      status_cell, table, with_ratio)
from chapter.bench.lineup import label
from chapter.bench.results import Results, p50, p99, ratio


def pss_per_connection(info: dict) -> float | None:
    """The proportional set size per idle connection, where the server ran several processes
    (a process per connection): there the resident set counts each shared page once per
    process, and PSS says what they really cost."""
    return info.get("pss_per_connection") if info.get("processes", 1) > 1 else None


def section_w3(res: Results) -> str:
    rows = []
    reference = lineup.reference("W3")
    for stage in res.stages("W3"):
        for n in res.param_values("W3", "idle"):
            r = res.find("W3", stage, idle=n)
            if r is None:
                continue
            base = r.get("active_before") if r["status"] == "ok" else None
            info = r.get("idle", {})
            lg = r.get("loadgen") if r["status"] == "ok" else None
            ref = res.lg("W3", reference, idle=n)
            held = (f"{info['held']} / {info['refused']}" if "held" in info
                    else status_cell(r))
            pss = pss_per_connection(info)
            rows.append([
                label(stage) + (f" (pool {info['pool']})" if info.get("pool") else ""),
                f"{n}", held,
                with_ratio(f_us(p50(lg)), ratio(p50(lg), p50(base)))
                if lg else ("refused" if info.get("refused") else status_cell(r)),
                f_ratio(ratio(p50(lg), p50(ref))) if stage != reference else DASH,
                f_us(p99(lg)),
                f_bytes(info.get("rss_per_connection")) + (f" (PSS {f_bytes(pss)})" if pss else ""),
                f_bytes(info.get("vsz_per_connection")),
                str(info["threads_held"]) if "threads_held" in info else DASH,
                f_num(info.get("idle_cpu_per_second"), 4),
            ])
    header = ["stage", "idle", "held / refused", "active p50 µs (× no idle)",
              f"p50 × {reference}", "active p99 µs", "resident per idle conn.",
              "virtual per idle conn.", "threads with them held", "CPU-s/s while idle"]
    backends = "".join(
        f" {e.key} ({e.backend}) is {e.key} on libevent's {e.backend} backend "
        f"(`{' '.join('='.join(kv) for kv in e.stage.env)}`): {e.facts['about']}"
        for e in lineup.entries() if e.is_backend_row and e.id in res.stages("W3"))
    return ("## W3: idle connections\n\nOne active client (1 connection, depth 1, 16-byte "
            "lines) while N idle connections are held: the chapter's argument in one table. "
            "What each stage pays per idle connection (memory, and CPU while nothing happens), "
            "how many it can hold, and what they cost the one client that is active. The first "
            "p50 ratio is to the same client on the same server just before the idle "
            f"connections were opened; the second is to {reference} with as many idle "
            "connections. "
            "Resident memory is VmRSS, virtual is VmSize (address space reserved), both summed "
            "over the server's processes; threads likewise "
            f"({', '.join(lineup.keys_of('fork'))}: one per process). A thread's "
            "VmSize counts its whole stack (RLIMIT_STACK, see the machine table) and, for the "
            "first threads, the malloc arenas glibc reserves for them (64 MiB of address space "
            "each, at most 8 per core): reserved, not resident." + backends
            + "\n\n" + table(header, rows, "lr" + "r" * (len(header) - 2))
            + "\n\n" + section_w3_models(res)
            + f"\n![W3: the active client's round trip against idle connections held]"
              f"(images/{IMAGES['W3']})\n")


def section_w3_models(res: Results) -> str:
    """Processes, threads, a pool, an event loop: the cost of an idle connection in each, at
    the most idle connections of the run (and, where that point was not run, at the most that
    were)."""
    counts = res.param_values("W3", "idle")
    models = {e.id: e.facts["holds"] for e in lineup.entries() if e.facts.get("holds")}
    if not counts or not any(s in res.stages("W3") for s in models):
        return ""
    most = counts[-1]
    rows = []
    for stage in [s for s in res.stages("W3") if s in models]:
        points = [most]
        r = res.find("W3", stage, idle=most)
        if r is None or "rss_per_connection" not in r.get("idle", {}):
            measured = [n for n in counts if n and "rss_per_connection" in
                        (res.find("W3", stage, idle=n) or {}).get("idle", {})]
            points += measured[-1:]
        for n in points:
            r = res.find("W3", stage, idle=n)
            info = (r or {}).get("idle", {})
            if r is None:
                continue
            if info.get("thread_error"):  # out of threads, in the server's own words
                said = (f"{info['thread_errors']} × `{info['thread_error'].split(': ', 1)[-1]}`")
            else:
                said = r.get("note", "") if r["status"] != "ok" else ""
            held = (f"{info['held']} of {n}" + (f" ({info['refused']} refused)"
                                                 if info.get("refused") else "")
                    if "held" in info else r["status"] if r["status"] != "ok" else DASH)
            pss = pss_per_connection(info)
            rows.append([label(stage), models[stage], held,
                         f_bytes(info.get("rss_per_connection"))
                         + (f" (PSS {f_bytes(pss)})" if pss else ""),
                         f_bytes(info.get("vsz_per_connection")),
                         str(info["threads_held"]) if "threads_held" in info else DASH,
                         said.replace("|", "/") or DASH])
    limits = res.data["machine"].get("thread_limits") or {}
    note = (f" This machine allows {limits.get('threads_max')} threads in all "
            f"(threads-max) and pid_max {limits.get('pid_max')} task ids; every thread of "
            f"{' and '.join(lineup.keys_of('thread'))} "
            "reserves a whole stack of address space, of which only the pages it touches are "
            "resident." if limits else "")
    return (f"**Processes, threads, a pool, an event loop.** What holding idle connections "
            f"costs in each model, at {most} idle connections (and, where that was not run, at "
            f"the most that were).{note}\n\n"
            + table(["stage", "model", "idle connections held", "resident per idle conn.",
                     "virtual per idle conn.", "threads", "what stopped it"],
                    rows, "llrrrrl") + "\n")


def section_w3b(res: Results) -> str:
    rows = []
    for stage in res.stages("W3b"):
        for n in res.param_values("W3b", "closed"):
            r = res.find("W3b", stage, closed=n)
            if r is None:
                continue
            info = r.get("high_fd", {})
            lg = r.get("loadgen") if r["status"] == "ok" else None
            base = r.get("active_before") if r["status"] == "ok" else None
            many = res.lg("W3", stage, idle=n)
            many_base = (res.ok("W3", stage, idle=n) or {}).get("active_before")
            rows.append([
                label(stage), f_us(p50(base)),
                with_ratio(f_us(p50(lg)), ratio(p50(lg), p50(base))) if lg else status_cell(r),
                f_us(p99(lg)),
                (f"{info['fds_in_window']}, the largest {info['max_fd']}"
                 if "max_fd" in info else DASH),
                with_ratio(f_us(p50(many)), ratio(p50(many), p50(many_base))) if many else DASH,
            ])
    n = (res.param_values("W3b", "closed") or [1000])[0]
    return ("## W3b: one high descriptor\n\nThe chapter's claim about select() on its own: "
            "its cost grows with the largest descriptor watched, where poll()'s grows with how "
            "many are watched and epoll's with neither. The active client (1 connection, depth "
            "1, 16-byte lines) runs alone on a fresh server, then again with a descriptor "
            f"numbered about {n}: {n} idle connections were opened first and closed during its "
            "warm-up, so the server watches only its listener and that client. The last column "
            f"is W3's with {n} idle connections held, for comparison: many descriptors, the "
            "largest as high.\n\n"
            + table(["stage", "alone: p50 µs", "one high descriptor: p50 µs (× alone)",
                     "p99 µs", "descriptors open in the server (window)",
                     f"W3, {n} idle held: p50 µs (× none)"], rows) + "\n")
