"""Writes the "Figures measured" table of docs/robustness.md from what the robustness tests
recorded in a run of the suite (each appends its measurements to <builddir>/test-figures.jsonl).

    scripts/test                                  # or: ctest --preset ci; ctest --preset asan
    scripts/robustness-figures build/ci build/asan

The table goes between the two `figures` comment lines of docs/robustness.md; the rest of the
page is left alone. A stage the run did not measure shows as "–"; a stage run on several
libevent backends shows one figure per backend, separated by "·".
"""
from __future__ import annotations

import json
import pathlib
import re
import sys

from chapter import stages

REPO = stages.REPO
PAGE = REPO / "docs" / "robustness.md"
BEGIN, END = "<!-- figures: begin (scripts/robustness-figures) -->", "<!-- figures: end -->"


def load(build: pathlib.Path) -> dict[tuple[str, str], dict]:
    """(test name without its parameter, stage id) -> the last record of that test."""
    figures = {}
    for line in (build / "test-figures.jsonl").read_text().splitlines():
        record = json.loads(line)
        match = re.fullmatch(r"(\w+)\[(.+)\]", record["test"])
        if match:
            figures[(match.group(1), match.group(2))] = record
    return figures


def mib(n: float) -> str:
    return f"{n / 2**20:.1f}"


FLOOD = "test_flooding_client_stalls_only_itself_and_gets_every_byte"
LIMIT = "test_server_at_its_descriptor_limit_neither_dies_nor_spins"
SOAK = "test_mixed_clients_for_a_while_leave_nothing_behind"
SESSIONS = ("normal", "pipelined", "flood", "reset", "idle")

# One row per measurement: its label, the test, and how to show one record of it.
ROWS = [
    ("peak resident memory under the 256 MiB flood, MiB", "ci", FLOOD,
     lambda r: mib(r["peak_rss_bytes"])),
    ("the same, asan build, MiB", "asan", FLOOD, lambda r: mib(r["peak_rss_bytes"])),
    ("MiB the flooder got in before its sends stalled", "ci", FLOOD,
     lambda r: mib(r["stalled_after_bytes"])),
    ("worst ping beside the flood, ms", "ci", FLOOD, lambda r: f"{r['other_client_worst_ms']:.1f}"),
    ("CPU-seconds per second at the descriptor limit", "ci", LIMIT,
     lambda r: f"{r['cpu_seconds_per_second_at_limit']:.2f}"),
    ("of 100 clients at 64 descriptors: served / closed at once", "ci", LIMIT,
     lambda r: f"{r['served']} / {r['refused']}"),
    ("soak: seconds, client sessions completed", "ci", SOAK,
     lambda r: f"{r['seconds']:.0f} s, {sum(r[k] for k in SESSIONS)}"),
    ("soak: answer bytes checked (every one right)", "ci", SOAK, lambda r: f"{r['bytes'] / 1e9:.2f} GB"),
    ("soak: resident memory before / peak / after, MiB", "ci", SOAK,
     lambda r: f"{mib(r['rss_before'])} / {mib(r['peak_rss_bytes'])} / {mib(r['rss_after'])}"),
    ("the same, asan build (its soak is shorter)", "asan", SOAK,
     lambda r: f"{r['seconds']:.0f} s: {mib(r['rss_before'])} / {mib(r['peak_rss_bytes'])} / "
               f"{mib(r['rss_after'])}"),
]


def table(builds: dict[str, dict]) -> str:
    # Columns: each stage number; a stage run on several backends shows "a / b / c" in one cell.
    columns: dict[str, list[str]] = {}
    for stage in stages.server_stages():
        columns.setdefault(stage.number, []).append(stage.id)
    header = ["", *(f"{n} ({' · '.join(i.split('-', 1)[1] for i in ids)})" if len(ids) > 1
                    else n for n, ids in columns.items())]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, build, test, show in ROWS:
        cells = [label]
        for ids in columns.values():
            shown = [show(builds[build][(test, i)]) for i in ids if (test, i) in builds[build]]
            cells.append(" · ".join(shown) if shown else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    builds = {"ci": load(pathlib.Path(argv[0])), "asan": load(pathlib.Path(argv[1]))}
    text = PAGE.read_text()
    if BEGIN not in text or END not in text:
        print(f"{PAGE}: the figures markers are missing", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    PAGE.write_text(head + BEGIN + "\n" + table(builds) + "\n" + END + tail)
    print(f"{PAGE.relative_to(REPO)}: figures table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
