"""The guides say only what can be traced: a figure drawn from the benchmarks is a figure of the
committed results, and a function a stage guide names is in the code that guide describes.

Figures. Every ratio (`0.88×`, `1.0x`) and every time in microseconds (`14.8 µs`, `138 微秒`,
both ends of `160 to 260 µs`) written in the prose of a stage guide, of README.md or
README.zh-CN.md, of docs/ERRATA.md, or of the instructors' notes (docs/instructors.md and
docs/instructors.zh-CN.md) must be written, digit for digit, somewhere in the committed
benchmark results: docs/bench.md (bench/results/full.json rendered, with bench/analysis.md) or
bench/results/*.md. Left out: fenced code blocks and inline code spans, where a figure is a
program's output quoted beside the command that printed it (`epoll; round trip 20 us -> 17 us`),
and the few figures a document measures with a command of its own, listed in
MEASURED_BY_THE_GUIDE.

Functions. Every inline code span of a stage guide (NN-name/README*.md) that names a function,
whether written `name()` or as a C or libevent name (`evbuffer_*`, `bufferevent_*`, `event_*`,
`evutil_*`, `epoll_*`, anywhere in the span), and every `common::` name, must occur as an
identifier (not in a comment or a string) in the code the guide describes: its stage's main.cpp,
the main.cpp of every stage it links a diff with (docs/diffs/AA-BB.diff), or common/. Names a
guide mentions on purpose without that code using them are in its stage's description
(`guide.names_not_in_code` in stage.json), each with the reason; so are the figures its guides
measure themselves (`guide.measures`).
"""
from __future__ import annotations

import pathlib
import re

import pytest

from chapter import stages

REPO = stages.REPO
RESULTS = [REPO / "docs" / "bench.md", *sorted((REPO / "bench" / "results").glob("*.md"))]
GUIDES = [g for d in stages.descriptions() for g in sorted(d.path.glob("README*.md"))]
DOCUMENTS = [*GUIDES, REPO / "README.md", REPO / "README.zh-CN.md", REPO / "docs" / "ERRATA.md",
             REPO / "docs" / "instructors.md", REPO / "docs" / "instructors.zh-CN.md"]

# Figures a document other than a guide measured with its own command, shown beside it (a
# guide's are in its stage's description, guide.measures): document path -> figures.
MEASURED_BY_THE_DOCUMENT = {
    # The answers quote 03's exercise 2 (13 µs while spinning) and measure 04's exercise 3 with
    # a script of their own: a table of round trips against idle connections, 0.16 µs more per
    # idle connection, 05 flat at 28 µs.
    "docs/instructors.md": {"13", "0.16", "28"},
    "docs/instructors.zh-CN.md": {"13", "0.16", "28"},
}

NUMBER = r"\d+(?:\.\d+)?"
RATIO = re.compile(rf"(?<![\w.])({NUMBER})[×x](?!\w)")
MICROSECONDS = re.compile(
    rf"(?<![\w.])({NUMBER})(?:\s*(?:to|-|–|到|至)\s*({NUMBER}))?\s*(?:µs|us|微秒)(?![A-Za-z])")
FENCE = re.compile(r"^ *```.*?^ *```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
API = re.compile(r"(?<![\w:.>])((?:evbuffer|bufferevent|event|evutil|epoll|evconnlistener)_\w+)")
CALL = re.compile(r"^(?:std::)?([A-Za-z_]\w*)\(\)$")
COMMON_NAME = re.compile(r"\bcommon::(\w+(?:::\w+)*)")
# Comments and string literals, in one pass so that each hides the other's delimiters.
NOT_CODE = re.compile(r"//[^\n]*|/\*.*?\*/"
                      r"|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL)
DIFF_LINK = re.compile(r"docs/diffs/(\w+)-(\w+)\.diff")


def prose(text: str) -> str:
    """The text a reader takes as statements: no code blocks, no code spans, no link targets."""
    return LINK_TARGET.sub("]", CODE_SPAN.sub(" ", FENCE.sub("", text)))


def figures(text: str) -> tuple[set[str], set[str]]:
    """(ratios, microsecond figures) written in the prose of a document."""
    body = prose(text)
    ratios = {m.group(1) for m in RATIO.finditer(body)}
    times = {n for m in MICROSECONDS.finditer(body) for n in m.groups() if n}
    return ratios, times


def measured() -> tuple[set[str], set[str]]:
    """(ratios, every number) written in the committed results."""
    text = "\n".join(path.read_text() for path in RESULTS)
    return ({m.group(1) for m in RATIO.finditer(text)},
            set(re.findall(rf"(?<![\d.]){NUMBER}", text)))


def identifiers(path: pathlib.Path) -> set[str]:
    return set(re.findall(r"\w+", NOT_CODE.sub(" ", path.read_text())))


def described_code(guide: pathlib.Path) -> set[str]:
    """Identifiers of the code a guide describes: its stage, the stages it diffs with, common/."""
    dirs = {guide.parent}
    for pair in DIFF_LINK.findall(guide.read_text()):
        dirs.update(stages.find(key).path for key in pair)
    sources = [*(d / "main.cpp" for d in dirs), *sorted((REPO / "common").glob("*.[ch]pp"))]
    return set().union(*(identifiers(p) for p in sources if p.exists()))


def named_functions(text: str) -> set[str]:
    """Function names and common:: names in a guide's inline code spans."""
    names = set()
    for match in CODE_SPAN.finditer(FENCE.sub("", text)):
        span = match.group(2).strip()
        names.update(API.findall(span))
        if call := CALL.match(span):
            names.add(call.group(1))
        names.update(m.split("::")[-1] for m in COMMON_NAME.findall(span))
    return names


def test_the_rules_catch_what_they_should():
    ratios, times = figures("09 reaches 0.88× of 10, `0.5×` in code, 1.0x here, 0x80 is a byte;\n"
                            "```\n9.9×\n```\n14.8 µs alone, 160 to 260 us, 138 微秒。")
    assert ratios == {"0.88", "1.0"}
    assert times == {"14.8", "160", "260", "138"}
    assert named_functions("`evbuffer_search_eol`, `recv()`, `common::Listener::accept`, "
                           "`if (evbuffer_get_length(out) > 1) bufferevent_disable(bev, x);`, "
                           "`fd.get()`, `EPOLLET`") == {
        "evbuffer_search_eol", "recv", "accept", "evbuffer_get_length", "bufferevent_disable"}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_benchmark_figures_are_those_of_the_committed_results(document):
    known_ratios, known_numbers = measured()
    ratios, times = figures(document.read_text())
    owner = stages.owner_of(document)
    own = (set(owner.guide.get("measures", ())) if owner else set()) | \
        MEASURED_BY_THE_DOCUMENT.get(str(document.relative_to(REPO)), set())
    unknown = sorted(f"{r}×" for r in ratios - known_ratios) + sorted(
        f"{t} µs" for t in times - known_numbers - own)
    assert not unknown, (f"{document.relative_to(REPO)} quotes figures that are in no committed "
                         f"result (docs/bench.md, bench/results/*.md): {unknown}")


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(REPO)))
def test_functions_a_guide_names_are_in_the_code_it_describes(guide):
    code = described_code(guide)
    allowed = set(stages.owner_of(guide).guide.get("names_not_in_code", {}))
    missing = sorted(n for n in named_functions(guide.read_text()) if n not in code | allowed)
    assert not missing, (f"{guide.relative_to(REPO)} names {missing}, found neither in "
                         f"{guide.parent.name}/main.cpp, nor in the stages it diffs with, nor in "
                         "common/ (or list it in its stage.json's guide.names_not_in_code with "
                         "the reason)")
