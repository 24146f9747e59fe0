"""The benchmarks' own honesty: a server that answers wrong, answers nothing, or drops
connections must fail the run, never win it (issue: bench/loadgen and bench/run).

Each test puts a deliberately broken server in front of bench/loadgen (or bench/run) and checks
that it exits non-zero and says why. The broken servers are small Python threads on loopback,
on ports the OS picks; every wait is bounded. The last tests check the other side of honesty:
a point a stage cannot serve (a pool smaller than the connections held) or a stage that is not
built (a library the build lacks) is reported as such, neither hidden nor counted as a failure;
and the report's targets, which the stages' descriptions set, are ones it can judge.

    /usr/bin/python3 -m pytest tests/bench --build-dir=build
"""
from __future__ import annotations

import json
import pathlib
import selectors
import socket
import struct
import subprocess
import threading
import time

import pytest

from chapter import stages
from chapter.bench import lineup, page, targets
from chapter.bench.plan import make_plan
from chapter.bench.processes import pool_args
from chapter.bench.results import Results
from chapter.bench.sizes import QUICK, CannotServe
from chapter.pytest_plugin import program_path
from chapter.reference import rot13

REPO = pathlib.Path(__file__).resolve().parent.parent.parent


class FakeServer:
    """A line server on 127.0.0.1 that misbehaves on purpose, in a thread.

    mode "echo": answers every byte unchanged (wrong for a ROT13 client);
    mode "rot13": answers correctly; mode "silent": reads everything, answers nothing;
    mode "sometimes": answers correctly, except on every third connection, where it is silent;
    mode "reset": accepts and resets each connection at once (SO_LINGER 0)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ)
        try:
            while not self.stopping.is_set():
                for key, _ in sel.select(0.05):
                    sock = key.fileobj
                    if sock is self.listener:
                        try:
                            conn, _ = self.listener.accept()
                        except BlockingIOError:
                            continue
                        if self.mode == "reset":
                            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                            struct.pack("ii", 1, 0))
                            conn.close()
                            continue
                        self.accepted += 1
                        silent = self.mode == "silent" or (
                            self.mode == "sometimes" and self.accepted % 3 == 0)
                        sel.register(conn, selectors.EVENT_READ, "silent" if silent else "rot13")
                        continue
                    try:
                        data = sock.recv(65536)
                    except ConnectionError:
                        data = b""
                    if not data:
                        sel.unregister(sock)
                        sock.close()
                    elif self.mode == "echo":
                        sock.sendall(data)
                    elif key.data == "rot13":
                        sock.sendall(rot13(data))
        finally:
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_server(request):
    server = FakeServer(request.param)
    yield server
    server.close()


def loadgen(bin_dir: pathlib.Path, port: int, *args: str, timeout: float = 30):
    """Runs loadgen; returns (exit status, its JSON summary or None, stderr, seconds taken)."""
    start = time.monotonic()
    result = subprocess.run([str(program_path(bin_dir, "loadgen")), "--port", str(port), *args],
                            capture_output=True, text=True, timeout=timeout)
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1]) if lines else None
    return result.returncode, summary, result.stderr, time.monotonic() - start


@pytest.mark.parametrize("fake_server", ["rot13"], indirect=True)
def test_a_correct_server_passes(bin_dir, fake_server):
    # The control: the checks below fail for the broken servers, not for every server.
    rc, summary, err, _ = loadgen(bin_dir, fake_server.port, "--connections", "2", "--depth",
                                  "4", "--count", "400", "--timeout", "20")
    assert rc == 0, err
    assert summary["wrong"] == 0 and summary["failed"] == 0 and summary["unanswered"] == 0
    assert summary["lines"] == 400


@pytest.mark.parametrize("fake_server", ["echo"], indirect=True)
def test_a_wrong_answer_fails_the_run(bin_dir, fake_server):
    rc, summary, err, _ = loadgen(bin_dir, fake_server.port, "--duration", "0.3", "--warmup",
                                  "0")
    assert rc == 1
    assert summary["wrong"] >= 1
    assert "wrong answer" in err


@pytest.mark.parametrize("fake_server", ["silent"], indirect=True)
def test_lines_left_unanswered_fail_the_run(bin_dir, fake_server):
    rc, summary, err, seconds = loadgen(bin_dir, fake_server.port, "--connections", "3",
                                        "--depth", "2", "--duration", "0.3", "--warmup", "0",
                                        "--drain", "0.5")
    assert rc == 1
    assert summary["unanswered"] == 6  # 3 connections x 2 lines, none ever answered
    assert "unanswered" in err
    assert seconds < 10  # the drain is bounded


@pytest.mark.parametrize("fake_server", ["silent"], indirect=True)
def test_a_count_that_is_never_reached_ends_at_the_timeout_and_fails(bin_dir, fake_server):
    rc, summary, err, seconds = loadgen(bin_dir, fake_server.port, "--count", "100",
                                        "--timeout", "0.5", "--drain", "0.2")
    assert rc == 1
    assert summary["unanswered"] >= 1
    assert "of 100 lines answered" in err
    assert seconds < 10


@pytest.mark.parametrize("fake_server", ["reset"], indirect=True)
def test_churn_against_a_server_that_drops_connections_fails(bin_dir, fake_server):
    rc, summary, err, _ = loadgen(bin_dir, fake_server.port, "--churn", "--connections", "4",
                                  "--duration", "1", "--warmup", "0", "--drain", "1")
    assert rc == 1, err
    assert summary["failed_in_window"] >= 1
    assert summary["churned"] == 0


@pytest.mark.parametrize("fake_server", ["sometimes"], indirect=True)
def test_churn_lines_left_unanswered_fail_even_when_the_server_is_stopped(bin_dir, fake_server):
    # As bench/run does for W4: a second after loadgen's window the server is stopped, which
    # ends every connection. Those ending with a line unanswered must still fail the run.
    args = [str(program_path(bin_dir, "loadgen")), "--port", str(fake_server.port), "--churn",
            "--connections", "4", "--duration", "0.5", "--warmup", "0", "--drain", "10"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # the window, then the driver's second of grace
        assert proc.poll() is None, "loadgen ended although some lines were never answered"
        fake_server.close()  # the stop: every connection it holds is closed
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summary = json.loads(out.strip().splitlines()[-1])
    assert proc.returncode == 1, err
    assert summary["unanswered"] >= 1
    assert summary["churned"] >= 1  # the other connections were answered and counted


def test_bench_run_fails_when_a_stage_answers_wrong(bin_dir, tmp_path):
    # bench/run's hidden --program-override runs the echo floor in a stage's place: every
    # answer is wrong, so the quick run must fail and name the workload, whatever the numbers.
    stage = lineup.reference("W2")
    result = subprocess.run(
        [str(REPO / "bench" / "run"), "--quick", "--build-dir", str(bin_dir.parent),
         "--out", str(tmp_path), "--stages", stage, "--workloads", "W1",
         "--program-override", f"{stage}=floor"],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "FAILED" in result.stderr and f"W1 {stage}" in result.stderr, result.stderr[-2000:]
    assert "wrong answers" in result.stderr
    saved = json.loads((tmp_path / "quick.json").read_text())
    assert saved["failures"], "the failure is recorded in the results too"


def test_a_pool_gets_as_many_workers_as_connections_held_or_cannot_serve():
    # A worker of a pool serves one connection until it closes: a point that holds more
    # connections open than the pool has workers would leave the extra ones unanswered.
    stage = next(d for d in stages.servers() if d.pool)
    option, default, most = stage.pool["option"], stage.pool["default"], stage.pool["max"]
    assert pool_args(stage.key, default) == []  # its default pool serves it
    assert pool_args(stage.key, None) == []  # short connections (W4)
    assert pool_args(stage.key, most) == [option, str(most)]
    poolless = next(d for d in stages.servers() if not d.pool)
    assert pool_args(poolless.key, most) == []  # only a stage with a pool takes any
    with pytest.raises(CannotServe, match=f"{most + 1} connections held open > pool of at "
                                          f"most {most}"):
        pool_args(stage.key, most + 1)


def test_a_backend_row_and_a_workload_on_request_run_only_where_the_descriptions_say():
    row = next(e for e in lineup.entries() if e.is_backend_row)  # a stage on another backend
    asking = [e.id for e in lineup.entries() if "W3b" in e.facts.get("also", ())]
    pool = next(d for d in stages.servers() if d.pool)
    assert row.facts["only"] and asking
    plan = make_plan(QUICK, [pool.key, *asking, row.id], {"W1", "W3", "W3b"})
    ran = {(s.workload.id, s.stage) for s in plan}
    for workload in ("W1", "W3", "W3b"):
        assert ((workload, row.id) in ran) == (workload in row.facts["only"])
    assert {("W3b", stage) for stage in asking} <= ran
    assert ("W3b", pool.key) not in ran  # W3b runs only the stages that ask for it


def test_every_target_of_the_stages_is_one_the_report_can_judge():
    # Each stage's targets are data (bench.targets in its stage.json): each must name a kind
    # the report evaluates, and each has a row in the report of a run that measured nothing.
    found = targets.targets()
    assert found, "no stage sets a target"
    rows = targets.rows(Results({"results": [], "placements": {}}))
    assert len(rows) == len(found)
    assert all(verdict == "NOT EVALUATED" for *_, verdict in rows)


def test_the_committed_report_is_what_the_committed_results_render_to(tmp_path):
    # docs/bench.md is generated from bench/results/full.json (and bench/analysis.md, appended):
    # re-rendered with the stages' descriptions of today, it must not change (bench/run
    # --report-only regenerates it).
    data = json.loads((REPO / "bench" / "results" / "full.json").read_text())
    analysis = REPO / "bench" / "analysis.md"
    page.render(data, tmp_path / "docs" / "bench.md", tmp_path / "docs" / "images", analysis)
    rendered = (tmp_path / "docs" / "bench.md").read_text().replace(
        f"]({analysis.resolve()})", "](../bench/analysis.md)")  # written outside the repository
    assert rendered == (REPO / "docs" / "bench.md").read_text(), (
        "docs/bench.md is stale: run bench/run --report-only")


def test_a_stage_that_is_not_built_is_reported_as_not_built_not_failed(bin_dir, tmp_path):
    # A stage that needs a library the build may lack (liburing) is not built without it, and
    # the run says so without failing. A bin directory without it stands for such a build.
    stage = next(e for e in lineup.entries() if e.optional_needs)
    fake_bin = tmp_path / "build" / "bin"
    fake_bin.mkdir(parents=True)
    for program in ("floor", "loadgen"):
        (fake_bin / program).symlink_to(program_path(bin_dir, program))
    result = subprocess.run(
        [str(REPO / "bench" / "run"), "--quick", "--build-dir", str(fake_bin.parent),
         "--out", str(tmp_path / "out"), "--stages", stage.id, "--workloads", "W5"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    saved = json.loads((tmp_path / "out" / "quick.json").read_text())
    w5 = [r for r in saved["results"] if r["workload"] == "W5"]
    assert [r["status"] for r in w5] == ["not built"]
    assert not saved["failures"]
    report = (tmp_path / "out" / "bench.md").read_text()
    assert f"| {stage.label} | not built |" in report
