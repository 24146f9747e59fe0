"""The tester against known-bad programs: each broken server in tests/check/servers has one
classic bug, must fail at the rule that bug breaks, and must print exactly the recorded report
(tests/check/golden/NAME.txt), so that a change to the tester's messages is a reviewed change.

After a deliberate change to the messages: UPDATE_GOLDEN=1 and run this file again, then review
the diff of tests/check/golden/ as part of the change.
"""
from __future__ import annotations

import os
import re

import pytest

from tests.check.run import REPO, check, normalized, python_server

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


def test_every_broken_server_has_a_recording_and_a_rule():
    on_disk = {p.stem for p in (REPO / "tests" / "check" / "servers").glob("*_server.py")}
    assert on_disk - {"rot13_server"} == set(BROKEN)
    assert {p.stem for p in GOLDEN.glob("*.txt")} == set(BROKEN)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_server_fails_at_its_rule_with_the_recorded_report(name):
    result = check("--seed", SEED, "--", *python_server(name))
    assert result.returncode == 1, result.stdout + result.stderr
    # The first failing step is the bug's rule, and the run stopped there.
    failing = re.findall(r"^rule (.+)\n(?:  (?:pass|----).*\n(?:        .*\n)*)*  FAIL ",
                         result.stdout, re.MULTILINE)
    assert failing == [BROKEN[name]], result.stdout
    assert result.stdout.count("  FAIL ") == 1, result.stdout
    report = normalized(result.stdout)
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(report)
    assert golden.exists(), f"no recording: run with UPDATE_GOLDEN=1 and review {golden}"
    assert report == golden.read_text(), (
        f"scripts/check's report for {name} differs from {golden.relative_to(REPO)}; if the "
        f"change is meant, UPDATE_GOLDEN=1 rewrites it for review.\n{report}")
