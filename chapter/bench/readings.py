"""What the benchmarks read about a server from /proc, beyond chapter.procfs: its CPU time to
the nanosecond (the exited threads and reaped children too), its memory summed over its
processes (resident, proportional, reserved) and its threads, and the machine's TIME_WAIT
sockets."""
from __future__ import annotations

import contextlib
import time

from chapter import procfs
from chapter.bench.sizes import Failure


def reaped_children_cpu(pid: int) -> float:
    """cutime+cstime: CPU time of the children `pid` has already waited for (a forking
    server's exited children, which procfs.tree_cpu_seconds no longer sees)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / procfs.CLOCK_TICKS


def server_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the server, its live children and its reaped children, two
    ways: (CPU clock, stat). The first is the one reported: /proc/PID/stat's utime+stime
    (procfs.tree_cpu_seconds) reads 0 for short-lived, lightly loaded children on this
    kernel, while each process's CPU clock counts every nanosecond. Reaped children are
    counted by the parent's cutime+cstime either way."""
    pids = [pid, *procfs.children(pid)]
    reaped = reaped_children_cpu(pid)
    return runtime_seconds(pids) + reaped, procfs.tree_cpu_seconds(pid) + reaped


def runtime_seconds(pids: list[int]) -> float:
    """Time on a CPU of every thread of `pids`, the exited ones included, from each process's
    CPU-time clock (clock_getcpuclockid(3): nanoseconds, unlike the 10 ms ticks of
    /proc/PID/stat): precise enough to tell 'idle' from 'a few wakeups a second'. Not
    /proc/PID/schedstat, which is the main thread's alone: a server's worker threads would not
    count."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # exited while we looked
            total += time.clock_gettime(process_cpu_clock(pid))
    return total


def process_cpu_clock(pid: int) -> int:
    """The clock id clock_getcpuclockid(pid) returns on Linux (CPUCLOCK_SCHED of the whole
    process, as the kernel encodes it: ~pid << 3 | 2); Python's os module does not offer it."""
    return (~pid << 3) | 2


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size summed over `pids`: shared pages divided among their sharers. For
    thousands of forked children the summed resident set counts each shared page once per
    child; this counts it once."""
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
    return total


def status_totals(pids: list[int]) -> dict[str, int]:
    """VmRSS and VmSize (bytes) and Threads, from /proc/PID/status, summed over `pids`: for a
    forking server that is per process, one per connection; for a threaded server, its one
    process. VmSize is the address space reserved (a thread's whole stack counts), VmRSS the
    part resident."""
    total = {"rss": 0, "vsz": 0, "threads": 0}
    keys = {"VmRSS:": "rss", "VmSize:": "vsz", "Threads:": "threads"}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    name, _, value = line.partition("\t")
                    if name in keys:
                        number = int(value.split()[0])
                        total[keys[name]] += number if name == "Threads:" else number * 1024
    return total


def memory_reading(pid: int, when: str) -> dict:
    """The server's memory now, as W3 records it: {rss_WHEN, pss_WHEN, vsz_WHEN,
    threads_WHEN}, summed over the server and its children."""
    pids = [pid, *procfs.children(pid)]
    totals = status_totals(pids)
    return {f"rss_{when}": procfs.tree_rss_bytes(pid), f"pss_{when}": pss_bytes(pids),
            f"vsz_{when}": totals["vsz"], f"threads_{when}": totals["threads"]}


def wait_for_threads(pid: int, count: int) -> None:
    """Waits (5 s at most) until the server runs `count` threads: its pool has started."""
    if not procfs.wait_until(lambda: status_totals([pid])["threads"] >= count, 5.0):
        raise Failure(f"the server runs {status_totals([pid])['threads']} threads 5 s after "
                      f"its start, not the {count} of its pool and main thread")


TCP_TIME_WAIT = 6  # the kernel's include/net/tcp_states.h; /proc/net/tcp prints it in hex


def time_wait_sockets() -> int:
    """TCP sockets in TIME_WAIT in /proc/net/tcp: churn leaves tens of thousands."""
    with open("/proc/net/tcp") as f:
        next(f)  # the header
        return sum(1 for line in f if int(line.split()[3], 16) == TCP_TIME_WAIT)
