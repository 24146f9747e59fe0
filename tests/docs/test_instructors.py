"""docs/instructors.md and its Chinese twin agree with the guides and the tests: every exercise of
every stage guide has an answer (a heading that repeats the exercise's title), and every test
the pages name exists."""
from __future__ import annotations

import pathlib
import re

import pytest

from chapter import stages

REPO = stages.REPO
PAGES = {"en": (REPO / "docs" / "instructors.md", "README.md", "## Exercises",
                "#### Exercise {n}: {title}"),
         "zh-CN": (REPO / "docs" / "instructors.zh-CN.md", "README.zh-CN.md", "## 练习",
                   "#### 练习 {n}：{title}")}
EXERCISE = re.compile(r"^(\d+)\. \*\*(.+?)\*\*", re.MULTILINE)
CITED = re.compile(r"`((?:tests/[\w/]+|\d\d[a-z]?-[\w-]+)/\w+\.py)::(test_\w+)(?:\[[^\]]*\])?`")
BARE = re.compile(r"`(test_\w+)(?:\[[^\]]*\])?`")


def exercises(guide: pathlib.Path, section: str) -> list[tuple[str, str]]:
    """(number, title) of each exercise in the guide's exercises section; the title without the
    full stop that ends it in bold."""
    text = guide.read_text()
    if section not in text:
        return []
    body = text.split(section, 1)[1]
    body = re.split(r"^## ", body, maxsplit=1, flags=re.MULTILINE)[0]
    return [(n, title.rstrip(".。")) for n, title in EXERCISE.findall(body)]


def guides(name: str) -> list[pathlib.Path]:
    return [d.path / name for d in stages.descriptions() if (d.path / name).exists()]


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_every_exercise_of_every_guide_has_an_answer(lang):
    page, guide_name, section, heading = PAGES[lang]
    text = page.read_text()
    missing = []
    for guide in guides(guide_name):
        stage = guide.parent.name
        if f"### {stage}" not in text:
            missing.append(f"{stage}: no section")
            continue
        answers = text.split(f"### {stage}", 1)[1].split("\n### ", 1)[0]
        for n, title in exercises(guide, section):
            if heading.format(n=n, title=title) not in answers:
                missing.append(f"{stage}: {heading.format(n=n, title=title)}")
    assert not missing, f"{page.relative_to(REPO)} lacks answers:\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", sorted(PAGES))
def test_every_test_the_page_names_exists(lang):
    page = PAGES[lang][0]
    text = page.read_text()
    every = set()
    for path in [*(REPO / "tests").rglob("*.py"),
                 *(p for d in stages.descriptions() for p in d.path.glob("test_*.py"))]:
        every.update(re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE))
    unknown = []
    for path, name in CITED.findall(text):
        source = REPO / path
        if not source.exists() or not re.search(rf"^def {name}\b", source.read_text(),
                                                re.MULTILINE):
            unknown.append(f"{path}::{name}")
    unknown += [name for name in BARE.findall(text) if name not in every]
    assert CITED.search(text), f"{page.relative_to(REPO)} names no test"
    assert not unknown, f"{page.relative_to(REPO)} names tests that do not exist: {unknown}"
