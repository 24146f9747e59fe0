"""The timelines the guides show (docs/images/trace-NN.svg, drawn by scripts/trace) are those of
the code as it is: each stage is traced live here, with the same scripted session, and what its
picture shows must hold (the stage's lesson) and must equal the facts committed beside the
picture (docs/traces/NN.json). Timings are never compared: only lanes, which call each lane
waits in, which calls appear, whether the server spins, and which client waited for another.

When a stage's code changes what its picture shows, regenerate every timeline and commit them:
    scripts/trace --write --build-dir build
"""
from __future__ import annotations

import json
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import trace_lib  # noqa: E402
from conftest import stage_patterns  # noqa: E402

STAGES = trace_lib.pick([])  # each program once, libevent's on its default backend (epoll)


def lesson(number: str, facts: dict) -> list[str]:
    """What a stage's timeline must show, as the guide says it; the list of what does not."""
    wrong = []

    def expect(what: str, got, wanted) -> None:
        if got != wanted:
            wrong.append(f"{what}: got {got!r}, expected {wanted!r}")

    lanes, waiting = facts["lanes"], facts["waiting_lanes"]
    clients = len(trace_lib.CLIENTS)
    if number == "02":  # a process per client, each blocked in its own recv
        expect("lanes", lanes, {"process": 1 + clients, "thread": 0})
        expect("waiting lanes", waiting, ["process in accept4"] + ["process in recvfrom"] * clients)
    elif number == "02b":  # a thread per client
        expect("lanes", lanes, {"process": 1, "thread": clients})
        expect("waiting lanes", waiting, ["process in accept4"] + ["thread in recvfrom"] * clients)
    elif number == "02c":  # a pool of two for four clients: two wait for the idle one to leave
        expect("lanes", lanes, {"process": 1, "thread": 2})
        expect("answered only after the idle client left",
               facts["answers_after_the_idle_client_left"], ["B", "C"])
    else:
        expect("lanes", lanes, {"process": 1, "thread": 0})
    if number == "03":  # never waits: failing calls outnumber the useful ones a hundredfold
        expect("waiting lanes", waiting, [])
        expect("spins", facts["spins"], True)
    else:
        expect("spins", facts["spins"], False)
    if number != "02c":
        expect("answered only after the idle client left",
               facts["answers_after_the_idle_client_left"], [])
    waits_in = {"04": "pselect6", "05": "epoll_wait", "06": "epoll_wait", "07": "epoll_wait",
                "08": "io_uring_enter"}
    if number in waits_in:  # one lane, waiting in one call for every client
        expect("waiting lanes", waiting, [f"process in {waits_in[number]}"])
        expect("waiting calls", facts["waiting_calls"], [waits_in[number]])
    if number == "08":  # the kernel does the IO: no recv or send at all
        expect("recv and send calls", facts["socket_io"], [])
    elif not facts["socket_io"]:
        wrong.append("no recv or send call at all")
    mods = facts["epoll_ctl"].get("MOD", "none")
    if number in ("05", "07"):  # interest registered once per connection
        expect("EPOLL_CTL_MOD calls", mods, "none")
    if number == "06":  # bufferevents: EPOLLOUT armed and disarmed around each answer written
        expect("EPOLL_CTL_MOD calls", mods, "a pair per answer or more")
    return wrong


def pytest_generate_tests(metafunc):
    """The live test runs for the stages --stage names (CMake passes those this build has),
    all of them by default; the others are not collected, never skipped."""
    if metafunc.function.__name__ == "test_timeline_shows_the_lesson_and_matches_the_committed_one":
        chosen = stage_patterns(metafunc.config)
        traced = [s for s in STAGES
                  if not chosen or any(s.id == p or s.number == p for p in chosen)]
        metafunc.parametrize("traced", traced, ids=[s.number for s in traced])


def test_timeline_shows_the_lesson_and_matches_the_committed_one(traced, bin_dir):
    live = trace_lib.trace(traced, bin_dir)
    facts = live.facts()
    wrong = lesson(traced.number, facts)
    assert not wrong, (f"{traced.program}'s timeline no longer shows its lesson: {wrong}\n"
                       f"{live.text()}")
    committed_path = trace_lib.facts_file(live)
    assert committed_path.exists(), f"{committed_path} is missing: run scripts/trace --write"
    committed = json.loads(committed_path.read_text())["facts"]
    assert facts == committed, (
        f"{traced.program}'s timeline changed: the committed docs/images/trace-{live.name}.svg "
        f"and {committed_path.relative_to(REPO)} show {committed}, the code now gives {facts}. "
        f"Regenerate them with scripts/trace --write and commit them.\n{live.text()}")


@pytest.mark.parametrize("traced", STAGES, ids=[s.number for s in STAGES])
def test_every_guide_shows_its_stage_timeline(traced):
    image = f"trace-{traced.number}.svg"
    assert (trace_lib.IMAGES / image).exists(), f"docs/images/{image} is missing"
    for guide in ("README.md", "README.zh-CN.md"):
        text = (REPO / traced.program / guide).read_text()
        assert f"../docs/images/{image}" in text, f"{traced.program}/{guide} does not show {image}"


def test_side_by_side_page_has_every_stage_on_one_axis():
    page = trace_lib.SIDE_BY_SIDE.read_text()
    for traced in STAGES:
        assert f'id="stage-{traced.number}"' in page, f"{traced.number} is not on the page"
    assert page.count("<svg") == len(STAGES)
