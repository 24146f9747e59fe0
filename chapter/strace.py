"""strace, the way the tour, scripts/trace and the tests use it: counting a running server's
system calls while something happens (`strace -c -f -p`), tracing a server from its start
(`strace -f -ttt -T -o FILE`), and reading such a trace back (parse(), a pure function).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile

from chapter import procfs


def path() -> str:
    """strace's path; RuntimeError if it is not installed."""
    found = shutil.which("strace")
    if found is None:
        raise RuntimeError("strace is not installed (scripts/install-deps installs it)")
    return found


def timeline_wrapper(output: pathlib.Path) -> list[str]:
    """The command prefix that runs a program under strace, writing one line per system call
    of every process and thread, with its start time (the wall clock) and its duration."""
    return [path(), "-f", "-ttt", "-T", "-o", str(output), "--"]


def attached(pid: int, tracer: subprocess.Popen, timeout: float = 5) -> bool:
    """Waits until `tracer` traces `pid` (TracerPid in /proc/PID/status); False if it exited
    first (not allowed to attach: ptrace_scope, a container without CAP_SYS_PTRACE) or timed
    out."""
    procfs.wait_until(lambda: tracer.poll() is not None
                      or procfs.status_number(pid, "TracerPid") == tracer.pid, timeout)
    return tracer.poll() is None and procfs.status_number(pid, "TracerPid") == tracer.pid


def count_calls(pid: int, work) -> dict[str, int] | None:
    """The system calls `pid` (and its threads and children) makes while `work()` runs, counted
    by `strace -c -f -p`: {name: calls}. None if strace is not installed or may not attach:
    the caller then measures another way."""
    if shutil.which("strace") is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        report = pathlib.Path(scratch) / "strace-c"
        tracer = subprocess.Popen([path(), "-c", "-f", "-o", str(report), "-p", str(pid)],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            if not attached(pid, tracer):
                return None
            work()
        finally:
            if tracer.poll() is None:
                tracer.send_signal(signal.SIGINT)  # strace detaches and writes its summary
            try:
                tracer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                tracer.kill()
                tracer.wait()
        return parse_counts(report.read_text() if report.exists() else "")


def parse_counts(text: str) -> dict[str, int]:
    """`strace -c`'s table as {name: calls}. Its rows: % time, seconds, usecs/call, calls,
    [errors] (the column may be empty), syscall; the total row is left out."""
    calls = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[3].isdigit() and fields[-1] != "total":
            calls[fields[-1]] = int(fields[3])
    return calls


# ------------------------------------------------------------------------------------------
# A timeline trace (strace -f -ttt -T), read back.

@dataclasses.dataclass
class Call:
    tid: int
    start: float
    duration: float
    name: str
    args: str
    result: str  # "6", "-1", "?", "0x2"
    error: str  # "EAGAIN", "" when it succeeded

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def failed(self) -> bool:
        return self.result == "-1" or self.result == "?"


LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (.*)$")
CALL_START = re.compile(r"^([a-z_0-9]+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. ([a-z_0-9]+) resumed>(.*)$")
RESULT = re.compile(r"\s+=\s+(-?\d+|\?|0x[0-9a-f]+)(?:\s+(E[A-Z0-9]+)\s+\([^)]*\))?"
                    r"(?:\s+\([^)]*\))?(?:\s+<(\d+\.\d+|unavailable)>)?$")


def parse(text: str) -> tuple[list[Call], dict[int, float]]:
    """The calls in the output of `strace -f -ttt -T`, each joined with its resumption when
    another thread's line came between its `<unfinished ...>` and its `resumed>`; and the time
    each process or thread exited. Signals and lines it cannot read are left out."""
    calls: list[Call] = []
    pending: dict[int, tuple[str, float, str]] = {}
    exits: dict[int, float] = {}
    for line in text.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        tid, ts, rest = int(match.group(1)), float(match.group(2)), match.group(3)
        if rest.startswith("+++"):
            exits[tid] = ts
            continue
        if rest.startswith("---"):
            continue  # a signal delivered: the call it interrupted says so in its result
        if resumed := RESUMED.match(rest):
            name, tail = resumed.groups()
            if tid not in pending or pending[tid][0] != name:
                continue
            _, start, args = pending.pop(tid)
            body = args + tail
        elif started := CALL_START.match(rest):
            name, body = started.groups()
            if body.endswith("<unfinished ...>"):
                pending[tid] = (name, ts, body[:-len("<unfinished ...>")])
                continue
            start = ts
        else:
            continue
        result = RESULT.search(body)
        if not result:
            continue
        value, error, duration = result.groups()
        seconds = float(duration) if duration and duration != "unavailable" else 0.0
        calls.append(Call(tid, start, seconds, name, body[:result.start()].rstrip(")"),
                          value, error or ""))
    calls.sort(key=lambda c: c.start)
    return calls, exits
