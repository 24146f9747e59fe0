"""The tour: walks the chapter stage by stage, runs each program, and measures its lesson live.

Started by scripts/tour, which installs what is missing and builds first. By hand:

    PYTHONPATH=. /usr/bin/python3 -m chapter.tour [--stage 02] [--lang zh-CN] [--build-dir build]

Each stage's step is its own: `NN-name/tour.py` defines `TEXT` (its narration, in English and
Chinese, keyed as below) and `run(tour)`, which starts the stage's program, measures its lesson
and returns `tour.row(measured, ok)`. This module holds what every step shares: the Tour (its
servers, its narration), the measuring helpers, and the order of the stages (the registry's).

Every process the tour starts is stopped before it exits; the exit status is non-zero if any
stage misbehaved (a wrong answer, a missing lesson, a crash). Ctrl-C (SIGINT) stops the tour:
it stops its servers, says so in one line and exits 130, the shell's status for SIGINT.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import os
import pathlib
import resource
import signal
import sys
import time
from types import ModuleType

from chapter import measure, procfs, stages, strace
from chapter.client import Client
from chapter.reference import rot13
from chapter.server import ServerProcess

# The narration every step shares; a step's own keys are in its tour.py's TEXT.
TEXT = {
    "en": {
        "intro": "A tour of chapter 1 of the libevent book: each stage runs here, on loopback, "
                 "and its lesson is measured live.",
        "title": "{directory}{bonus}: {title}",
        "bonus": " (bonus)",
        "summary": "Summary",
        "done": "Every stage behaved. Tour finished in {seconds:.0f} s.",
        "failed": "These stages misbehaved: {stages}",
        "interrupted": "Tour interrupted: every server it started has been stopped.",
        "not_built": "{program} was not built here ({needs} not found): skipped.",
        "not_built_row": "not built (no {needs})",
        "evt.measured": "{backend}; round trip {none:.0f} us -> {many:.0f} us with 2000 idle; "
                        "idle CPU {cpu:.0f}%",
    },
    "zh-CN": {
        "intro": "libevent 书第一章导览：每个阶段都在本机回环地址上运行，并现场测量它要说明的道理。",
        "title": "{directory}{bonus}：{title}",
        "bonus": "（附加）",
        "summary": "总结",
        "done": "所有阶段表现正常。用时 {seconds:.0f} 秒。",
        "failed": "以下阶段表现异常：{stages}",
        "interrupted": "导览已中断：它启动的服务器都已停止。",
        "not_built": "这里没有构建 {program}（没找到 {needs}）：跳过。",
        "not_built_row": "未构建（没有 {needs}）",
        "evt.measured": "{backend}；往返时间 {none:.0f} 微秒 -> 有 2000 个空闲连接时 "
                        "{many:.0f} 微秒；空闲 CPU {cpu:.0f}%",
    },
}


@dataclasses.dataclass
class Row:
    stage: str
    lesson: str
    measured: str
    ok: bool
    skipped: bool = False  # not built here (a library missing): neither ok nor a failure


class Misbehaved(Exception):
    """A stage answered wrong: the tour fails that stage."""


def load_step(description: stages.Description) -> ModuleType:
    """The stage's tour.py, as a module (it is not a package: loaded by its path)."""
    path = description.path / "tour.py"
    spec = importlib.util.spec_from_file_location(f"tour_step_{description.key}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Tour:
    def __init__(self, bin_dir: pathlib.Path, lang: str):
        self.bin_dir = bin_dir
        self.lang = lang
        self.servers: list[ServerProcess] = []
        self.started = time.monotonic()
        self.stage: stages.Description | None = None  # the stage whose step runs now
        self.step_text: dict[str, str] = {}

    def t(self, key: str, **values) -> str:
        """The narration `key`: the current step's own, else the shared one."""
        text = self.step_text.get(key) or TEXT[self.lang][key]
        return text.format(**values)

    def say(self, key: str, **values) -> None:
        print(self.t(key, **values), flush=True)

    def show(self, line: str) -> None:
        print(f"    {line}", flush=True)

    def row(self, measured: str, ok: bool) -> Row:
        """The summary's row for the current stage: its "row" narration and what was measured."""
        return Row(self.stage.directory, self.t("row"), measured, ok)

    def start(self, program: str | None = None, env: dict[str, str] | None = None,
              wrapper: list[str] | None = None, args: list[str] | None = None) -> ServerProcess:
        """Starts a server (the current stage's unless `program` is given) on a port the kernel
        picks, and shows the command."""
        program = program or self.stage.directory
        server = ServerProcess(self.bin_dir / program, env=env, wrapper=wrapper or [],
                               extra_args=args)
        self.servers.append(server)
        shown = " ".join([program, "--port 0", *(args or [])])
        self.show(f"$ {shown}   ->   listening on {server.host}:{server.port}")
        return server

    def stop_all(self) -> list[str]:
        """Stops every server started; returns complaints (a server that did not stop cleanly)."""
        complaints = []
        for server in self.servers:
            try:
                if server.alive():
                    server.stop(timeout=5)
                    if server.returncode != 0:
                        complaints.append(f"{server.program.name}: exit {server.returncode}")
                elif server.returncode is None:
                    complaints.append(f"{server.program.name}: died ({server.proc.returncode})")
            except AssertionError as e:
                complaints.append(str(e))
            finally:
                server.close()
        self.servers.clear()
        return complaints

    def stop_stragglers(self) -> None:
        """Stops any child process still running: after an interrupt, that may include a server
        interrupted before it was ready, hence before stop_all() knew of it."""
        def running(pid: int) -> bool:
            try:
                return procfs.state(pid) != "Z"
            except OSError:  # gone already
                return False

        stragglers = [pid for pid in procfs.children(os.getpid()) if running(pid)]
        for signo in (signal.SIGTERM, signal.SIGKILL):
            for pid in stragglers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signo)
            if procfs.wait_until(lambda: not any(running(p) for p in stragglers), 5):
                break
        for pid in stragglers:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


# What the steps measure with -------------------------------------------------------------------

def expect(got: bytes, want: bytes) -> None:
    if got != want:
        raise Misbehaved(f"answered {got!r} where the protocol says {want!r}")


def answer_one(tour: Tour, server: ServerProcess) -> bool:
    with Client(server.address) as c:
        c.send(b"Hello, world\n")
        got = c.recv_exactly(13, timeout=5)
    tour.show(f"client: Hello, world -> {got.decode(errors='replace').strip()}")
    return got == b"Uryyb, jbeyq\n"


def switches_per_line(server: ServerProcess, clients: int = 50, rounds: int = 20) -> float:
    """The server's context switches (every thread's) per line answered, while `clients`
    connections each send a line, `rounds` times over, all lines of a round in flight at once."""
    conns = [Client(server.address) for _ in range(clients)]
    try:
        before = procfs.task_context_switches(server.pid)
        for r in range(rounds):
            line = b"round %d\n" % r
            for c in conns:
                c.send(line)
            for c in conns:
                expect(c.recv_exactly(len(line), timeout=10), rot13(line))
        return (procfs.task_context_switches(server.pid) - before) / (clients * rounds)
    finally:
        measure.close_all(conns)


def idle_share(server: ServerProcess, seconds: float = 1.0) -> float:
    """Fraction of one CPU the server uses while nobody sends anything."""
    before = procfs.tree_cpu_seconds(server.pid)
    time.sleep(seconds)
    return (procfs.tree_cpu_seconds(server.pid) - before) / seconds


def room_for(descriptors: int) -> list[str]:
    """Raises the tour's own descriptor limit to `descriptors` (or as far as allowed) and returns
    the wrapper that gives a server as many."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < descriptors:
        wanted = descriptors if hard == resource.RLIM_INFINITY else min(descriptors, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return ["prlimit", f"--nofile={descriptors}", "--"]


def event_driven(tour: Tour) -> Row:
    """The event-driven stages' step: the backend, and a cost that stays flat beside 2000 idle
    connections."""
    tour.say("run")
    server = tour.start(wrapper=room_for(4096))
    ok = answer_one(tour, server)
    if tour.stage.backends:  # libevent logs the backend it chose
        backend = procfs.wait_until(lambda: next(
            (l.rsplit(" with the ", 1)[1].split()[0] for l in server.stderr().splitlines()
             if " with the " in l), ""), 3)
        tour.show(f"stderr: {server.stderr().splitlines()[0] if server.stderr() else ''}")
    else:
        backend = "epoll"  # written out by hand: nothing to choose
    rtt_none = measure.round_trip_us(server.address)
    idle = measure.open_idle(server.address, 2000)
    cpu = idle_share(server, 0.5)
    rtt_many = measure.round_trip_us(server.address)
    measure.close_all(idle)
    measured = tour.t("evt.measured", backend=backend, none=rtt_none, many=rtt_many,
                      cpu=cpu * 100)
    tour.say("lesson", measured=measured)
    # The lesson, loosely: beside 2000 idle connections the round trip stays about the same
    # (04's grows about tenfold beside half as many; four times is far outside the noise).
    flat = rtt_many < 4 * rtt_none
    if not flat:
        tour.show("!! the round trip grew with 2000 idle connections")
    return tour.row(measured, ok and bool(backend) and flat and cpu < 0.05)


def count_calls(tour: Tour, server: ServerProcess, work, during: str) -> dict[str, int] | None:
    """The server's system calls while `work()` runs (chapter.strace.count_calls), shown as
    strace -c shows them; None where strace cannot attach here."""
    calls = strace.count_calls(server.pid, work)
    if calls is not None:
        tour.show(f"$ strace -c -f -p {server.pid}   ({during})")
        for name, count in sorted(calls.items(), key=lambda c: -c[1]):
            tour.show(f"    {name:16} {count:6}")
    return calls


# The walk ---------------------------------------------------------------------------------------

def run_step(tour: Tour, description: stages.Description) -> Row:
    """One stage's step, or its "not built" row when a library it needs is missing here."""
    step = load_step(description)
    tour.stage, tour.step_text = description, step.TEXT[tour.lang]
    if not (tour.bin_dir / description.directory).exists() and description.needs:
        needs = ", ".join(description.needs)
        tour.say("not_built", program=description.directory, needs=needs)
        return Row(description.directory, tour.t("row"), tour.t("not_built_row", needs=needs),
                   True, skipped=True)
    return step.run(tour)


def title(lang: str, d: stages.Description) -> str:
    return TEXT[lang]["title"].format(directory=d.directory, title=d.title[lang],
                                      bonus=TEXT[lang]["bonus"] if d.bonus else "")


def run(tour: Tour, wanted: list[stages.Description]) -> int:
    """Runs the steps of `wanted`, prints the summary; returns the exit status."""
    tour.say("intro")
    rows: list[Row] = []
    try:
        for i, description in enumerate(wanted, 1):
            elapsed = time.monotonic() - tour.started
            print(f"\n[{i}/{len(wanted)}] {title(tour.lang, description)}  ({elapsed:.0f} s)",
                  flush=True)
            try:
                rows.append(run_step(tour, description))
            except Exception as e:  # a stage that misbehaves fails the tour, after cleanup
                tour.show(f"!! {type(e).__name__}: {e}")
                rows.append(Row(description.directory, tour.t("row"), "error", False))
            for complaint in tour.stop_all():
                tour.show(f"!! {complaint}")
                rows[-1].ok = False
    finally:
        tour.stop_all()

    print("\n" + tour.t("summary"))
    width = max(len(r.stage) for r in rows)
    for r in rows:
        mark = "skipped" if r.skipped else "ok" if r.ok else "FAILED"
        print(f"  {r.stage:<{width}}  {mark:7}  {r.lesson}: {r.measured}")
    failed = [r.stage for r in rows if not r.ok]
    took = time.monotonic() - tour.started
    print("\n" + (tour.t("failed", stages=", ".join(failed)) if failed
                  else tour.t("done", seconds=took)))
    return 1 if failed else 0


def on_interrupt(signo, frame) -> None:
    """The first Ctrl-C stops the tour; later ones are ignored, so that none cuts the cleanup
    short (and none prints a traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/tour", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", default=[],
                        help="run only this stage (one of "
                        f"{', '.join(d.key for d in stages.descriptions())}); repeatable")
    parser.add_argument("--lang", choices=sorted(TEXT), default="en")
    parser.add_argument("--build-dir", default=str(stages.default_build_dir()),
                        help="the build whose bin/ holds the programs (default: build/)")
    args = parser.parse_args(argv)
    toured = [d for d in stages.descriptions() if d.has("tour") and d.builds_here()]
    wanted = []
    for name in args.stage:
        match = [d for d in toured if name in (d.key, d.directory) or name.split("-")[0] == d.key]
        if not match:
            parser.error(f"no such stage {name!r}; stages: {', '.join(d.key for d in toured)}")
        wanted += match
    try:
        bin_dir = stages.bin_dir(args.build_dir)
    except FileNotFoundError as e:
        parser.exit(1, f"tour: {e}\n")
    tour = Tour(bin_dir, args.lang)
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        return run(tour, wanted or toured)
    except KeyboardInterrupt:
        tour.stop_all()
        tour.stop_stragglers()
        print("\n" + tour.t("interrupted"), flush=True)  # on a line of its own, after the ^C
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
