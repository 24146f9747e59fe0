"""The timelines the guides show (docs/images/trace-NN.svg, drawn by scripts/trace) are those of
the code as it is: each stage is traced live here, with the same scripted session, and what its
picture shows must hold (the stage's lesson: `trace.lesson` in its stage.json) and must equal
the facts committed beside the picture (docs/traces/NN.json). Timings are never compared: only
lanes, which call each lane waits in, which calls appear, whether the server spins, and which
client waited for another.

When a stage's code changes what its picture shows, regenerate every timeline and commit them:
    scripts/trace --write --build-dir build
"""
from __future__ import annotations

import json

import pytest

from chapter import stages
from chapter.pytest_plugin import stage_patterns
from chapter.trace import timeline

STAGES = timeline.traceable()  # each program once, libevent's on its default backend (epoll)


def pytest_generate_tests(metafunc):
    """The live test runs for the stages --stage names (CMake passes those this build has),
    all of them by default; the others are not collected, never skipped."""
    if metafunc.function.__name__ == "test_timeline_shows_the_lesson_and_matches_the_committed_one":
        chosen = stage_patterns(metafunc.config)
        traced = [s for s in STAGES
                  if not chosen or any(s.id == p or s.number == p for p in chosen)]
        metafunc.parametrize("traced", traced, ids=[s.number for s in traced])


def test_timeline_shows_the_lesson_and_matches_the_committed_one(traced, bin_dir):
    live = timeline.trace(traced, bin_dir)
    facts = live.facts()
    wrong = timeline.lesson_problems(traced, facts)
    assert not wrong, (f"{traced.program}'s timeline no longer shows its lesson: {wrong}\n"
                       f"{live.text()}")
    committed_path = timeline.facts_file(live)
    assert committed_path.exists(), f"{committed_path} is missing: run scripts/trace --write"
    committed = json.loads(committed_path.read_text())["facts"]
    assert facts == committed, (
        f"{traced.program}'s timeline changed: the committed docs/images/trace-{live.name}.svg "
        f"and {committed_path.relative_to(stages.REPO)} show {committed}, the code now gives "
        f"{facts}. Regenerate them with scripts/trace --write and commit them.\n{live.text()}")


@pytest.mark.parametrize("traced", STAGES, ids=[s.number for s in STAGES])
def test_every_guide_shows_its_stage_timeline(traced):
    image = f"trace-{traced.number}.svg"
    assert (timeline.IMAGES / image).exists(), f"docs/images/{image} is missing"
    for guide in ("README.md", "README.zh-CN.md"):
        text = (traced.description.path / guide).read_text()
        assert f"../docs/images/{image}" in text, f"{traced.program}/{guide} does not show {image}"


def test_every_server_has_a_lesson_for_its_timeline_or_says_why_not():
    for d in stages.servers():
        assert d.trace and d.trace.get("lesson") or not d.has("trace"), (
            f"{d.directory}/stage.json: a trace.lesson (what its timeline shows), or "
            "lacks.trace saying why it has none")


def test_side_by_side_page_has_every_stage_on_one_axis():
    page = timeline.SIDE_BY_SIDE.read_text()
    for traced in STAGES:
        assert f'id="stage-{traced.number}"' in page, f"{traced.number} is not on the page"
    assert page.count("<svg") == len(STAGES)
