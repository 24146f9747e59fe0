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


def task_context_switches(pid: int) -> int:
    """context_switches() summed over every thread of the process (02b's and 02c's workers
    switch as the main thread does not)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            total += context_switches(int(tid))
        except FileNotFoundError:  # a thread that ended meanwhile
            pass
    return total


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


def unreleased(pid: int, baseline: int, what: str) -> str:
    """Why a server still holds more than it did before `what` happened: its descriptors by
    kind (sockets, pipes, files) and its children, in words a failure message can use."""
    targets = fd_targets(pid)
    kinds: dict[str, int] = {}
    for target in targets.values():
        kind = target.split(":", 1)[0] if ":" in target else "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    held = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    left = children(pid)
    return (f"{what}, and {len(targets) - baseline} descriptors were not released: "
            f"{len(targets)} open against {baseline} before ({held})"
            + (f"; {len(left)} child processes still running" if left else ""))


def fd_numbers(pid: int) -> list[int]:
    return [int(fd) for fd in os.listdir(f"/proc/{pid}/fd")]


# TCP states as /proc/net/tcp writes them (include/net/tcp_states.h).
TCP_ESTABLISHED, TCP_CLOSE_WAIT = f"{1:02X}", f"{8:02X}"  # "01", "08"


TCP_LISTEN = "0A"


def _tcp_sockets(port: int):
    """(state, inode) of each TCP socket, IPv4 or IPv6, whose local end is `port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                yield fields[3], fields[9]


def open_server_connections(port: int) -> int:
    """TCP connections whose local end is `port` (the server's side) and that the server has not
    closed yet: established, or closed by the client only (CLOSE_WAIT). A connection counts
    from the moment the client's connect() returns, accepted by the server or not."""
    return sum(1 for state, _ in _tcp_sockets(port) if state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT))


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port`, on any address, IPv4 or IPv6."""
    return {inode for state, inode in _tcp_sockets(port) if state == TCP_LISTEN}


def listener_pid(port: int, root: int) -> int | None:
    """The process of `root`'s tree (itself first, then its descendants, nearest first) that
    holds a socket listening on `port`; None while nothing listens there. Reading the tables
    rather than connecting keeps the check invisible to the server: no connection is made."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    queue = [root]
    while queue:
        pid = queue.pop(0)
        try:
            if wanted & set(fd_targets(pid).values()):
                return pid
        except (FileNotFoundError, PermissionError):
            pass
        queue.extend(children(pid))
    return None


def wait_until(predicate, timeout: float, interval: float = 0.02):
    """Polls `predicate` until it returns a true value or `timeout` seconds pass; returns its
    last value. Bounded: never waits longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def status_number(pid: int, field: str) -> int:
    """A number of /proc/PID/status: `Threads`, `TracerPid`, or a size in KiB (`VmRSS`, the
    resident memory; `VmSize`, the address space reserved, resident or not)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
    raise KeyError(f"/proc/{pid}/status has no {field}")


# System call numbers as /proc/PID/syscall writes them, for the calls a stage blocks in; from
# the kernel's tables (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h).
SYSCALL_NAMES = {
    "x86_64": {0: "read", 1: "write", 7: "poll", 19: "readv", 20: "writev", 23: "select",
               42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom", 46: "sendmsg",
               47: "recvmsg", 202: "futex", 232: "epoll_wait", 270: "pselect6", 271: "ppoll",
               281: "epoll_pwait", 288: "accept4", 426: "io_uring_enter"},
    "aarch64": {22: "epoll_pwait", 63: "read", 64: "write", 65: "readv", 66: "writev",
                72: "pselect6", 73: "ppoll", 98: "futex", 202: "accept", 203: "connect",
                206: "sendto", 207: "recvfrom", 211: "sendmsg", 212: "recvmsg", 242: "accept4",
                426: "io_uring_enter"},
}
SENDS = {"write", "writev", "sendto", "sendmsg"}
RECVS = {"read", "readv", "recvfrom", "recvmsg"}


def blocked_in(pid: int) -> str:
    """"send" or "recv" when the process (its main thread) sleeps in such a call: a loop that
    serves many clients and waits on one of them; "" otherwise, or if /proc will not say."""
    try:
        if state(pid) != "S":
            return ""
        name = syscall(pid)[1]
    except OSError:
        return ""
    return "send" if name in SENDS else "recv" if name in RECVS else ""


def syscall(pid: int) -> tuple[str, str]:
    """The system call the process is in: (/proc/PID/syscall as written, the call's name).
    The line is "running" if it is on a CPU, else the call's number and its arguments
    (`45 0x3 ...`: recvfrom on descriptor 3); the name is "?" where this table lacks it.
    Reading the file needs the right to trace the process (a parent usually has it)."""
    with open(f"/proc/{pid}/syscall") as f:
        line = f.read().strip()
    number = line.split()[0]
    if not number.isdigit():
        return line, number  # "running", or -1 outside any call
    return line, SYSCALL_NAMES.get(os.uname().machine, {}).get(int(number), "?")


def wchan(pid: int) -> str:
    """The kernel function the process sleeps in (`wait_woken`), or "0" if it is running."""
    with open(f"/proc/{pid}/wchan") as f:
        return f.read().strip()


def io_uring_counters(pid: int) -> dict[str, int]:
    """The counters of the process's first io_uring, from /proc/PID/fdinfo: `SqHead` (the
    submissions the kernel has consumed) and `CqTail` (the completions it has posted)."""
    for fd, target in sorted(fd_targets(pid).items()):
        if target == "anon_inode:[io_uring]":
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            return {name: int(fields[name]) for name in ("SqHead", "CqTail")}
    raise LookupError(f"process {pid} has no io_uring")
