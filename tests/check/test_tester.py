"""scripts/check itself: its command line and exit statuses, its reports for graders (JSON and
JUnit XML), the known-good server passing everything, and our own stages passing it both as a
command it starts and as a server started by hand (--connect)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from chapter import stages
from chapter.pytest_plugin import program_path
from tests.check.run import CHECK, REPO, SERVERS, check, python_server
from chapter import procfs
from chapter.rules import RULES
from chapter.server import Program, ServerProcess
from chapter.target import stage_command


def test_no_target_is_a_usage_error_with_exit_status_2():
    result = check()
    assert result.returncode == 2
    assert "give a command after -- (with {port} in it), or --connect HOST:PORT" in result.stderr


def test_a_command_without_port_is_a_usage_error_that_says_how():
    result = check("--", sys.executable, "my_server.py")
    assert result.returncode == 2
    assert "the command must say where the port goes: {port}" in result.stderr


def test_a_bad_connect_address_is_a_usage_error():
    result = check("--connect", "localhost")
    assert result.returncode == 2
    assert "--connect wants HOST:PORT" in result.stderr


def test_a_program_that_exits_at_once_is_named_with_its_status_and_stderr():
    result = check("--", sys.executable, "-c",
                   "import sys; print('cannot open config', file=sys.stderr); sys.exit(3)",
                   "{port}")
    assert result.returncode == 2
    assert "the program never started listening" in result.stdout
    assert "exit status 3 before listening on port" in result.stdout
    assert "| cannot open config" in result.stdout


def test_a_program_that_never_starts_still_gets_json_and_junit_reports(tmp_path):
    result = check("--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"), "--",
                   sys.executable, "-c", "raise SystemExit(3)", "{port}")
    assert result.returncode == 2
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is False and report["rules"] == []
    assert report["error"] == "the program never started listening"
    assert "exit status 3" in report["message"]
    error = ET.parse(tmp_path / "r.xml").getroot().find("./testsuite/testcase/error")
    assert error is not None and "exit status 3" in error.text


def test_interrupting_the_tester_stops_the_program_it_started(tmp_path):
    # A copy under a name of its own, to find its processes by their command line.
    server = tmp_path / "interrupted_server.py"
    server.write_text((SERVERS / "rot13_server.py").read_text())
    with subprocess.Popen([str(CHECK), "--", sys.executable, str(server),
                           "--bind", "{host}", "--port", "{port}"], stdout=subprocess.PIPE,
                          text=True, cwd=REPO) as tester:
        try:
            lines = iter(tester.stdout.readline, "")
            assert any(line.startswith("rule 2") for line in lines)  # well into the run
            tester.send_signal(signal.SIGTERM)
            assert tester.wait(timeout=20) == 130
            rest = tester.stdout.read()
        finally:
            if tester.poll() is None:
                tester.kill()
    assert "INTERRUPTED" in rest and "PASSED" not in rest
    gone = procfs.wait_until(lambda: not running_with(str(server)), 5)
    assert gone, [open(f"/proc/{p}/cmdline").read() for p in running_with(str(server))]


def running_with(text: str) -> list[int]:
    """Processes whose command line contains `text`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and text in open(f"/proc/{entry}/cmdline").read():
                found.append(int(entry))
        except OSError:
            continue
    return found


def test_a_program_that_does_not_exit_on_a_bad_command_line_is_stopped_saying_so():
    # The command line's tests run the program by itself: one that ignores a bad option and
    # runs on must not hang the test, nor be left running.
    program = Program(["sleep", "30"], dict(os.environ))
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"`sleep 30` was still running 0.5 s after it "
                                             r"started \(so it was stopped\): it should exit"):
        program.finish(0.5, "it should exit")
    assert time.monotonic() - started < 5
    assert program.proc.poll() is not None  # killed, and reaped


def test_a_program_that_never_listens_is_stopped_after_the_start_timeout():
    result = check("--", sys.executable, "-c", "import time; time.sleep(60)", "{port}",
                   env={"TEST_START_TIMEOUT": "1"})
    assert result.returncode == 2
    assert re.search(r"not listening on 127\.0\.0\.1:\d+ after 1 s", result.stdout), result.stdout


class ClosedPort:
    """A port on which nothing listens (bound, never listening, for the length of the block)."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_connect_to_a_port_where_nothing_listens_exits_2():
    with ClosedPort() as port:
        result = check("--connect", f"127.0.0.1:{port}")
    assert result.returncode == 2
    assert f"nothing accepts connections at 127.0.0.1:{port}" in result.stdout


def test_the_known_good_server_passes_every_rule_model_and_robustness_test(tmp_path):
    # The Python server in tests/check/servers obeys the whole protocol: an event loop, so it
    # is held to the event model's lessons too (2000 concurrent connections among them).
    result = check("--all", "--robust", "--model", "event", "--json", str(tmp_path / "r.json"),
                   "--", *python_server("rot13_server"))
    assert result.returncode == 0, result.stdout[-4000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is True
    assert [r["rule"] for r in report["rules"]] == [r.title for r in RULES]
    assert all(r["status"] == "pass" for r in report["rules"]), report
    assert "  FAIL " not in result.stdout and "----" not in result.stdout


def test_seed_is_printed_and_repeats_the_same_payloads(tmp_path):
    first = check("--", *python_server("echo_server"))
    seed = re.search(r"payload seed (\d+): `(.*)` repeats this run", first.stdout)
    assert seed, first.stdout
    assert f"--seed {seed.group(1)}" in seed.group(2)
    again = check("--seed", seed.group(1), "--", *python_server("echo_server"))
    # The echo server fails rule 1's first test, on a random line: the same line both times.
    sent = [re.search(r"sent .*", r.stdout).group(0) for r in (first, again)]
    assert sent[0] == sent[1]
    other = check("--seed", str(int(seed.group(1)) + 1), "--", *python_server("echo_server"))
    assert re.search(r"sent .*", other.stdout).group(0) != sent[0]


def test_all_runs_every_rule_and_json_and_junit_say_what_failed(tmp_path):
    json_file, junit_file = tmp_path / "r.json", tmp_path / "r.xml"
    result = check("--all", "--seed", "7", "--json", str(json_file), "--junit", str(junit_file),
                   "--", *python_server("lost_tail_server"))
    assert result.returncode == 1
    assert not re.search(r"^not reached", result.stdout, re.MULTILINE), result.stdout
    report = json.loads(json_file.read_text())
    assert report["passed"] is False and report["seed"] == 7 and report["mode"] == "command"
    status = {r["rule"]: r["status"] for r in report["rules"]}
    # The lost tail breaks rule 4, and the later tests whose input ends without an LF.
    assert status["4 end of input"] == "fail"
    assert [status[r.title] for r in RULES[:3]] == ["pass"] * 3, status
    assert set(status.values()) == {"pass", "fail"}, status
    failed = [t for r in report["rules"] for t in r["tests"] if t["status"] == "fail"]
    assert failed and all("message" in t and t["seconds"] >= 0 for t in failed)
    assert any("the answer stopped short" in t["message"] for t in failed)
    # For graders: each rule's number, the totals, and each failure's hint.
    assert [r["number"] for r in report["rules"]] == [int(r["rule"].split()[0])
                                                      for r in report["rules"]]
    assert report["totals"]["fail"] == len(failed)
    assert sum(report["totals"].values()) == sum(len(r["tests"]) for r in report["rules"])
    assert all(t["hint"] for t in failed)
    assert all("hint" not in t for r in report["rules"] for t in r["tests"]
               if t["status"] != "fail")

    suites = ET.parse(junit_file).getroot()
    assert suites.tag == "testsuites"
    assert [s.get("name") for s in suites] == [f"rule {r['rule']}" for r in report["rules"]]
    cases = suites.findall("./testsuite/testcase")
    assert int(suites.get("tests")) == len(cases) == sum(len(r["tests"]) for r in report["rules"])
    failures = suites.findall("./testsuite/testcase/failure")
    assert len(failures) == int(suites.get("failures")) == len(failed)
    assert all(f.get("message") and "hint (docs/protocol.md#rule-" in f.text for f in failures)


def test_stopping_at_the_first_failing_rule_reports_the_rest_not_reached(tmp_path):
    junit_file = tmp_path / "r.xml"
    result = check("--seed", "7", "--junit", str(junit_file), "--",
                   *python_server("echo_server"))
    assert result.returncode == 1
    assert re.search(r"^not reached: rule 2 line end, 3 long lines, .* 10 command line",
                     result.stdout, re.MULTILINE), result.stdout
    skipped = ET.parse(junit_file).getroot().findall("./testsuite/testcase/skipped")
    assert skipped and all(s.get("message") == "not reached: an earlier rule failed"
                           for s in skipped)


# Each program of ours once, libevent's on their default backend (protocol.* runs the others).
PROGRAMS = stages.soak_stages()


@pytest.mark.parametrize("stage", PROGRAMS, ids=[s.id for s in PROGRAMS])
def test_each_stage_of_ours_passes_as_a_command_with_its_model(stage, bin_dir, tmp_path):
    program_path(bin_dir, stage.program)  # fails, saying so, when the build lacks it
    command = stage_command(stage, bin_dir)
    result = check("--model", stage.model, "--json", str(tmp_path / "r.json"), "--",
                   *command.argv, env=command.env)
    assert result.returncode == 0, result.stdout[-4000:]
    report = json.loads((tmp_path / "r.json").read_text())
    ran = [t for r in report["rules"] for t in r["tests"]]
    assert report["rules"][-1]["rule"] == "11 model" and report["rules"][-1]["status"] == "pass"
    assert all(t["status"] == "pass" for t in ran), [t for t in ran if t["status"] != "pass"]


def test_the_known_good_server_started_by_hand_passes_beside_a_client_of_its_own(tmp_path):
    # With --connect the server may have other clients (a student's nc): the tests count only
    # their own connections. --robust: what needs the process says it was not run.
    server = ServerProcess(SERVERS / "rot13_server.py", wrapper=[sys.executable])
    try:
        with socket.create_connection(server.address) as other:
            result = check("--robust", "--json", str(tmp_path / "r.json"), "--connect",
                           f"127.0.0.1:{server.port}")
            other.sendall(b"still me\n")
            other.settimeout(5)
            assert other.recv(100) == b"fgvyy zr\n"
    finally:
        server.stop()
        server.close()
    assert result.returncode == 0, result.stdout[-4000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is True and report["robust"] is True


@pytest.mark.parametrize("stage", PROGRAMS, ids=[s.id for s in PROGRAMS])
def test_each_stage_of_ours_passes_when_started_by_hand(stage, bin_dir, tmp_path):
    args = ["--threads", str(stage.threads)] if stage.threads else []
    server = ServerProcess(bin_dir / stage.program, env=dict(stage.env), extra_args=args)
    try:
        result = check("--json", str(tmp_path / "r.json"), "--connect",
                       f"127.0.0.1:{server.port}")
        assert server.alive(), server.stderr()[-2000:]
    finally:
        server.stop()
        server.close()
    assert result.returncode == 0, result.stdout[-4000:]
    report = json.loads((tmp_path / "r.json").read_text())
    tests = [t for r in report["rules"] for t in r["tests"]]
    assert report["mode"] == "connect" and report["passed"] is True
    # What needs the process (its /proc entries, its log, restarts) says why it did not run.
    not_run = [t for t in tests if t["status"] == "not run"]
    assert not_run and all(t["message"].startswith("not run: ") for t in not_run)
    assert sum(t["status"] == "pass" for t in tests) >= 20
