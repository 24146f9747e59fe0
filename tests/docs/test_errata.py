"""docs/ERRATA.md and the code agree: every departure marked in the code names an entry, every
entry is marked in the code, and every test an entry cites exists."""
from __future__ import annotations

import re

from chapter import stages

REPO = stages.REPO
ERRATA = (REPO / "docs" / "ERRATA.md").read_text()
ENTRY = re.compile(r"^\| (E0\d\.\d+) \|", re.MULTILINE)
MARKER = re.compile(r"\[(E0\d\.\d+(?:, E0\d\.\d+)*)\]")


def entries() -> dict[str, str]:
    """Entry id -> its table row."""
    return {m.group(1): ERRATA[m.start():ERRATA.index("\n", m.start())]
            for m in ENTRY.finditer(ERRATA)}


def markers() -> dict[str, set[str]]:
    """Source file -> the entry ids it marks: each stage's main.cpp, and common/, where the
    fixes that every stage shares live (the listener's backlog, the default address)."""
    found = {}
    sources = [*(d.path / "main.cpp" for d in stages.descriptions()),
               *REPO.glob("common/*.[ch]pp")]
    for source in sorted(sources):
        ids = set()
        for m in MARKER.finditer(source.read_text()):
            ids.update(i.strip() for i in m.group(1).split(","))
        found[str(source.relative_to(REPO))] = ids
    return found


def test_every_marker_in_the_code_has_an_entry():
    known = entries()
    for stage, ids in markers().items():
        assert ids <= known.keys(), f"{stage} marks {sorted(ids - known.keys())}, not in ERRATA"


def test_every_entry_is_marked_in_the_code():
    # Fixes no single line can show are listed under "Also fixed", without an entry id.
    marked = {i for ids in markers().values() for i in ids}
    missing = sorted(set(entries()) - marked)
    assert not missing, f"ERRATA entries marked nowhere in the code: {missing}"


def test_every_cited_test_exists():
    defined = set()
    for path in [*(REPO / "tests").rglob("*.py"),
                 *(p for d in stages.descriptions() for p in d.path.glob("test_*.py"))]:
        defined.update(re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE))
    for path in (REPO / "tests" / "unit").rglob("*.cpp"):
        for suite, name in re.findall(r"^TEST(?:_F|_P)?\((\w+), (\w+)\)", path.read_text(),
                                      re.MULTILINE):
            defined.add(f"{suite}.{name}")
    for entry, row in entries().items():
        cited = re.findall(r"`((?:test_\w+)|(?:[A-Z]\w+\.\w+))(?:\[[^\]]*\])?`", row)
        assert cited, f"{entry} cites no test"
        unknown = [c for c in cited if c not in defined]
        assert not unknown, f"{entry} cites tests that do not exist: {unknown}"
