"""The tester against known-bad programs: each broken server in tests/check/servers has one
classic bug, must fail at the rule that bug breaks, and must print exactly the recorded report
(tests/check/golden/NAME.txt), so that a change to the tester's messages is a reviewed change.
The Python ones each break one rule of rot13_server.py; the C ones are poll_server.c built with
one of its BUG_ macros, as students submit them (a test compiles them), and the default run
must catch every one. So must it a program that cannot even be started. After every run, no
process of the program may be left.

After a deliberate change to the messages: UPDATE_GOLDEN=1 and run this file again, then review
the diff of tests/check/golden/ as part of the change.
"""
from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.check.run import (C_BUGS, REPO, c_server, check, normalized, processes_running,
                             python_server)

GOLDEN = REPO / "tests" / "check" / "golden"
SEED = "1"  # fixed: the recorded reports show payloads from this seed

# Each broken server, and the rule it must fail (docs/protocol.md, chapter/rules.py).
BROKEN = {
    "echo_server": "1 rot13",
    "reordered_server": "2 line end",
    "truncating_server": "3 long lines",
    "lost_tail_server": "4 end of input",
    "early_close_server": "4 end of input",
    "unbounded_server": "5 backpressure",
    "blocking_read_server": "6 independence",
    "crash_on_reset_server": "7 resets",
    "leaking_server": "9 release",
    "no_sigterm_server": "10 command line",
}
BROKEN_IN_C = {
    "blocking_send_server": "5 backpressure",
    "sigpipe_server": "7 resets",
    "leak_on_reset_server": "9 release",
    "deaf_to_sigterm_server": "10 command line",
    "stop_race_server": "10 command line",
}
# Programs that cannot be tested at all: exit status 2, and a recorded report.
UNSTARTABLE = ["missing_program", "not_executable_program"]


def test_every_broken_server_has_a_recording_and_a_rule():
    on_disk = {p.stem for p in (REPO / "tests" / "check" / "servers").glob("*_server.py")}
    assert on_disk - {"rot13_server"} == set(BROKEN)
    assert set(C_BUGS) - {"poll_server"} == set(BROKEN_IN_C)
    assert {p.stem for p in GOLDEN.glob("*.txt")} == {*BROKEN, *BROKEN_IN_C, *UNSTARTABLE,
                                                       "poll_server_from_its_folder"}


def recorded(name: str, output: str) -> None:
    """The report must be the recorded one (UPDATE_GOLDEN=1 records it, for review)."""
    report = normalized(output)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(report)
    assert golden.exists(), f"no recording: run with UPDATE_GOLDEN=1 and review {golden}"
    assert report == golden.read_text(), (
        f"scripts/check's report for {name} differs from {golden.relative_to(REPO)}; if the "
        f"change is meant, UPDATE_GOLDEN=1 rewrites it for review.\n{report}")


def failing_rules(output: str) -> list[str]:
    return re.findall(r"^rule (.+)\n(?:  (?:pass|----).*\n(?:        .*\n)*)*  FAIL ", output,
                      re.MULTILINE)


@pytest.mark.parametrize("name", sorted(BROKEN_IN_C))
def test_broken_c_server_fails_the_default_run_at_its_rule_and_leaves_nothing(name, tmp_path):
    program = c_server(name, tmp_path)
    started = time.monotonic()
    result = check("--seed", SEED, "--", str(program), "--bind", "{host}", "--port", "{port}")
    took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert failing_rules(result.stdout) == [BROKEN_IN_C[name]], result.stdout
    assert took < 60, f"the run took {took:.0f} s"
    assert not processes_running(str(program)), "a process of the program outlived the run"
    recorded(name, result.stdout)


def test_a_program_that_does_not_exist_is_exit_status_2_with_reports(tmp_path):
    result = check("--seed", SEED, "--json", str(tmp_path / "r.json"), "--junit",
                   str(tmp_path / "r.xml"), "--", "./missing_server", "--port", "{port}",
                   cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (tmp_path / "r.json").exists() and (tmp_path / "r.xml").exists()
    recorded("missing_program", result.stdout)


def test_a_program_that_is_not_executable_is_exit_status_2_with_reports(tmp_path):
    program = tmp_path / "server.py"
    program.write_text("print('not executable')\n")
    result = check("--seed", SEED, "--json", str(tmp_path / "r.json"), "--", "./server.py",
                   "--port", "{port}", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["error"]
    recorded("not_executable_program", result.stdout)


def test_a_student_runs_it_from_their_own_folder_with_a_relative_path(tmp_path):
    c_server("poll_server", tmp_path)
    result = check("--seed", SEED, "--", "./poll_server", "--bind", "{host}", "--port", "{port}",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not processes_running(str(tmp_path / "poll_server"))
    recorded("poll_server_from_its_folder", result.stdout)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_server_fails_at_its_rule_with_the_recorded_report(name):
    result = check("--seed", SEED, "--", *python_server(name))
    assert result.returncode == 1, result.stdout + result.stderr
    # The first failing step is the bug's rule, and the run stopped there.
    assert failing_rules(result.stdout) == [BROKEN[name]], result.stdout
    assert result.stdout.count("  FAIL ") == 1, result.stdout
    assert not processes_running(f"tests/check/servers/{name}.py"), "a process outlived the run"
    recorded(name, result.stdout)
