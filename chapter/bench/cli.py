"""bench/run's command line: what to measure, where the results go, and the run from start to
report (chapter/bench/__init__.py says what is measured and why)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import resource
import shlex
import sys
import time

from chapter.bench import lineup
from chapter.bench.driver import clock, describe, machine, run_plan
from chapter.bench.page import render
from chapter.bench.plan import make_plan, selectable
from chapter.bench.processes import Context
from chapter.bench.sizes import (FULL, IDLE_CPU_ZERO, IDLE_OPEN_LIMIT, PLACEMENTS, QUICK,
                                 W2_PLACEMENTS, W3B_IDLE)
from chapter import stages
from chapter.stages import REPO

BENCH = REPO / "bench"


def spoken_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def where_each_runs() -> str:
    """Which entries take part where not all do, as the registry says: "ID runs only in W3
    and W3b, and W3b runs only ID, ID and ID"."""
    said = [f"{e.id} runs only in {spoken_list(e.facts['only'])}"
            for e in lineup.entries() if e.facts.get("only")]
    said += [f"{w.id} runs only {spoken_list([e.id for e in lineup.entries() if w.runs(e.id)])}"
             for w in selectable() if w.on_request]
    return ", and ".join(said)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ids = lineup.ids()
    ap = argparse.ArgumentParser(
        prog="bench/run", description="Measure every server stage against the floor and "
        f"{lineup.reference('W2')}, and write the report (chapter/bench/__init__.py says what "
        "is measured and why).")
    ap.add_argument("--quick", action="store_true",
                    help="reduced sizes, under 2.5 minutes; writes only under --out")
    ap.add_argument("--out", type=pathlib.Path, default=None,
                    help="with --quick: directory for its JSON and bench.md "
                    "(default build/bench-quick)")
    ap.add_argument("--build-dir", type=pathlib.Path, default=None,
                    help="where the programs were built (default: $BUILD_DIR, else build/, "
                    "the release preset's build)")
    ap.add_argument("--name", default=None,
                    help="name of the results file (default: full, or partial with --stages "
                    "or --workloads, or quick with --quick)")
    ap.add_argument("--stages", default=",".join(ids),
                    help=f"comma-separated stage ids (default all: {','.join(ids)}); "
                    + where_each_runs())
    workloads = ",".join(w.id for w in selectable())
    ap.add_argument("--workloads", default=workloads,
                    help=f"comma-separated workloads (default all: {workloads})")
    ap.add_argument("--placement", choices=list(W2_PLACEMENTS), default="pinned",
                    help="where W2's server and loadgen run: pinned to separate cores (CPU 0 "
                    "and 1, the default), unpinned (the scheduler places them), or both")
    ap.add_argument("--rounds", type=int, default=None,
                    help="run the whole plan this many times (default 3, 1 with --quick); "
                    "the report takes each point's median round")
    ap.add_argument("--connections", default=None,
                    help="comma-separated connection counts of W2's points (default "
                    "1,10,50,100,1000; 1,50 with --quick), e.g. 10,100,1000,5000")
    ap.add_argument("--report-only", action="store_true",
                    help="do not measure: re-render the report from the saved JSON of --name")
    # Hidden, for testing the failure path: --program-override ID=PROGRAM runs PROGRAM in the
    # place of stage ID (tests/bench runs the echo floor as a stage: every answer is wrong).
    ap.add_argument("--program-override", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = [s for s in args.stages if s not in ids]
    if unknown:
        ap.error(f"unknown stage(s) {unknown}; stages: {', '.join(ids)}")
    names = {w.id.lower(): w.id for w in selectable()}
    chosen = [w.strip().lower() for w in args.workloads.split(",") if w.strip()]
    if any(w not in names for w in chosen):
        ap.error(f"unknown workload in {args.workloads}; workloads: {', '.join(names.values())}")
    args.workloads = {names[w] for w in chosen}
    if args.rounds is not None and args.rounds < 1:
        ap.error("--rounds must be at least 1")
    if args.connections is not None:
        try:
            args.connections = tuple(int(c) for c in args.connections.split(","))
        except ValueError:
            args.connections = ()
        if not args.connections or min(args.connections) < 1 or max(args.connections) > 10000:
            ap.error("--connections takes counts from 1 to 10000, e.g. 10,100,1000,5000")
    subset = (set(args.stages) != set(ids) or args.workloads != set(names.values())
              or args.connections is not None)
    if args.name is None:
        args.name = "quick" if args.quick else ("partial" if subset else "full")
    if args.out is not None and not args.quick:
        ap.error("--out goes with --quick (a full run writes bench/results and docs)")
    if args.quick and args.out is None:
        args.out = REPO / "build" / "bench-quick"
    args.build_dir = args.build_dir or stages.default_build_dir()
    args.overrides = {}
    for item in args.program_override:
        stage, _, program = item.partition("=")
        args.overrides[stage] = program
    return args


def destinations(args) -> dict[str, pathlib.Path]:
    """Where the JSON, the markdown and the plots go. Only a full run named 'full' writes
    docs/; other names write beside their JSON; --quick writes only under --out."""
    if args.quick:
        out = args.out.resolve()
        return {"json": out / f"{args.name}.json", "md": out / "bench.md",
                "images": out / "images"}
    results = BENCH / "results"
    if args.name == "full":
        return {"json": results / "full.json", "md": REPO / "docs" / "bench.md",
                "images": REPO / "docs" / "images"}
    return {"json": results / f"{args.name}.json", "md": results / f"{args.name}.md",
            "images": results / f"images-{args.name}"}


def write_report(data: dict, where: dict[str, pathlib.Path]) -> None:
    """Renders the report; the full run's report ends with bench/analysis.md, which is written
    about that run (a placeholder is created if it is missing). Other runs get no analysis."""
    analysis = None
    if data["name"] == "full" and not data["quick"]:
        analysis = BENCH / "analysis.md"
        if not analysis.exists():
            analysis.write_text("## Analysis\n\nWritten after the full run.\n")
    render(data, where["md"], where["images"], analysis)
    print(f"report: {where['md']}", flush=True)


def not_built(bin_dir: pathlib.Path, chosen: list[str], overrides: dict) -> set[str]:
    """The chosen stages built only with a library (their description's `needs`) whose program
    this build lacks: reported as not built, not as missing."""
    return {s for s in chosen if (e := lineup.find(s)).needs and s not in overrides
            and not (bin_dir / e.program).exists()}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    where = destinations(args)
    if args.report_only:
        data = json.loads(where["json"].read_text())
        write_report(data, where)
        return 0

    bin_dir = args.build_dir.resolve() / "bin"
    missing_libraries = not_built(bin_dir, args.stages, args.overrides)
    needed = [*(lineup.find(s).program for s in args.stages if s not in missing_libraries),
              lineup.FLOOR, "loadgen", *(["micro"] if "micro" in args.workloads else []),
              *args.overrides.values()]
    missing = [p for p in needed if not (bin_dir / p).exists()]
    if missing:
        print(f"bench/run: {', '.join(missing)} not found in {bin_dir}; build first: "
              "scripts/install-deps && cmake --preset release && cmake --build --preset release "
              "(micro needs Google Benchmark, which install-deps installs)", file=sys.stderr)
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # room for 10000 idle connections
    for variable in [v for v in os.environ if v.startswith("EVENT_")]:
        del os.environ[variable]  # libevent's default backend, unless an entry asks for another

    sizes = QUICK if args.quick else FULL
    if args.rounds is not None:
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    sizes = dataclasses.replace(sizes, w2_placements=W2_PLACEMENTS[args.placement])
    if args.connections is not None:
        sizes = dataclasses.replace(sizes, w2_connections=args.connections)
    ctx = Context(bin_dir=bin_dir, sizes=sizes, quick=args.quick, overrides=args.overrides,
                  not_built=missing_libraries)
    for stage in sorted(missing_libraries):
        entry = lineup.find(stage)
        print(f"bench/run: {entry.program} is not built (it needs "
              f"{' and '.join(entry.needs)}): its points are reported as not built", flush=True)
    plan = make_plan(sizes, args.stages, args.workloads, missing_libraries)
    print(f"bench/run: {len(plan)} steps, about {clock(sum(s.planned for s in plan))} planned; "
          f"server on CPU 0, loadgen on CPU 1 (W1 also both on CPU 0; W2 "
          f"{' and '.join(PLACEMENTS[pl]['name'] for pl in sizes.w2_placements)})", flush=True)
    command = "bench/run" + "".join(" " + shlex.quote(a) for a in argv)
    pool = lineup.pool_stage()
    data = {
        "schema": 1, "name": args.name, "quick": args.quick, "command": command,
        "build_dir": str(args.build_dir), "machine": machine(), "placements": PLACEMENTS,
        "sizes": dataclasses.asdict(sizes), "stages": args.stages,
        "workloads": sorted(args.workloads), "overrides": args.overrides,
        "thresholds": {"idle_cpu_zero": IDLE_CPU_ZERO, "idle_open_limit_seconds": IDLE_OPEN_LIMIT,
                       **({"pool_max": pool.pool["max"]} if pool else {}),
                       "w3b_idle": W3B_IDLE},
    }
    started = time.monotonic()
    try:
        data["results"] = run_plan(ctx, plan)
    except KeyboardInterrupt:
        print("\nbench/run: interrupted; every server has been stopped", file=sys.stderr)
        return 130
    data["duration_seconds"] = round(time.monotonic() - started, 1)
    data["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    data["machine"]["libevent"] = (ctx.libevent[0] if ctx.libevent
                                   else "libevent " + data["machine"]["libevent_pkg_config"])
    data["failures"] = [f"{r['workload']} {r['stage']} {describe(r['params'])}: {r['note']}"
                        for r in data["results"] if r["status"] == "failed"]

    where["json"].parent.mkdir(parents=True, exist_ok=True)
    where["json"].write_text(json.dumps(data, indent=1) + "\n")
    print(f"results: {where['json']}", flush=True)
    write_report(data, where)
    print(f"bench/run: done in {clock(data['duration_seconds'])}", flush=True)
    if data["failures"]:
        print(f"bench/run: {len(data['failures'])} FAILED:", file=sys.stderr)
        for f in data["failures"]:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0
