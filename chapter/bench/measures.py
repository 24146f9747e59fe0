"""The measurements: one function per workload (W1 to W6, the micro-benchmarks, the floor).
Each gets a fresh server and records what it measured in `record`; chapter/bench/plan.py says
which points each runs."""
from __future__ import annotations

import json
import subprocess
import time

from chapter import procfs
from chapter.bench import lineup
from chapter.bench.clients import IdleConnections, flood_until_stalled
from chapter.bench.processes import (Context, pool_args, run_loadgen, running_server,
                                     sleep_until, stop_server, tail)
from chapter.bench.readings import (memory_reading, runtime_seconds, time_wait_sockets,
                                    wait_for_threads)
from chapter.bench.sizes import (IDLE_OPEN_LIMIT, W3B_WARMUP, W4_PAUSE, W4_WARMUP, Failure,
                                 NotMeasured, Sizes)
from chapter.sampling import RssSampler


def measure_floor(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """THE FLOOR: the echo server, ping-pong or bulk, measured like a stage."""
    s = ctx.sizes
    with running_server(ctx, stage, p["placement"], record) as server:
        record["loadgen"] = run_loadgen(
            ctx, server, p["placement"],
            ["--connections", "1", "--depth", str(p["depth"]),
             "--line-bytes", str(p["line_bytes"])],
            expect="echo", duration=s.duration, warmup=s.warmup)


def measure_w1(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """Latency: one connection, one line in flight."""
    s = ctx.sizes
    with running_server(ctx, stage, p["placement"], record, held=1) as server:
        record["loadgen"] = run_loadgen(
            ctx, server, p["placement"],
            ["--connections", "1", "--depth", "1", "--line-bytes", str(p["line_bytes"])],
            duration=s.duration, warmup=s.warmup)


def measure_w2(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """Throughput: C connections, D lines in flight on each, pinned or not. A stage with a
    pool runs with a pool of C (pool_args): loadgen's connections stay open for the whole
    run."""
    s = ctx.sizes
    with running_server(ctx, stage, p["placement"], record, held=p["connections"]) as server:
        record["loadgen"] = run_loadgen(
            ctx, server, p["placement"],
            ["--connections", str(p["connections"]), "--depth", str(p["depth"]),
             "--line-bytes", "16"], duration=s.duration, warmup=w2_warmup(s, p))


def w2_warmup(s: Sizes, p: dict) -> float:
    """A thousand connections take a forking server a second of fork()s to accept: let them
    all start."""
    return s.warmup if p["connections"] < 1000 else max(1.0, 5 * s.warmup)


def measure_w3(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """Idle connections: this driver opens and holds N idle connections (each answered once,
    proving the server took it). While they are held and nothing else happens it measures the
    server's CPU (its CPU clock, over w3_idle_window seconds) and memory; then, still holding them,
    it runs one active loadgen client (1 connection, depth 1, 16-byte lines).

    The same active client also runs first, on the same fresh server before any idle
    connection ("active_before"): the ratio "with N idle / with none" then compares two
    back-to-back runs on one server, not two servers started minutes apart.

    Memory is read as the resident set (VmRSS), the address space reserved (VmSize: a thread's
    whole stack counts) and the threads, each summed over the server's processes (a forking
    server: one per connection). A stage with a pool holds N idle connections and the active
    client only with a pool of N+1 workers (pool_args), all started before the first
    connection: its memory "before" is that of a fresh server with a pool of 1, the least it
    runs with, so that each connection held is charged the worker it needs. Past its largest
    pool the point is not run (CannotServe)."""
    s = ctx.sizes
    n = p["idle"]
    info: dict = {"requested": n}
    record["idle"] = info
    held = n + 1  # the idle connections and the active client, open at once
    pool = pool_args(stage, held)  # CannotServe, before anything starts
    entry = lineup.find(stage)
    has_pool = entry is not None and entry.pool is not None
    idle = IdleConnections()
    active = ["--connections", "1", "--depth", "1", "--line-bytes", "16"]
    try:
        if has_pool:
            least: dict = {}
            fewest = [entry.pool["option"], "1"]
            with running_server(ctx, stage, "separate", least, args=fewest) as server:
                wait_for_threads(server.pid, 2)
                info.update(memory_reading(server.pid, "before"),
                            before_from=f"a fresh {entry.key} with {' '.join(fewest)}")
        with running_server(ctx, stage, "separate", record, held=held) as server:
            if has_pool:  # "before" was the pool of 1; this is the pool started
                info["pool"] = int(pool[1]) if pool else entry.pool["default"]
                wait_for_threads(server.pid, info["pool"] + 1)
                info.update(memory_reading(server.pid, "started"))
            else:
                info.update(memory_reading(server.pid, "before"))
            if n:
                record["active_before"] = run_loadgen(ctx, server, "separate", active,
                                                      duration=s.w3_duration, warmup=s.warmup)
            start = time.monotonic()
            idle.open(server.address, n, start + IDLE_OPEN_LIMIT)
            info.update(held=len(idle.held), refused=idle.refused,
                        open_seconds=round(time.monotonic() - start, 3))
            time.sleep(0.3)  # let the last accepts (and a forking server's last forks) settle
            pids = [server.pid, *procfs.children(server.pid)]
            run0, t0 = runtime_seconds(pids), time.monotonic()
            time.sleep(s.w3_idle_window)
            run1, t1 = runtime_seconds(pids), time.monotonic()
            info["idle_cpu_per_second"] = round((run1 - run0) / (t1 - t0), 5)
            info["idle_window_seconds"] = round(t1 - t0, 3)
            info["processes"] = len(pids)
            info.update(memory_reading(server.pid, "held"))
            if n:
                for kind in ("rss", "pss", "vsz"):
                    info[f"{kind}_per_connection"] = round(
                        (info[f"{kind}_held"] - info[f"{kind}_before"]) / n, 1)
            said = [line for line in server.stderr().splitlines() if "std::thread:" in line]
            if said:  # out of threads: the limit that refused, in the server's words
                info["thread_errors"] = len(said)
                info["thread_error"] = said[0]
            if idle.refused:
                info["server_said"] = tail(server.stderr(), 2)
                record["note"] = (f"the server refused {idle.refused} of {n} idle connections "
                                  f"(it holds {len(idle.held)}): it is full, so the active "
                                  f"client would be refused too and is not run")
                return
            record["loadgen"] = run_loadgen(ctx, server, "separate", active,
                                            duration=s.w3_duration, warmup=s.warmup)
    finally:
        idle.close()  # after the server has stopped: SIGTERM must work with clients connected


def measure_w3b(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """One high descriptor: the chapter's claim about select() on its own. select()'s cost
    grows with the largest descriptor watched, poll()'s with how many are watched, epoll's with
    neither (only with those ready). So: on a fresh server, the active client (1 connection,
    depth 1, 16-byte lines) first runs alone ("active_before": few descriptors, all small).
    Then this driver opens `closed` idle connections, starts the same client (its connection
    takes the next descriptor, above every idle one), and during loadgen's warm-up closes the
    idle connections and waits until the server has closed its side of them. The window then
    sees a server watching its listener and one client whose descriptor is near `closed`."""
    s = ctx.sizes
    n = p["closed"]
    info: dict = {"opened": n}
    record["high_fd"] = info
    idle = IdleConnections()
    active = ["--connections", "1", "--depth", "1", "--line-bytes", "16"]
    try:
        with running_server(ctx, stage, "separate", record) as server:
            record["active_before"] = run_loadgen(ctx, server, "separate", active,
                                                  duration=s.w3_duration, warmup=s.warmup)
            numbers = procfs.fd_numbers(server.pid)
            info.update(fds_before=len(numbers), max_fd_before=max(numbers))
            idle.open(server.address, n, time.monotonic() + IDLE_OPEN_LIMIT)
            if idle.refused:
                raise NotMeasured(f"the server refused {idle.refused} of {n} idle connections")
            with_idle = procfs.open_fds(server.pid)

            def close_idle() -> None:
                if not procfs.wait_until(lambda: procfs.open_fds(server.pid) > with_idle, 5.0):
                    raise Failure("the active client's connection did not reach the server "
                                  "within 5 s")
                idle.close()
                left = with_idle + 1 - n
                if not procfs.wait_until(lambda: procfs.open_fds(server.pid) <= left, 5.0):
                    raise Failure(f"the server still has {procfs.open_fds(server.pid)} "
                                  f"descriptors open 5 s after the idle connections closed "
                                  f"(expected {left})")
                numbers = procfs.fd_numbers(server.pid)
                info.update(fds_in_window=len(numbers), max_fd=max(numbers))

            record["loadgen"] = run_loadgen(ctx, server, "separate", active,
                                            duration=s.w3_duration, warmup=W3B_WARMUP,
                                            during_warmup=close_idle)
            numbers = procfs.fd_numbers(server.pid)  # the window left them as it found them
            info.update(fds_after=len(numbers), max_fd_after=max(numbers))
    finally:
        idle.close()


def measure_w4(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """Churn: 100 concurrent clients, each connects, sends one line, reads it, closes. Each
    connection is short, so a stage with a pool serves them with its default pool: a worker
    takes the next one
    as soon as its client has closed.

    Measured in short bursts, not one long window. connect() on loopback takes its source port
    from the even half of the ephemeral range (about 14000 ports here, for one destination), and
    a port left in TIME_WAIT may be taken again only about a second later (tcp_tw_reuse=2). So
    no client here can sustain more than about 14000 new connections a second, whatever the
    server: past that, connect() stalls for up to a second (p99 above 100 ms). A 3-second window
    measures that ceiling, not the server. Each burst (w4_burst seconds after W4_WARMUP, about
    10000 connections at most) stays within the free ports; bursts are W4_PAUSE apart, each on
    a fresh server, and the rate reported is their total connections over their total time."""
    s = ctx.sizes
    bursts: list[dict] = []
    record["bursts"] = bursts
    last_end = 0.0
    for _ in range(s.w4_bursts):
        sleep_until(last_end + W4_PAUSE)
        time_wait = time_wait_sockets()
        burst: dict = {}
        with running_server(ctx, stage, "separate", burst) as server:
            summary = run_loadgen(
                ctx, server, "separate", ["--churn", "--connections", str(p["connections"])],
                duration=s.w4_burst, warmup=W4_WARMUP,
                stop_after_window=lambda: stop_server(ctx, stage, server, burst))
        last_end = time.monotonic()
        summary["time_wait_before"] = time_wait
        bursts.append(summary)
        record["server"] = burst.get("server", {})
    # The burst with the median rate stands for the point (its latency percentiles are one
    # burst's); the rate and the server's CPU are totals over every burst.
    median = sorted(bursts, key=lambda b: b["per_second"])[len(bursts) // 2]
    total = dict(median)
    seconds = sum(b["seconds"] for b in bursts)
    total["churned"] = sum(b["churned"] for b in bursts)
    total["seconds"] = round(seconds, 3)
    total["per_second"] = round(total["churned"] / seconds, 1)
    total["failed"] = sum(b["failed"] for b in bursts)
    total["failed_in_window"] = sum(b.get("failed_in_window", b["failed"]) for b in bursts)
    total["server_cpu_seconds"] = round(sum(b["server_cpu_seconds"] for b in bursts), 4)
    total["server_window_seconds"] = round(sum(b["server_window_seconds"] for b in bursts), 3)
    total["bursts"] = len(bursts)
    record["loadgen"] = total


def measure_w5(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """Bulk: one connection, 64 lines of 16 KiB in flight."""
    s = ctx.sizes
    with running_server(ctx, stage, "separate", record, held=1) as server:
        record["loadgen"] = run_loadgen(
            ctx, server, "separate",
            ["--connections", "1", "--depth", "64", "--line-bytes", "16384"],
            duration=s.duration, warmup=s.warmup)


def measure_w6(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """Flood: one client sends until the server stops reading it, then stays stalled, while
    loadgen pings on another connection. The server's memory is sampled throughout."""
    s = ctx.sizes
    flood: dict = {}
    record["flood"] = flood
    flooder = None
    try:
        with running_server(ctx, stage, "separate", record, held=2) as server:
            flood["rss_before"] = procfs.tree_rss_bytes(server.pid)
            with RssSampler(server.pid) as sampler:
                flooder, sent, seconds = flood_until_stalled(
                    server.address, quiet=0.25 if ctx.quick else 0.5,
                    limit_bytes=256 << 20, limit_seconds=5 if ctx.quick else 15)
                flood.update(bytes_sent=sent, seconds_to_stall=round(seconds, 3))
                record["loadgen"] = run_loadgen(
                    ctx, server, "separate",
                    ["--connections", "1", "--depth", "1", "--line-bytes", "16"],
                    duration=s.w6_duration, warmup=s.warmup)
            flood["rss_peak"] = sampler.peak
            flood["rss_samples"] = sampler.samples
    finally:
        if flooder is not None:
            flooder.close()  # after the server has stopped, still stalled


def measure_micro(ctx: Context, stage: str, p: dict, record: dict) -> None:
    """bench/micro, pinned to CPU 1: bytes per second of ROT13 and of the state machine."""
    argv = ["taskset", "-c", "1", str(ctx.bin_dir / "micro"), "--benchmark_format=json",
            *ctx.sizes.micro_args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise Failure("micro: still running after 600 s") from None
    if done.returncode != 0:
        raise Failure(f"micro exited {done.returncode}: {tail(done.stderr)}")
    data = json.loads(done.stdout)
    record["micro"] = {
        "library_build_type": data["context"].get("library_build_type"),
        "benchmarks": [{k: b.get(k) for k in ("name", "iterations", "real_time", "cpu_time",
                                              "time_unit", "bytes_per_second")}
                       for b in data["benchmarks"]],
    }
