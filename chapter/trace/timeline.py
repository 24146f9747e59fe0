"""A traced run of one stage: the session's calls grouped into lanes (one per process or
thread), what the picture shows that does not depend on timing (Trace.facts()), this run's
numbers (Trace.summary()), and trace(), which starts a stage under strace and plays the session.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import shutil
import signal
import tempfile
import time

from chapter import procfs, stages, strace
from chapter.server import ServerProcess, exit_description
from chapter.strace import Call
from chapter.trace.session import SESSION, TAIL, ClientEvent, run_session

REPO = stages.REPO
# A call that lasted this long slept in the kernel: it is drawn as a bar and counted as blocked.
# Shorter ones are ticks (a call that returns at once takes microseconds, strace's cost included).
BLOCKED_MIN = 0.001
# A lane that spent this share of the session blocked is a waiting lane (a spinning one is not).
WAITING_SHARE = 0.10
# A lane with more failed EAGAIN calls than this gets a band of their rate instead of ticks.
BAND_ABOVE = 400
# The committed timelines, their facts and the side-by-side page.
IMAGES = REPO / "docs" / "images"
TRACES = REPO / "docs" / "traces"
SIDE_BY_SIDE = TRACES / "side-by-side.html"

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


def traceable() -> list[stages.Stage]:
    """Every server program once (libevent's on their default backend), unless its description
    says it has no trace."""
    return [s for s in stages.soak_stages() if s.description.has("trace")]


def pick(patterns: list[str]) -> list[stages.Stage]:
    """The stages named on the command line; a libevent stage named without its backend is
    traced on libevent's default, epoll. No pattern: every stage, each program once."""
    if not patterns:
        return traceable()
    chosen: list[stages.Stage] = []
    for pattern in patterns:
        found = stages.select([pattern])
        if len(found) > 1:
            found = [s for s in found if s.on_default_backend]
        chosen.extend(s for s in found if s not in chosen)
    return chosen


def trace(stage: stages.Stage, bin_dir: pathlib.Path, keep: pathlib.Path | None = None) -> Trace:
    """Starts `stage` under strace (with the arguments its description gives for tracing), plays
    the session, stops the server with SIGTERM, and reads the trace. `keep`: a directory to
    leave strace's raw output in (NN.strace)."""
    program = bin_dir / stage.program
    if not program.exists():
        raise RuntimeError(f"{program} was not built")
    args = tuple((stage.description.trace or {}).get("args", ()))
    with tempfile.TemporaryDirectory() as scratch:
        output = pathlib.Path(scratch) / "strace.txt"
        server = ServerProcess(program, env=dict(stage.env), extra_args=list(args),
                               wrapper=strace.timeline_wrapper(output))
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
    calls, exits = strace.parse(text)
    return Trace(stage, args, start, end, events, build_lanes(calls, exits, start, end))


def lesson_problems(stage: stages.Stage, facts: dict) -> list[str]:
    """What of the stage's lesson (`trace.lesson` in its stage.json: a value for each fact its
    guide states) its facts do not show; empty when all do. Two facts are derived: the
    EPOLL_CTL_MODs (`epoll_ctl_mod`: "none", or facts() words for how many), and a server that
    states no `socket_io` must make some recv or send call."""
    lesson = (stage.description.trace or {}).get("lesson", {})
    derived = {**facts, "epoll_ctl_mod": facts["epoll_ctl"].get("MOD", "none")}
    wrong = [f"{key}: got {derived.get(key)!r}, expected {wanted!r}"
             for key, wanted in lesson.items() if derived.get(key) != wanted]
    if "socket_io" not in lesson and not facts["socket_io"]:
        wrong.append("no recv or send call at all")
    return wrong


def facts_file(trace: Trace) -> pathlib.Path:
    return TRACES / f"{trace.name}.json"


def committed_json(trace: Trace) -> str:
    """docs/traces/NN.json: the facts the test checks, and this run's numbers for reference."""
    return json.dumps({"facts": trace.facts(), "this_run": trace.summary()}, indent=2) + "\n"
