"""The processes of one point: a fresh server, started pinned and under prlimit, stopped with
SIGTERM and required to exit 0; and bench/loadgen against it, with the server's CPU time and
memory read at the edges of loadgen's measurement window."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import re
import resource
import signal
import subprocess
import time

from chapter import procfs
from chapter.bench import lineup
from chapter.bench.readings import server_cpu
from chapter.bench.sizes import (NOFILE, PLACEMENTS, STOP_TIMEOUT, CannotServe, Failure,
                                 NotMeasured, Sizes)
from chapter.server import ServerProcess


@dataclasses.dataclass
class Context:
    """What every measurement needs: where the programs are, and how big the run is."""
    bin_dir: pathlib.Path
    sizes: Sizes
    quick: bool
    overrides: dict[str, str]  # hidden --program-override: stage -> program (failure tests)
    libevent: list[str] = dataclasses.field(default_factory=list)  # log lines seen
    not_built: set[str] = dataclasses.field(default_factory=set)  # optional stages missing

    def program(self, stage: str) -> pathlib.Path:
        name = self.overrides.get(stage) or (
            lineup.FLOOR if stage == lineup.FLOOR else lineup.find(stage).program)
        return self.bin_dir / name


def pool_args(stage: str, held: int | None) -> list[str]:
    """The server's own arguments for a point that holds `held` connections open for its whole
    length (None: its connections are short, as in churn). Only a stage with a pool (its
    description's `pool`) takes any: a pool as large as the connections held, never below its
    default; CannotServe past its maximum. A worker is busy for as long as its client stays
    connected, so a point that holds C connections open needs a pool of C."""
    entry = lineup.find(stage)
    pool = entry.pool if entry else None
    if not pool or held is None or held <= pool["default"]:
        return []
    if held > pool["max"]:
        raise CannotServe(f"cannot serve: {held} connections held open > pool of at most "
                          f"{pool['max']} ({entry.key}'s {pool['option']} limit)")
    return [pool["option"], str(held)]


def kill_tree(server: ServerProcess) -> None:
    """Kills a server and its children at once (after a failure, or on Ctrl-C)."""
    with contextlib.suppress(Exception):
        kids = procfs.children(server.pid) if server.alive() else []
        server.kill()
        for kid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(kid, signal.SIGKILL)


def pinned_to(cpus: str | None) -> list[str]:
    """The taskset prefix that pins a command to `cpus`; none for an unpinned placement."""
    return ["taskset", "-c", cpus] if cpus else []


@contextlib.contextmanager
def running_server(ctx: Context, stage: str, placement: str, record: dict, *,
                   held: int | None = None, args: list[str] | None = None):
    """Starts a fresh server for one point; on leaving, stops it with SIGTERM and requires exit
    status 0 (raising Failure otherwise). On Ctrl-C it kills it (and its children) instead.

    `held`: how many connections the point keeps open throughout (for a pool, pool_args);
    `args`, if given, are the server's arguments instead. A libevent stage runs on the backend
    of its entry, chosen as the tests choose it (stages.BACKEND_ENV)."""
    cpus = PLACEMENTS[placement]["server_cpus"]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    wrapper = [*pinned_to(cpus), "prlimit", f"--nofile={nofile}", "--"]
    extra = pool_args(stage, held) if args is None else args
    if extra:
        record.setdefault("server", {})["args"] = extra
    entry = lineup.find(stage)
    env = dict(entry.stage.env) if entry and stage not in ctx.overrides else {}
    try:
        server = ServerProcess(ctx.program(stage), wrapper=wrapper, env=env, extra_args=extra)
    except AssertionError as e:
        raise Failure(f"{stage}: did not start: {e}") from None
    try:
        yield server
    except (KeyboardInterrupt, SystemExit):
        kill_tree(server)
        raise
    except NotMeasured:
        stop_server(ctx, stage, server, record)  # not a failure: it must still stop cleanly
        raise
    except BaseException:
        # The failure being raised is the one reported; stopping is best effort.
        with contextlib.suppress(Exception):
            stop_server(ctx, stage, server, record)
        kill_tree(server)
        raise
    else:
        stop_server(ctx, stage, server, record)
    finally:
        server.close()


def stop_server(ctx: Context, stage: str, server: ServerProcess, record: dict) -> None:
    """SIGTERM, then the server must exit with status 0 within STOP_TIMEOUT. Once only: a
    server already stopped this way (W4) is not stopped again."""
    if server.returncode is not None:
        return
    if not server.alive():
        code = server.proc.poll()
        raise Failure(f"{stage}: server died during the run (status {code}); "
                      f"stderr: {tail(server.stderr())}")
    try:
        seconds = server.stop(signal.SIGTERM, timeout=STOP_TIMEOUT)
    except AssertionError as e:
        kill_tree(server)
        raise Failure(f"{stage}: {e}") from None
    record.setdefault("server", {})["stop_seconds"] = round(seconds, 3)
    entry = lineup.find(stage) if stage not in ctx.overrides else None
    match = re.search(r"using libevent (\S+) with the (\S+) backend", server.stderr())
    if match:
        record["server"]["libevent"] = match.group(1)
        record["server"]["backend"] = match.group(2)
        if entry is not None and not entry.is_backend_row:  # the machine's line: the default
            ctx.libevent.append(match.group(0))
    if server.returncode != 0:
        raise Failure(f"{stage}: exit status {server.returncode} after SIGTERM, not 0; "
                      f"stderr: {tail(server.stderr())}")
    want = entry.backend if entry is not None else ""
    if want and (not match or match.group(2) != want):
        raise Failure(f"{stage}: ran on libevent's {match.group(2) if match else 'unknown'} "
                      f"backend, not {want}")


def tail(text: str, lines: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def run_loadgen(ctx: Context, server: ServerProcess, placement: str, args: list[str], *,
                expect: str = "rot13", duration: float, warmup: float,
                stop_after_window=None, during_warmup=None) -> dict:
    """Runs loadgen against `server` and returns its JSON summary with the server's CPU time
    and resident memory over loadgen's measurement window (read from /proc when the window
    opens, `warmup` seconds after loadgen starts, and when it closes). Raises Failure if
    loadgen exits non-zero, reports a wrong answer, or measured nothing.

    `during_warmup`, if given, is called once loadgen has started, and must return before its
    window opens (W3b closes its idle connections there); raising NotMeasured otherwise.

    `stop_after_window`, if given, is called when loadgen is still running a second after its
    window closed: churn leaves connections that loadgen opened as its window closed and will
    never use, and it waits 10 s for them to end; stopping the server ends them at once."""
    cpus = PLACEMENTS[placement]["loadgen_cpus"]
    argv = [*pinned_to(cpus), str(ctx.bin_dir / "loadgen"), "--port", str(server.port),
            "--duration", f"{duration}", "--warmup", f"{warmup}", "--expect", expect, *args]
    timeout = warmup + duration + 60  # loadgen drains for up to 10 s after its window
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped_early = False
    try:
        start = time.monotonic()
        if during_warmup is not None:
            during_warmup()
            if time.monotonic() > start + warmup:
                raise NotMeasured(f"what had to happen in loadgen's warm-up took over "
                                  f"{warmup:g} s: its window opened first")
        sleep_until(start + warmup)
        (cpu0, stat0), t0 = server_cpu(server.pid), time.monotonic()
        loadgen0 = procfs.tree_cpu_seconds(proc.pid)  # taskset exec()s it: the same process
        sleep_until(start + warmup + duration)
        (cpu1, stat1), t1 = server_cpu(server.pid), time.monotonic()
        loadgen1 = procfs.tree_cpu_seconds(proc.pid)
        rss = procfs.tree_rss_bytes(server.pid)
        if stop_after_window is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)
            if proc.poll() is None:
                stop_after_window()
                stopped_early = True
        out, err = proc.communicate(timeout=max(1.0, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        raise Failure(f"loadgen {' '.join(args)}: still running after {timeout:.0f} s") from None
    except (FileNotFoundError, ProcessLookupError):
        raise Failure("the server vanished during the run") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    try:
        summary = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise Failure(f"loadgen exited {proc.returncode} without a summary; "
                      f"stderr: {tail(err)}") from None
    summary["server_cpu_seconds"] = round(cpu1 - cpu0, 4)
    summary["server_cpu_seconds_stat"] = round(stat1 - stat0, 3)
    summary["server_window_seconds"] = round(t1 - t0, 3)
    # Which side was saturated: each one's CPU over the window (a pinned side has at most 1 s/s).
    summary["loadgen_cpu_seconds"] = round(loadgen1 - loadgen0, 3)
    summary["server_rss_bytes"] = rss
    summary["exit_status"] = proc.returncode
    if stopped_early:
        summary["server_stopped_after_window"] = True
    if proc.returncode != 0 or summary["wrong"]:
        raise Failure(f"loadgen {' '.join(args)} exited {proc.returncode} with "
                      f"{summary['wrong']} wrong answers, {summary['failed']} failed "
                      f"connections and {summary.get('unanswered', 0)} lines unanswered; "
                      f"stderr: {tail(err)}")
    if summary["lines"] == 0 and summary["churned"] == 0:
        raise Failure(f"loadgen {' '.join(args)} got no answer at all; stderr: {tail(err)}")
    return summary


def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
