"""The benchmarks (bench/run): every server stage of the chapter measured, and the report.

What is measured, and why
    Each stage is a different answer to one question: how does one program serve many
    connections? A process each, a thread each, a fixed pool of threads, one spinning loop,
    select, libevent, raw epoll, io_uring completions. The workloads ask it seven ways, all over
    loopback, with bench/loadgen as the client (it checks every answer byte for byte: a server
    that answers wrong fails the run, it never wins it):

      W1 latency     1 connection, 1 line in flight: the round trip, 16- and 512-byte lines,
                     with server and client on separate cores and on the same core.
      W2 throughput  1 to 1000 connections x 1 or 16 lines in flight: lines/s, and the server's
                     CPU-seconds per million lines.
      W3 idle        one active client while 0 to 10000 idle connections are held: the chapter's
                     central graph. Also the server's memory per idle connection (resident and
                     virtual), its threads, and its CPU while everything is idle. A libevent
                     stage runs here on another backend too where its description asks
                     (bench.backends: poll, whose cost grows with the descriptors watched).
      W3b one high descriptor
                     few connections, one large descriptor: 1000 idle connections opened, the
                     active client connected, the idle ones closed; its round trip then, beside
                     the same client alone. select()'s cost grows with the largest descriptor,
                     poll()'s with their number: only the stages that ask for it (bench.also).
      W4 churn       100 concurrent connect-one-line-close clients: connections/s, in short
                     bursts (a long window measures the client's ephemeral ports instead).
      W5 bulk        1 connection, 64 lines of 16 KiB in flight: MB/s.
      W6 flood       a client that sends without reading beside one that pings: the pinger's
                     latency and the server's peak memory (backpressure at work).
      micro          bench/micro (Google Benchmark): ROT13 and the protocol state machine.

    A stage with a pool of workers (its description's `pool`) serves one connection per worker
    until it closes: where a point holds C connections open (W2: C; W3: the idle ones and the
    active client) it runs with a pool of C (at least its default), and where C is past its
    largest pool the point is recorded as "cannot serve" and not run. Elsewhere it runs with
    its default pool. A stage that needs a library the build may lack (its `needs`) is built
    only where it is found; without it, its points are recorded as "not built". Neither is a
    failure.

Why ratios
    Absolute numbers depend on this machine and on how loaded it is right now. So every run
    also measures THE FLOOR (bench/floor, a plain blocking echo server, the fastest anything
    could answer here) and states W1 and W5 as ratios to it, and W2, W3 and W4 as ratios to
    the workload's reference stage (its description's `bench.reference_for`), all measured in
    the same run (W3b: to the same server alone). The absolute numbers stand beside the ratios.

How
    A fresh server for every (stage, workload point), under `prlimit --nofile=20000`, pinned
    with taskset: server on CPU 0 and loadgen on CPU 1 ("separate cores"), or both on CPU 0
    ("same core", W1 only). W2 can also run "unpinned" (--placement): no taskset, the
    scheduler places both. Each is stopped with SIGTERM and must exit 0. The server's CPU
    time is read from each of its processes' CPU-time clock (every thread, the exited ones
    too), plus the cutime+cstime of children reaped meanwhile, at the edges of loadgen's
    measurement window; its memory is summed over its processes from /proc (VmRSS, VmSize,
    Threads, and PSS).

Usage
    bench/run                       full run (planned at about 25 min): bench/results/full.json,
                                    docs/bench.md and docs/images/bench-*.svg
    bench/run --quick [--out DIR]   reduced sizes (under 2.5 min): DIR/quick.json and
                                    DIR/bench.md only (default DIR: build/bench-quick)
    bench/run --stages ID,ID --workloads W1,W3    a subset (named "partial" unless --name);
                                    the stage ids are in --help
    bench/run --stages ID,ID --workloads W2 --placement both --name w2-placement
                                    W2 pinned to separate cores (the default) and unpinned
    bench/run --workloads W1 --rounds 9 --name w1-rounds
                                    more rounds of one workload, to see its spread: writes
                                    bench/results/w1-rounds.{json,md}
    bench/run --report-only [--name full]         re-render the report from the saved JSON
                                                  (after editing bench/analysis.md)

Exit status: 0 if every run was clean; 1 if any loadgen run reported a wrong answer or failed,
any server crashed or did not stop with status 0 on SIGTERM, or any measurement broke. Never
because a number is slow: the Targets section of the report says MET or NOT MET, and that is
all it does.

The modules, in the order a run uses them:
    lineup      who is measured, and how the report names and draws each (from the registry)
    sizes       how long, how big, where; how a step ends without a measurement
    readings    CPU time and memory from /proc
    processes   a server for one point, and loadgen against it
    clients     the idle connections and the flooder the driver holds itself
    measures    one function per workload
    plan        the workload table, and the plan it expands to
    driver      running the plan; the machine's facts
    cli         the command line, from start to report
    results, formatting, page, tables, idle_tables, targets, plots: the report
"""
