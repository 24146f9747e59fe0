"""Who waits where: one scripted session against a stage, traced with strace, drawn as a timeline.

The session is the same for every stage (SESSION below): four clients, one that connects and
stays idle, two that send a line each at staggered times, and one that sends a long line in
three pieces and half-closes. The server runs under `strace -f -ttt -T`, which writes one line
per system call of every process and thread, with its start time (the wall clock, as the
clients' time.time()) and its duration. parse_strace() reads those lines back into calls,
Trace groups them into one lane per process or thread, and draw() plots the lanes under the
clients' own events: a bar for each call that blocked (took BLOCKED_MIN or more), a tick for
the others, failed EAGAIN calls in red, and a red band for a lane with too many of them to
tick one by one (03's busy loop).

scripts/trace is the command line; tests/docs/test_traces.py runs the same code and checks the
facts (Trace.facts()) against the committed ones in docs/traces/.
"""
from __future__ import annotations

import dataclasses
import html
import io
import json
import os
import pathlib
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import stages  # noqa: E402  (the one list of stages)
from support import procfs  # noqa: E402  (shared with the test suite)
from support.client import Client  # noqa: E402
from support.reference import answer  # noqa: E402
from support.server import ServerProcess, exit_description  # noqa: E402

# A call that lasted this long slept in the kernel: it is drawn as a bar and counted as blocked.
# Shorter ones are ticks (a call that returns at once takes microseconds, strace's cost included).
BLOCKED_MIN = 0.001
# A lane that spent this share of the session blocked is a waiting lane (a spinning one is not).
WAITING_SHARE = 0.10
# A lane with more failed EAGAIN calls than this gets a band of their rate instead of ticks.
BAND_ABOVE = 400
# The side-by-side page and the committed files.
IMAGES = REPO / "docs" / "images"
TRACES = REPO / "docs" / "traces"
SIDE_BY_SIDE = TRACES / "side-by-side.html"

# Stages run with other arguments than the suite's: 02c with a pool of two, so that the idle
# client and one more hold both workers and a third client waits (the pool's starved client).
TRACE_ARGS = {"02c": ("--threads", "2")}

# The families of system calls, as the timeline colours them.
FAMILIES = {
    "wait": {"select", "pselect6", "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_pwait2",
             "io_uring_enter"},
    "accept": {"accept", "accept4"},
    "recv": {"recvfrom", "recv", "recvmsg", "read", "readv"},
    "send": {"sendto", "send", "sendmsg", "write", "writev"},
    "epoll_ctl": {"epoll_ctl"},
    "threads": {"clone", "clone3", "futex", "wait4", "exit", "exit_group"},
}
COLOURS = {"wait": "#4C72B0", "accept": "#55A868", "recv": "#DD8452", "send": "#8172B3",
           "epoll_ctl": "#937860", "threads": "#8C8C8C", "other": "#C7C7C7", "EAGAIN": "#C44E52"}
LEGEND = {"wait": "waiting call (select, epoll_wait, io_uring_enter)", "accept": "accept",
          "recv": "recv / read", "send": "send / write", "epoll_ctl": "epoll_ctl",
          "threads": "clone, futex, wait4", "other": "other calls",
          "EAGAIN": "failed at once with EAGAIN"}
ANSWERED_LINES = 3  # the session's answered lines: A's, B's and C's long one
RECV_CALLS = FAMILIES["recv"] - {"read"}  # read() also drains the stop pipe: sockets only
SOCKET_IO = FAMILIES["recv"] | FAMILIES["send"]


def family(name: str) -> str:
    return next((f for f, names in FAMILIES.items() if name in names), "other")


# ---------------------------------------------------------------------------------------------
# The scripted session: (seconds after the session starts, client, action, bytes to send).

LONG_LINE = b"".join(b"A long line, sent in pieces: %04d. " % i for i in range(60)) + b"\n"
PIECES = [LONG_LINE[:700], LONG_LINE[700:1400], LONG_LINE[1400:]]
SESSION = [
    (0.10, "idle", "connect", b""),
    (0.20, "A", "connect", b""),
    (0.30, "A", "send", b"Hello, world!\n"),
    (0.45, "B", "connect", b""),
    (0.55, "B", "send", b"Who waits where?\n"),
    (0.70, "C", "connect", b""),
    (0.80, "C", "send", PIECES[0]),
    (0.95, "C", "send", PIECES[1]),
    (1.10, "C", "send", PIECES[2]),
    (1.10, "C", "half-close", b""),
    (1.30, "idle", "close", b""),
    (1.35, "A", "close", b""),
]
CLIENTS = ["idle", "A", "B", "C"]
# After its answer B closes at once; C reads to the end of file, then closes.
ANSWER_TIMEOUT = 5.0
TAIL = 0.10  # traced after the last client event, before the server is stopped


@dataclasses.dataclass
class ClientEvent:
    time: float
    client: str
    kind: str  # connect, send, half-close, answer, close


def run_session(address: tuple[str, int]) -> tuple[float, list[ClientEvent]]:
    """Plays SESSION against a server: one thread per client, each doing its steps at their
    times and waiting for its answers. Returns the start time and the events, with the clock
    strace uses (time.time()). Raises if an answer is wrong or missing."""
    start = time.time() + 0.05
    events: list[ClientEvent] = []
    lock = threading.Lock()
    failures: list[str] = []

    def note(client: str, kind: str) -> None:
        with lock:
            events.append(ClientEvent(time.time(), client, kind))

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.time()))

    def play(name: str) -> None:
        steps = [s for s in SESSION if s[1] == name]
        client = None
        sent = b""
        try:
            for offset, _, action, data in steps:
                at(offset)
                if action == "connect":
                    client = Client(address, timeout=ANSWER_TIMEOUT)
                    note(name, "connect")
                elif action == "send":
                    client.send(data)
                    note(name, "send")
                    sent += data
                    if data.endswith(b"\n") and name != "C":
                        client.expect(answer(sent), timeout=ANSWER_TIMEOUT)
                        note(name, "answer")
                        sent = b""
                elif action == "half-close":
                    client.shutdown_write()
                    note(name, "half-close")
                    got = client.recv_until_eof(timeout=ANSWER_TIMEOUT)
                    if got != answer(sent):
                        raise AssertionError(f"wrong answer: {got[:60]!r}")
                    note(name, "answer")
                elif action == "close":
                    client.close()
                    note(name, "close")
                    client = None
            if client is not None:
                client.close()
                note(name, "close")
        except (AssertionError, OSError) as e:
            with lock:
                failures.append(f"client {name}: {e}")

    threads = [threading.Thread(target=play, args=(name,)) for name in CLIENTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise AssertionError("; ".join(failures))
    events.sort(key=lambda e: e.time)
    return start, events


# ---------------------------------------------------------------------------------------------
# strace's output, read back.

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


def parse_strace(text: str) -> tuple[list[Call], dict[int, float]]:
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


# ---------------------------------------------------------------------------------------------
# A traced run: lanes, summary, facts.

@dataclasses.dataclass
class Lane:
    kind: str  # "process" or "thread"
    label: str
    calls: list[Call]
    blocked: float = 0.0  # seconds inside calls that blocked, within the session
    span: float = 0.0  # seconds the lane existed within the session

    @property
    def waiting(self) -> bool:
        return self.span > 0 and self.blocked >= WAITING_SHARE * self.span

    def main_wait(self) -> str:
        """The call in which this lane spent most of its blocked time."""
        totals: dict[str, float] = {}
        for c in self.calls:
            if c.duration >= BLOCKED_MIN:
                totals[c.name] = totals.get(c.name, 0.0) + c.duration
        return max(totals, key=totals.get) if totals else ""


def trace_name(stage: stages.Stage) -> str:
    """"02", "05" (libevent's default backend), "05-poll" (another one)."""
    return stage.number if stage.on_default_backend else stage.id


@dataclasses.dataclass
class Trace:
    stage: stages.Stage
    args: tuple[str, ...]
    start: float  # the session's start: time 0 of the picture
    end: float  # when the server was told to stop: the end of the picture
    events: list[ClientEvent]
    lanes: list[Lane]

    @property
    def name(self) -> str:
        return trace_name(self.stage)

    @property
    def length(self) -> float:
        return self.end - self.start

    def calls(self) -> list[Call]:
        return [c for lane in self.lanes for c in lane.calls]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for c in self.calls():
            found[c.name] = found.get(c.name, 0) + 1
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def eagain(self, blocked: bool = False) -> dict[str, int]:
        """Calls that failed with EAGAIN at once, by name (a non-blocking socket with nothing
        to do); with `blocked`, those that blocked first (a wait that timed out, such as 02's
        accept() with SO_RCVTIMEO, or a call descheduled while strace held it)."""
        found: dict[str, int] = {}
        for c in self.calls():
            if c.error == "EAGAIN" and (c.duration >= BLOCKED_MIN) == blocked:
                found[c.name] = found.get(c.name, 0) + 1
        return found

    def answered_at(self, client: str) -> float:
        return next(e.time for e in self.events if e.client == client and e.kind == "answer")

    def facts(self) -> dict:
        """What the picture shows that does not depend on timing: lanes, which call each
        waiting lane waits in, which families of calls appear, whether the server spins, and
        whether a client waited for another to leave. tests/docs/test_traces.py compares them
        with the committed ones and with each stage's lesson."""
        calls = self.calls()
        successful_recv = sum(1 for c in calls if c.name in RECV_CALLS and not c.failed)
        failed = sum(self.eagain().values())
        ctl: dict[str, int] = {}
        for c in calls:
            if c.name == "epoll_ctl" and (op := re.search(r"EPOLL_CTL_(\w+)", c.args)):
                ctl[op.group(1)] = ctl.get(op.group(1), 0) + 1
        idle_left = next(e.time for e in self.events if e.client == "idle" and e.kind == "close")
        # How many EPOLL_CTL_MODs 06 makes depends on how the kernel merged C's pieces into
        # reads: what holds every run is whether there are none, or a pair per answer or more.
        if "MOD" in ctl:
            ctl["MOD"] = ("a pair per answer or more" if ctl["MOD"] >= 2 * ANSWERED_LINES
                          else "fewer than a pair per answer")
        return {
            "stage": self.name,
            "program": self.stage.program,
            "args": list(self.args),
            "lanes": {kind: sum(1 for l in self.lanes if l.kind == kind)
                      for kind in ("process", "thread")},
            "waiting_lanes": sorted(f"{l.kind} in {l.main_wait()}" for l in self.lanes
                                    if l.waiting),
            "waiting_calls": sorted({c.name for c in calls if family(c.name) == "wait"}),
            "socket_io": sorted({c.name for c in calls if c.name in SOCKET_IO - {"read",
                                                                                 "write"}}),
            "spins": failed >= 100 * max(1, successful_recv),
            "epoll_ctl": dict(sorted(ctl.items())),
            "answers_after_the_idle_client_left": sorted(
                c for c in ("A", "B", "C") if self.answered_at(c) > idle_left),
        }

    def summary(self) -> dict:
        """The numbers of this run (they vary from run to run; facts() does not)."""
        return {
            "seconds": round(self.length, 3),
            "calls": self.counts(),
            "eagain": self.eagain(),
            "timed_out": self.eagain(blocked=True),
            "lanes": [{"lane": l.label, "calls": len(l.calls), "blocked": round(l.blocked, 3),
                       "busy": round(max(0.0, l.span - l.blocked), 3),
                       "waits_in": l.main_wait()} for l in self.lanes],
            "answer_seconds": {c: round(self.answered_at(c) - self._last_send(c), 3)
                               for c in ("A", "B", "C")},
        }

    def _last_send(self, client: str) -> float:
        return max(e.time for e in self.events if e.client == client and e.kind == "send")

    def text(self) -> str:
        """The summary as a few lines for the terminal and the side-by-side page."""
        s = self.summary()
        out = [f"{self.stage.program} {' '.join(self.args)}".rstrip()
               + f": {len(self.lanes)} lane(s), {s['seconds']:.2f} s traced"]
        calls = ", ".join(f"{n} {k}" for k, n in s["calls"].items())
        out.append(f"  system calls: {sum(s['calls'].values())} ({calls})")
        for lane in s["lanes"]:
            waits = f", mostly in {lane['waits_in']}" if lane["waits_in"] else ""
            out.append(f"  {lane['lane']}: {lane['calls']} calls, blocked {lane['blocked']:.3f} s"
                       f"{waits}, busy {lane['busy']:.3f} s")
        failed = sum(s["eagain"].values())
        detail = ", ".join(f"{n} {k}" for k, n in sorted(s["eagain"].items()))
        out.append(f"  failed at once with EAGAIN: {failed}" + (f" ({detail})" if detail else ""))
        if s["timed_out"]:
            out.append("  failed with EAGAIN after 1 ms or more: " + ", ".join(
                f"{n} {k}" for k, n in sorted(s["timed_out"].items())))
        out.append("  answer after the line was sent: " + ", ".join(
            f"{c} {t * 1000:.0f} ms" for c, t in s["answer_seconds"].items()))
        return "\n".join(out)


def build_lanes(calls: list[Call], exits: dict[int, float], start: float,
                end: float) -> list[Lane]:
    """One lane per process or thread that made a call during [start, end], in the order they
    appeared; a lane's kind comes from the clone() that made it (CLONE_THREAD or not)."""
    kinds: dict[int, str] = {}
    for c in calls:
        if c.name in ("clone", "clone3", "fork", "vfork") and c.result.isdigit():
            kinds[int(c.result)] = "thread" if "CLONE_THREAD" in c.args else "process"
    order: list[int] = []
    by_tid: dict[int, list[Call]] = {}
    for c in calls:
        if c.end < start or c.start > end:
            continue
        if c.tid not in by_tid:
            order.append(c.tid)
            by_tid[c.tid] = []
        by_tid[c.tid].append(c)
    first = calls[0].tid if calls else 0  # the server: strace's output starts with its execve
    lanes, numbered = [], {"process": 0, "thread": 0}
    for tid in order:
        kind = kinds.get(tid, "process")
        if tid == first:
            label = "main"
        else:
            numbered[kind] += 1
            label = f"{'child' if kind == 'process' else 'thread'} {numbered[kind]}"
        lane_calls = by_tid[tid]
        born = min(c.start for c in lane_calls)
        died = exits.get(tid, end)
        blocked = sum(max(0.0, min(c.end, end) - max(c.start, start)) for c in lane_calls
                      if c.duration >= BLOCKED_MIN)
        lanes.append(Lane(kind, label, lane_calls, blocked,
                          max(0.0, min(died, end) - max(born, start))))
    # The main lane first, then the others as they appeared.
    lanes.sort(key=lambda l: l.label != "main")
    return lanes


def pick(patterns: list[str]) -> list[stages.Stage]:
    """The stages named on the command line; a libevent stage named without its backend is
    traced on libevent's default, epoll. No pattern: every stage, each program once."""
    if not patterns:
        return stages.soak_stages()
    chosen: list[stages.Stage] = []
    for pattern in patterns:
        found = stages.select([pattern])
        if len(found) > 1:
            found = [s for s in found if s.on_default_backend]
        chosen.extend(s for s in found if s not in chosen)
    return chosen


def trace(stage: stages.Stage, bin_dir: pathlib.Path, keep: pathlib.Path | None = None) -> Trace:
    """Starts `stage` under strace, plays the session, stops the server with SIGTERM, and reads
    the trace. `keep`: a directory to leave strace's raw output in (NN.strace)."""
    strace = shutil.which("strace")
    if strace is None:
        raise RuntimeError("strace is not installed (scripts/install-deps installs it)")
    program = bin_dir / stage.program
    if not program.exists():
        raise RuntimeError(f"{program} was not built")
    args = TRACE_ARGS.get(stage.number, stage.args)
    with tempfile.TemporaryDirectory() as scratch:
        output = pathlib.Path(scratch) / "strace.txt"
        server = ServerProcess(program, env=dict(stage.env), extra_args=list(args),
                               wrapper=[strace, "-f", "-ttt", "-T", "-o", str(output), "--"])
        try:
            traced = procfs.children(server.proc.pid)  # strace's child: the server itself
            if len(traced) != 1:
                raise RuntimeError(f"strace has {len(traced)} children, expected the server")
            start, events = run_session(server.address)
            end = max(max(e.time for e in events), start + SESSION[-1][0]) + TAIL
            time.sleep(max(0.0, end - time.time()))
            end = time.time()
            os.kill(traced[0], signal.SIGTERM)
            status = server.proc.wait(timeout=10)  # strace exits with the server's status
            if status != 0:
                raise RuntimeError(f"{stage.program}: {exit_description(status)} after SIGTERM; "
                                   f"the end of its stderr:\n{server.stderr_tail()}")
        finally:
            server.close()
        text = output.read_text(errors="replace")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(output, keep / f"{trace_name(stage)}.strace")
    calls, exits = parse_strace(text)
    return Trace(stage, tuple(args), start, end, events, build_lanes(calls, exits, start, end))


# ---------------------------------------------------------------------------------------------
# Drawing.

CLIENT_MARKS = {  # kind -> (marker, colour, label)
    "connect": ("o", "#333333", "client connects"),
    "send": (">", "#333333", "client sends (a line or a piece)"),
    "half-close": ("x", "#333333", "client half-closes"),
    "answer": ("*", "#2CA02C", "answer received"),
    "close": ("|", "#333333", "client closes"),
}


# The rows of a lane under its first one (the calls that blocked, and the short waiting calls):
# one per family of short calls, so that calls made within the same millisecond stay apart.
ROW_FAMILIES = ["accept", "recv", "send", "epoll_ctl", "threads", "other"]
CLUSTER = 0.005  # ticks of one row closer than this are counted together ("×2")


Rows = list[tuple[str, list[Call]]]  # (label, calls) of each row of a lane


def lane_rows(lane: Lane) -> Rows:
    """(label, calls) for each row of `lane`: first the blocked calls and the short waiting
    calls, labelled with the call the lane waits in most; then a row per family of the other
    calls, labelled with their names."""
    first = [c for c in lane.calls if c.duration >= BLOCKED_MIN or family(c.name) == "wait"]
    rows = [(lane.main_wait() if lane.waiting else "never waits", first)]
    for fam in ROW_FAMILIES:
        calls = [c for c in lane.calls if c.duration < BLOCKED_MIN and family(c.name) == fam]
        if calls:
            names = sorted({c.name for c in calls}, key=lambda n: -sum(c.name == n for c in calls))
            rows.append(("/".join(names[:2]) + ("/..." if len(names) > 2 else ""), calls))
    return rows


def draw(trace: Trace, ax, length: float, lanes_rows: list[Rows]) -> None:
    """Plots `trace` on `ax`: the clients on top, one row each, then the server's lanes, each
    with its rows (`lanes_rows`, lane_rows() of each lane); x is seconds since the session
    started, up to `length`."""
    rows = len(CLIENTS) + sum(len(r) for r in lanes_rows)
    labels, y = [], rows  # top row first
    for client in CLIENTS:
        y -= 1
        labels.append((y, f"client {client}"))
        mine = [e for e in trace.events if e.client == client]
        if mine:
            ax.plot([mine[0].time - trace.start, mine[-1].time - trace.start], [y, y],
                    color="#BBBBBB", lw=1, zorder=1)
        for e in mine:
            marker, colour, _ = CLIENT_MARKS[e.kind]
            ax.plot(e.time - trace.start, y, marker=marker, color=colour, ms=7 if
                    e.kind == "answer" else 5, ls="none", zorder=3)
    for lane, rows_of_lane in zip(trace.lanes, lanes_rows):
        ax.axhline(y - 0.5, color="#888888", lw=0.8)
        for i, (label, calls) in enumerate(rows_of_lane):
            y -= 1
            labels.append((y, f"{trace.name} {lane.label}: {label}" if i == 0 else label))
            draw_row(trace, calls, ax, y)
    ax.set_yticks([p for p, _ in labels], [t for _, t in labels], fontsize=7)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, length)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#EEEEEE", lw=0.6)
    ax.set_axisbelow(True)


def draw_row(trace: Trace, calls: list[Call], ax, y: float) -> None:
    bars: dict[str, list[tuple[float, float]]] = {}
    ticks: dict[str, list[float]] = {}
    failed = [c for c in calls if c.error == "EAGAIN" and c.duration < BLOCKED_MIN]
    band = len(failed) > BAND_ABOVE
    for c in calls:
        begin = max(c.start, trace.start) - trace.start
        if c.duration >= BLOCKED_MIN:  # a bar in its family's colour, even if it timed out
            end = min(c.end, trace.end) - trace.start
            bars.setdefault(family(c.name), []).append((begin, end - begin))
        elif c.error == "EAGAIN":
            if not band:
                ticks.setdefault("EAGAIN", []).append(begin)
        else:
            ticks.setdefault(family(c.name), []).append(begin)
    for colour, spans in bars.items():
        ax.broken_barh(spans, (y - 0.3, 0.6), facecolors=COLOURS[colour], edgecolors="none",
                       zorder=2)
    for colour, xs in ticks.items():
        ax.vlines(xs, y - 0.4, y + 0.4, colors=COLOURS[colour], lw=1.0, zorder=3)
    # Several calls of one row within a few milliseconds look like one tick: say how many.
    xs = sorted(x for v in ticks.values() for x in v)
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] - xs[i] < CLUSTER:
            j += 1
        if j > i:
            ax.text(xs[i] + 0.004, y, f"×{j - i + 1}", fontsize=6, va="center", color="#444444",
                    zorder=4)
        i = j + 1
    if band:
        # Too many to tick: their rate, per 10 ms, as the height of a red band.
        step = 0.01
        bins = int(trace.length / step) + 1
        rate = [0] * bins
        for c in failed:
            rate[min(bins - 1, max(0, int((c.start - trace.start) / step)))] += 1
        top = max(rate) or 1
        xs = [k * step for k in range(bins + 1)]
        heights = [r / top * 0.8 for r in rate] + [0]
        ax.fill_between(xs, [y - 0.4] * len(xs), [y - 0.4 + h for h in heights], step="post",
                        color=COLOURS["EAGAIN"], alpha=0.55, lw=0, zorder=2)
        per_ms = len(failed) / max(trace.length, 1e-9) / 1000
        ax.text(trace.length * 0.995, y, f"{len(failed)} failed at once ({per_ms:.0f} per ms)",
                ha="right", va="center", fontsize=7, color="black", zorder=4,
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))


def figure(trace: Trace, length: float):
    """A matplotlib figure of one trace, sized by its number of rows; the same left margin for
    every stage, so that figures stacked on one page share their time axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    matplotlib.rcParams["svg.hashsalt"] = "scripts/trace"  # stable ids: small diffs
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
    lanes_rows = [lane_rows(lane) for lane in trace.lanes]
    rows = len(CLIENTS) + sum(len(r) for r in lanes_rows)
    height = 1.3 + 0.2 * rows
    fig, ax = plt.subplots(figsize=(10, height))
    fig.subplots_adjust(left=0.16, right=0.98, top=1 - 0.35 / height, bottom=0.95 / height)
    draw(trace, ax, length, lanes_rows)
    ax.set_title(f"{trace.stage.program} {' '.join(trace.args)}".rstrip()
                 + ": system calls under strace -f, and the clients", fontsize=9, loc="left")
    ax.set_xlabel("seconds since the session started (strace -ttt).  Bar: a call that blocked "
                  "1 ms or more (strace -T); tick: one that returned at once", fontsize=8)
    used = {"EAGAIN" if c.error == "EAGAIN" and c.duration < BLOCKED_MIN else family(c.name)
            for c in trace.calls()}
    handles = [Patch(color=COLOURS[k], label=LEGEND[k]) for k in COLOURS if k in used]
    handles += [Line2D([], [], marker=m, color=c, ls="none", label=label)
                for m, c, label in CLIENT_MARKS.values()]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.55, 0.0), ncol=5,
               fontsize=7, frameon=False, handletextpad=0.4, columnspacing=1.0)
    return fig


def svg(trace: Trace, length: float) -> str:
    import matplotlib.pyplot as plt
    fig = figure(trace, length)
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    return out.getvalue()


def side_by_side(traces: list[Trace], pictures: dict[str, str]) -> str:
    """A self-contained page: every trace, its picture (`pictures`, by trace name, drawn on one
    time axis) and its summary beside it."""
    sections = []
    for t in traces:
        picture = pictures[t.name]
        picture = picture[picture.index("<svg"):]  # inline: no XML declaration, no doctype
        sections.append(f'<section id="stage-{t.name}">\n<h2>{html.escape(t.stage.program)}'
                        f'</h2>\n<div class="row">\n<div class="picture">{picture}</div>\n'
                        f'<pre>{html.escape(t.text())}</pre>\n</div>\n</section>')
    names = " ".join(t.name for t in traces)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Who waits where: stages {html.escape(names)} side by side</title>
<style>
body {{ font-family: sans-serif; margin: 1em 2em; color: #222; }}
.row {{ display: flex; gap: 1em; align-items: flex-start; }}
.picture {{ flex: 0 0 auto; width: 60em; max-width: 72%; }}
.picture svg {{ width: 100%; height: auto; }}
pre {{ font-size: 0.72em; white-space: pre-wrap; margin: 0; }}
h2 {{ font-size: 1.05em; margin: 1.2em 0 0.2em; }}
</style>
</head>
<body>
<h1>Who waits where: stages {html.escape(names)} doing the same work</h1>
<p>The same scripted session against each stage, traced with <code>strace -f -ttt -T</code> and
drawn on one time axis by <code>scripts/trace {html.escape(names)} --html FILE</code>. On top,
the four clients: <b>idle</b> connects and says nothing; <b>A</b> and <b>B</b> send a line each;
<b>C</b> sends a long line in three pieces and half-closes. Below them, one lane per server
process or thread: a bar is a system call that blocked, a tick one that returned at once, red a
call that failed at once with EAGAIN.</p>
{chr(10).join(sections)}
</body>
</html>
"""


def facts_file(trace: Trace) -> pathlib.Path:
    return TRACES / f"{trace.name}.json"


def committed_json(trace: Trace) -> str:
    """docs/traces/NN.json: the facts the test checks, and this run's numbers for reference."""
    return json.dumps({"facts": trace.facts(), "this_run": trace.summary()}, indent=2) + "\n"
