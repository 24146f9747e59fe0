"""The benchmarks' own honesty: a server that answers wrong, answers nothing, or drops
connections must fail the run, never win it (issue: bench/loadgen and bench/run).

Each test puts a deliberately broken server in front of bench/loadgen (or bench/run) and checks
that it exits non-zero and says why. The broken servers are small Python threads on loopback,
on ports the OS picks; every wait is bounded. The last tests check the other side of honesty:
a point a stage cannot serve (02c's pool) or a stage that is not built (08 without liburing)
is reported as such, neither hidden nor counted as a failure.

    /usr/bin/python3 -m pytest tests/bench --build-dir=build
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import pathlib
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from conftest import program_path
from support.reference import rot13

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
    # bench/run's hidden --program-override runs the echo floor in 05's place: every answer is
    # wrong, so the quick run must fail and name the workload, whatever the numbers.
    result = subprocess.run(
        ["/usr/bin/python3", str(REPO / "bench" / "run"), "--quick", "--build-dir",
         str(bin_dir.parent),
         "--out", str(tmp_path), "--stages", "05", "--workloads", "W1",
         "--program-override", "05=floor"],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "FAILED" in result.stderr and "W1 05" in result.stderr, result.stderr[-2000:]
    assert "wrong answers" in result.stderr
    saved = json.loads((tmp_path / "quick.json").read_text())
    assert saved["failures"], "the failure is recorded in the results too"


def load_bench_run():
    """bench/run as a module (it is a script without a .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("bench_run", str(REPO / "bench" / "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up while it loads
    loader.exec_module(module)
    return module


def test_02c_gets_a_pool_as_large_as_the_connections_held_or_cannot_serve():
    # A worker of 02c's pool serves one connection until it closes: a point that holds more
    # connections open than the pool has workers would leave the extra ones unanswered.
    bench = load_bench_run()
    assert bench.pool_args("02c", 1) == []  # its default pool of 4 serves it
    assert bench.pool_args("02c", None) == []  # short connections (W4)
    assert bench.pool_args("02c", 1000) == ["--threads", "1000"]
    assert bench.pool_args("02b", 1000) == []  # only 02c has a pool
    with pytest.raises(bench.CannotServe, match="10001 connections held open > pool of at "
                                                "most 1024"):
        bench.pool_args("02c", 10001)
    plan = bench.make_plan(bench.QUICK, ["02c", "04", "05-poll", "07"], {"W1", "W3", "W3b"})
    ran = {(s.workload.id, s.stage) for s in plan}
    assert ("W1", "05-poll") not in ran  # 05-poll only where descriptors are the question
    assert {("W3", "05-poll"), ("W3b", "05-poll"), ("W3b", "04"), ("W3b", "07")} <= ran
    assert ("W3b", "02c") not in ran


def test_a_stage_that_is_not_built_is_reported_as_not_built_not_failed(bin_dir, tmp_path):
    # 08 needs liburing: a build without it has no 08, and the run says so without failing.
    # A bin directory without 08 stands for such a build.
    fake_bin = tmp_path / "build" / "bin"
    fake_bin.mkdir(parents=True)
    for program in ("floor", "loadgen"):
        (fake_bin / program).symlink_to(program_path(bin_dir, program))
    result = subprocess.run(
        ["/usr/bin/python3", str(REPO / "bench" / "run"), "--quick", "--build-dir",
         str(fake_bin.parent), "--out", str(tmp_path / "out"), "--stages", "08",
         "--workloads", "W5"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    saved = json.loads((tmp_path / "out" / "quick.json").read_text())
    w5 = [r for r in saved["results"] if r["workload"] == "W5"]
    assert [r["status"] for r in w5] == ["not built"]
    assert not saved["failures"]
    report = (tmp_path / "out" / "bench.md").read_text()
    assert "| 08 io_uring | not built |" in report
