"""Who waits where: runs one scripted session against a stage under strace and draws its
system calls as a timeline, one lane per server process or thread, the clients on top.

    scripts/trace 04                          # build/.../traces/trace-04.svg, and a summary
    scripts/trace 02 03 04 05 --html out.html # several stages on one time axis, one page
    scripts/trace 05-poll --svg poll.svg      # libevent on another backend (default: epoll)
    scripts/trace --write                     # regenerate the committed timelines (all stages)

The session (chapter/trace/session.py): a client that connects and stays idle, two that
send a line each at staggered times, and one that sends a long line in three pieces and
half-closes; about a second and a half. The summary counts the system calls by name, the time
each lane spent blocked (in calls that lasted 1 ms or more) and busy, and the calls that failed
with EAGAIN.

--write regenerates docs/images/trace-NN.svg (every guide shows its stage's),
docs/traces/NN.json (the facts tests/docs/test_traces.py checks against a live run, and this
run's numbers) and docs/traces/side-by-side.html (the docs site links it).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from chapter import stages
from chapter.trace import draw, timeline


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/trace", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:8]))
    parser.add_argument("stage", nargs="*",
                        help="stages to trace (of "
                        f"{', '.join(s.id for s in stages.server_stages())}; a key alone: "
                        "its default backend); default: every one")
    parser.add_argument("--build-dir", default=str(stages.default_build_dir()),
                        help="CMake build directory whose bin/ holds the stages (default: "
                             "$BUILD_DIR, else build/, the one scripts/tour makes)")
    parser.add_argument("--svg", metavar="FILE",
                        help="the timeline's SVG, for one stage (default: "
                             "BUILD_DIR/traces/trace-NN.svg, one per stage)")
    parser.add_argument("--html", metavar="FILE",
                        help="also a page with every stage traced on one time axis")
    parser.add_argument("--keep-strace", metavar="DIR",
                        help="leave strace's own output in DIR (NN.strace)")
    parser.add_argument("--write", action="store_true",
                        help="regenerate the committed docs/images/trace-NN.svg, "
                             "docs/traces/NN.json and docs/traces/side-by-side.html")
    args = parser.parse_args()
    try:
        chosen = timeline.pick(args.stage)
    except ValueError as e:
        parser.error(str(e))
    if args.svg and len(chosen) != 1:
        parser.error("--svg names one file: trace one stage, or use --html for several")
    try:
        bin_dir = stages.bin_dir(args.build_dir)
    except FileNotFoundError as e:
        print(f"trace: {e}", file=sys.stderr)
        return 1

    traces = []
    for stage in chosen:
        print(f"trace: {stage.program} ...", file=sys.stderr, flush=True)
        try:
            traces.append(timeline.trace(stage, bin_dir,
                                         pathlib.Path(args.keep_strace) if args.keep_strace
                                         else None))
        except (AssertionError, RuntimeError, OSError) as e:
            print(f"trace: {stage.program}: {e}", file=sys.stderr)
            return 1
        print(traces[-1].text())

    # One time axis for every picture of a run, so that they compare at a glance.
    length = max(t.length for t in traces)
    pictures = {t.name: draw.svg(t, length) for t in traces}
    written = []
    for t in traces:
        if args.write:
            target = timeline.IMAGES / f"trace-{t.name}.svg"
            facts = timeline.facts_file(t)
            facts.parent.mkdir(parents=True, exist_ok=True)
            facts.write_text(timeline.committed_json(t))
            written.append(facts)
        elif args.svg:
            target = pathlib.Path(args.svg)
        else:
            target = pathlib.Path(args.build_dir) / "traces" / f"trace-{t.name}.svg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pictures[t.name])
        written.append(target)
    pages = [pathlib.Path(args.html)] if args.html else []
    if args.write:
        pages.append(timeline.SIDE_BY_SIDE)
    for page in pages:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(draw.side_by_side(traces, pictures))
        written.append(page)
    for path in written:
        print(f"trace: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
