"""Readings from /proc about a server process: CPU time, memory, descriptors, children."""
from __future__ import annotations

import os
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        raw = f.read()
    # The command name (field 2) may contain spaces; everything after its ')' is split safely.
    return raw[raw.rindex(")") + 2:].split()


def state(pid: int) -> str:
    """One letter: R running, S sleeping, Z zombie, ..."""
    return _stat_fields(pid)[0]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE


def children(pid: int) -> list[int]:
    """Direct children of `pid`, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if int(_stat_fields(int(entry))[1]) == pid:
                found.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # exited while we looked
    return found


def threads(pid: int) -> list[int]:
    """The process's threads other than its main one (02b's and 02c's workers; none for a
    single-threaded stage). /proc/TID/... reads one thread as /proc/PID/... reads a process."""
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)


def zombies(pid: int) -> list[int]:
    result = []
    for child in children(pid):
        try:
            if state(child) == "Z":
                result.append(child)
        except FileNotFoundError:
            pass
    return result


def _over_tree(pid: int, reading) -> float:
    """`reading` of `pid` plus that of its live children (the fork server's clients)."""
    total = reading(pid)
    for child in children(pid):
        try:
            total += reading(child)
        except (FileNotFoundError, ProcessLookupError):
            pass  # exited while we looked
    return total


def tree_rss_bytes(pid: int) -> int:
    return int(_over_tree(pid, rss_bytes))


def tree_cpu_seconds(pid: int) -> float:
    return _over_tree(pid, cpu_seconds)


def context_switches(pid: int) -> int:
    """How many times the process has been switched out so far, voluntarily (it slept) or not:
    each wakeup of a sleeping process adds at least one."""
    with open(f"/proc/{pid}/status") as f:
        return sum(int(line.split()[1]) for line in f
                   if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")))


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def settled_fd_count(pid: int, timeout: float = 2.0) -> int:
    """The descriptor count once it stops changing (two readings 100 ms apart agree)."""
    deadline = time.monotonic() + timeout
    last = open_fds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = open_fds(pid)
        if now == last:
            return now
        last = now
    return last


def fd_targets(pid: int) -> dict[int, str]:
    """What each descriptor refers to, e.g. {3: 'socket:[1234]', 4: 'pipe:[99]'}."""
    found = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            pass
    return found


def fd_numbers(pid: int) -> list[int]:
    return [int(fd) for fd in os.listdir(f"/proc/{pid}/fd")]


# TCP states as /proc/net/tcp writes them (include/net/tcp_states.h).
TCP_ESTABLISHED, TCP_CLOSE_WAIT = "01", "08"


def open_server_connections(port: int) -> int:
    """TCP connections whose local end is `port` (the server's side) and that the server has not
    closed yet: established, or closed by the client only (CLOSE_WAIT). A connection counts
    from the moment the client's connect() returns, accepted by the server or not."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] in (TCP_ESTABLISHED, TCP_CLOSE_WAIT):
                count += 1
    return count


def wait_until(predicate, timeout: float, interval: float = 0.02):
    """Polls `predicate` until it returns a true value or `timeout` seconds pass; returns its
    last value. Bounded: never waits longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
