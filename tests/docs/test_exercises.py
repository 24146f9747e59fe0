"""The exercises of the guides and their machine-readable form (each stage's exercises.toml,
run by scripts/exercise in the slow tier) agree, in the default tier, without running anything:

- every exercise of a guide has its form, with the same title, in the same order, and the
  Chinese guide has as many exercises;
- what a form promises a command shows (`shows`), and the guide's own wording of a number
  (`said`), are quoted by that exercise in both languages: the guide quotes the promise;
- every change still applies: the text it replaces, deletes or inserts after is in its file
  exactly once today, and each later edit once the earlier ones are made, in the order the
  runner makes them (the exercise's changes, the edits among its steps, the answer's).
"""
from __future__ import annotations

import re

import pytest

from chapter import exercise, stages

EXERCISE = re.compile(r"^(\d+)\. \*\*(.+?)\*\*(.*?)(?=^\d+\. \*\*|\Z)", re.MULTILINE | re.DOTALL)
SECTIONS = {"README.md": "## Exercises", "README.zh-CN.md": "## 练习"}
GUIDED = [d for d in stages.descriptions() if (d.path / "README.md").exists()]


def items(guide, section: str) -> list[tuple[str, str]]:
    """(title, text) of each numbered exercise in the guide's exercises section."""
    text = guide.read_text()
    body = text.split(section, 1)[1] if section in text else ""
    body = re.split(r"^## |^\*\*(?:Check the stage|检查这个阶段)", body, maxsplit=1,
                    flags=re.MULTILINE)[0]
    return [(title.rstrip(".。"), title + rest) for _, title, rest in EXERCISE.findall(body)]


def flat(text: str) -> str:
    """The text with its line breaks and indentation folded, as a quote is compared."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("d", GUIDED, ids=lambda d: d.key)
def test_every_exercise_has_its_form_with_the_guides_title(d):
    forms = exercise.load(d)
    english = items(d.path / "README.md", SECTIONS["README.md"])
    chinese = items(d.path / "README.zh-CN.md", SECTIONS["README.zh-CN.md"])
    assert [e.title for e in forms] == [t for t, _ in english], (
        f"{d.directory}: the exercises of README.md and of exercises.toml differ")
    assert len(chinese) == len(english), f"{d.directory}: README.zh-CN.md has {len(chinese)}"


def promised_quotes(e: exercise.Exercise) -> list[str]:
    quotes = []
    for step in [*e.steps, *e.answer_steps]:
        if step.get("quoted", True):
            quotes += step.get("shows", [])
        quotes += [n["said"] for n in step.get("numbers", []) if "said" in n]
    return quotes


@pytest.mark.parametrize("guide", list(SECTIONS))
@pytest.mark.parametrize("d", GUIDED, ids=lambda d: d.key)
def test_each_guide_quotes_what_its_exercises_promise(d, guide):
    written = items(d.path / guide, SECTIONS[guide])
    missing = []
    for e in exercise.load(d):
        text = flat(written[e.number - 1][1]) if e.number <= len(written) else ""
        missing += [f"{e.name}: {q!r}" for q in promised_quotes(e) if flat(q) not in text]
    assert not missing, (f"{d.directory}/{guide} does not quote what exercises.toml promises "
                         "(change both together):\n" + "\n".join(missing))


@pytest.mark.parametrize("d", GUIDED, ids=lambda d: d.key)
def test_every_change_still_applies_to_the_code_as_it_is(d, tmp_path):
    problems = []
    for e in exercise.load(d):
        edits = [*e.changes, *(s["change"] for s in e.steps if "change" in s), *e.answer,
                 *(s["change"] for s in e.answer_steps if "change" in s)]
        for name in {c["file"] for c in edits}:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text((stages.REPO / name).read_text())
        try:
            for change in edits:
                exercise.apply(tmp_path, change)
        except exercise.Failure as failure:
            problems.append(f"{e.name}: {failure}")
    assert not problems, "\n".join(problems)
