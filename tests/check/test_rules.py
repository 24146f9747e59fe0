"""docs/protocol.md and the steps of scripts/check agree: every rule has its anchor and name,
and the table "Where each rule is tested" lists exactly the tests marked with each rule."""
from __future__ import annotations

import importlib.util
import re

from chapter import stages
from chapter.rules import RULES
from tests.check.run import REPO

PROTOCOL = (REPO / "docs" / "protocol.md").read_text()
SUITES = [REPO / "tests" / "protocol", REPO / "tests" / "robustness", *stages.test_directories()]


def marked_tests() -> dict[int, set[str]]:
    """Rule number -> tests marked with it, as the table names them: `name` for
    test_protocol.py, `file.py::name` for the others of tests/, `NN-name/file.py::name` for a
    stage's own."""
    found: dict[int, set[str]] = {}
    for suite in SUITES:
        for path in sorted(suite.glob("test_*.py")):
            spec = importlib.util.spec_from_file_location(f"rules_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module_marks = getattr(module, "pytestmark", [])
            module_marks = module_marks if isinstance(module_marks, list) else [module_marks]
            for name, function in vars(module).items():
                if not name.startswith("test_") or not callable(function):
                    continue
                marks = [m for m in getattr(function, "pytestmark", []) if m.name == "rule"]
                marks = marks or [m for m in module_marks if m.name == "rule"]
                assert marks, f"{path.name}::{name} has no rule mark"
                shown = (name if path.name == "test_protocol.py" else
                         f"{path.parent.name}/{path.name}::{name}" if stages.owner_of(path)
                         else f"{path.name}::{name}")
                found.setdefault(marks[0].args[0], set()).add(shown)
    return found


def test_every_rule_has_its_anchor_and_name_in_protocol_md():
    for rule in RULES[:10]:
        assert re.search(rf'^{rule.number}\. <a id="rule-{rule.number}"></a>\*\*{rule.name}[:.]',
                         PROTOCOL, re.MULTILINE), f"rule {rule.title} not found as such"


def test_the_table_lists_exactly_the_tests_marked_with_each_rule():
    table = {}
    for row in re.findall(r"^\| (\d+) [a-z0-9 ]+ \| (.+) \|$", PROTOCOL, re.MULTILINE):
        table[int(row[0])] = set(re.findall(r"`([\w.:/-]+)`", row[1]))
    marked = {n: tests for n, tests in marked_tests().items() if n <= 10}
    assert table == marked


def test_every_hint_points_at_a_place_that_exists():
    for rule in RULES:
        path, _, anchor = rule.anchor.partition("#")
        text = (REPO / path).read_text()
        assert f'id="{anchor}"' in text or f"{{#{anchor}}}" in text, (
            f"rule {rule.title}'s hint points at {rule.anchor}, which does not exist")
