"""The Targets section: what the port set out to show, checked against one run.

Each target is data, in the description of the stage it is set for (`bench.targets` in its
stage.json); this module holds only how each kind of target is evaluated. A target:

    title       the row's first cell; "{reference}" stands for the key of the workload's
                reference stage (stages.reference)
    workload    "W1" to "W5"
    measure     "lines/s", "connections/s", "MB/s": loadgen's rates; "p50": its median round
                trip; "idle" (W3): every idle connection held and none refused, resident memory
                per connection, zero CPU while idle, and the active client's p50
    against     what the ratio is to: "reference" (the workload's reference stage, at the same
                point), "floor" (bench/floor at the same point), "itself" (idle: the same
                server before its idle connections were opened)
    at          the point: its parameters ({"connections": 50, "depth": 16}); or "every point":
                every point of the workload must hold, and the row shows the lowest
    each        a parameter whose every value measured must hold, one part of the row each
                ("line_bytes")
    rounds      true: with several rounds, the row also says in how many the target held, each
                against its own round's reference (the verdict is the median round's)
    placements  "first": only the first placement the workload ran in; else a row for each
    at_least, above, at_most      the comparison, and its threshold (a ratio)
    resident_per_connection_at_most   (idle) bytes of resident memory per idle connection

Rows are in the order of the workloads, then of the stages (the line-up's).
"""
from __future__ import annotations

import dataclasses
import functools
import operator
from typing import Callable

from chapter.bench import lineup
from chapter.bench.formatting import f_bytes, f_count, f_num, f_ratio, f_us, table
from chapter.bench.plan import WORKLOADS
from chapter.bench.results import (FLOOR_OF, Results, cpu_per_million, matches, p50, ratio,
                                   sides_busy)

COMPARISONS = {"at_least": (operator.ge, "at least"), "above": (operator.gt, "above"),
               "at_most": (operator.le, "within")}
FIELDS = {"title", "workload", "measure", "against", "at", "each", "rounds", "placements",
          *COMPARISONS, "resident_per_connection_at_most"}
EVERY_POINT = "every point"


@dataclasses.dataclass(frozen=True)
class Measure:
    value: Callable[[dict], float | None]  # of loadgen's summary
    show: Callable[[float | None], str]
    unit: str


MEASURES = {
    "lines/s": Measure(lambda lg: lg["per_second"], f_count, " lines/s"),
    "connections/s": Measure(lambda lg: lg["per_second"], f_count, "/s"),
    "MB/s": Measure(lambda lg: lg["mb_per_second"], lambda v: f_num(v, 0), " MB/s"),
    "p50": Measure(p50, f_us, " µs"),
}
AGAINST = {"reference", "floor", "itself"}
# How a row names a point's parameter: "16 B", "10 conn. × depth 16".
PARAMETER_NAMES = {"line_bytes": "{} B", "connections": "{} conn.", "depth": "depth {}"}


@dataclasses.dataclass(frozen=True)
class Target:
    stage: str  # the key of the stage whose description sets it
    spec: dict

    def __post_init__(self):
        spec, where = self.spec, f"{self.stage}'s bench.targets"
        comparisons = [c for c in COMPARISONS if c in spec]
        problems = [f"unknown field(s) {sorted(set(spec) - FIELDS)}"] if set(spec) - FIELDS else []
        if len(comparisons) != 1:
            problems.append(f"give one of {sorted(COMPARISONS)}")
        if spec.get("measure") not in (*MEASURES, "idle"):
            problems.append(f"measure must be one of {[*MEASURES, 'idle']}")
        if spec.get("against") not in AGAINST or (spec.get("measure") == "idle") != (
                spec.get("against") == "itself"):
            problems.append(f"against must be one of {sorted(AGAINST)}; 'itself' with 'idle'")
        if spec.get("at") == EVERY_POINT and comparisons != ["at_least"]:
            problems.append("'every point' goes with at_least")
        if spec.get("workload") not in [w.id for w in WORKLOADS] or "title" not in spec:
            problems.append("give a title and a workload of chapter/bench/plan.py")
        if spec.get("against") == "floor" and spec.get("workload") not in FLOOR_OF:
            problems.append(f"only {sorted(FLOOR_OF)} are stated against the floor")
        if spec.get("measure") == "idle" and not ("idle" in spec.get("at", {})
                                                  and "resident_per_connection_at_most" in spec):
            problems.append("'idle' needs at.idle and resident_per_connection_at_most")
        if problems:
            raise ValueError(f"{where}: {spec.get('title', '?')!r}: " + "; ".join(problems))

    @property
    def workload(self) -> str:
        return self.spec["workload"]

    @property
    def comparison(self) -> str:
        return next(c for c in COMPARISONS if c in self.spec)

    @property
    def threshold(self) -> float:
        return self.spec[self.comparison]

    @property
    def at(self) -> dict:
        at = self.spec.get("at", {})
        return {} if at == EVERY_POINT else at

    def holds(self, r: float) -> bool:
        return COMPARISONS[self.comparison][0](r, self.threshold)

    @property
    def title(self) -> str:
        title = self.spec["title"]
        if "{reference}" in title:  # only a workload with a reference stage has one to name
            title = title.replace("{reference}", lineup.reference(self.workload))
        return title

    @property
    def reference_point(self) -> tuple[str, str]:
        """The (workload, stage) its ratios are to."""
        if self.spec["against"] == "floor":
            return FLOOR_OF[self.workload], lineup.FLOOR
        return self.workload, lineup.reference(self.workload)

    @property
    def names_reference(self) -> str:
        """" of KEY" (the reference stage's) after the ratio, where the title does not say what
        the ratio is to."""
        named = self.spec["against"] != "reference" or "{reference}" in self.spec["title"]
        return "" if named else f" of {lineup.reference(self.workload)}"


@functools.cache
def targets() -> tuple[Target, ...]:
    """Every stage's targets, in the order of the workloads, then of the stages."""
    found = [Target(e.id, spec) for e in lineup.entries() if not e.is_backend_row
             for spec in e.facts.get("targets", ())]
    order = [w.id for w in WORKLOADS]
    return tuple(sorted(found, key=lambda t: order.index(t.workload)))


def verdict(ok: bool | None) -> str:
    return {True: "**MET**", False: "**NOT MET**", None: "NOT EVALUATED"}[ok]


def value(t: Target, lg: dict | None) -> float | None:
    return MEASURES[t.spec["measure"]].value(lg) if lg else None


def versus(t: Target, lg: dict | None, ref: dict | None, where: str = "") -> str:
    """"261 vs 675 MB/s": the two figures of a ratio."""
    m = MEASURES[t.spec["measure"]]
    return f"({m.show(value(t, lg))} vs {m.show(value(t, ref))}{m.unit}{where})"


def not_measured(res: Results, t: Target) -> str:
    if res.built(t.stage):
        return "not measured"
    return f"not built (no {' and '.join(lineup.find(t.stage).needs)})"


def placements(res: Results, t: Target) -> list[str | None]:
    """The placements a target has a row for; [None] where its point fixes it or the
    workload has none."""
    if "placement" in t.at:
        return [None]
    found = res.placements(t.workload) or [None]
    return found[:1] if t.spec.get("placements") == "first" else found


def point_name(p: dict, short: bool = False) -> str:
    if short:
        return "×".join(str(v) for v in p.values())
    return " × ".join(PARAMETER_NAMES.get(k, k + " {}").format(v) for k, v in p.items())


def round_ratios(res: Results, t: Target, params: dict) -> list[float]:
    """Round by round, the stage's figure over its reference's measured in the same round: how
    much a ratio moves between rounds on this machine."""
    def by_round(workload: str, stage: str) -> dict[int, float]:
        return {r["round"]: value(t, r["loadgen"]) for r in res.data.get("results", [])
                if r["status"] == "ok" and matches(r, workload, stage, params)}
    mine, ref = by_round(t.workload, t.stage), by_round(*t.reference_point)
    return [mine[n] / ref[n] for n in sorted(mine) if n in ref and ref[n] > 0]


# The kinds of target. Each judges one target in one placement (None: none to choose) and
# returns the row's "measured" cell and its verdict (None: not evaluated).

def judge_at_point(res: Results, t: Target, pl: str | None) -> tuple[str, bool | None]:
    """The ratio at one point."""
    params = {**t.at, **({"placement": pl} if pl else {})}
    lg, ref = res.lg(t.workload, t.stage, **params), res.lg(*t.reference_point, **params)
    r = ratio(value(t, lg), value(t, ref))
    if r is None:
        return not_measured(res, t), None
    where = f", {res.placement_name(pl)}" if pl else ""
    text = f"{f_ratio(r)}{t.names_reference} {versus(t, lg, ref, where)}"
    if t.spec["measure"] == "lines/s":  # what each line cost, and which side was saturated
        text += (f"; server CPU-s per million lines {f_num(cpu_per_million(lg))} vs "
                 f"{f_num(cpu_per_million(ref))}" + (f"; CPU-s/s server / loadgen{sides_busy(lg)}"
                                                      f" vs{sides_busy(ref)}" if sides_busy(lg)
                                                      else ""))
    each = round_ratios(res, t, params) if t.spec.get("rounds") else []
    if len(each) > 1:
        text += (f"; {COMPARISONS[t.comparison][1]} {t.threshold}× in "
                 f"{sum(t.holds(x) for x in each)} of {len(each)} rounds: "
                 + ", ".join(f_ratio(x) for x in each))
    return text, t.holds(r)


def judge_each(res: Results, t: Target, pl: str | None) -> tuple[str, bool | None]:
    """The ratio at each value of one parameter, every one of which must hold."""
    parts, oks = [], []
    for v in res.param_values(t.workload, t.spec["each"]):
        params = {**t.at, t.spec["each"]: v, **({"placement": pl} if pl else {})}
        lg, ref = res.lg(t.workload, t.stage, **params), res.lg(*t.reference_point, **params)
        r = ratio(value(t, lg), value(t, ref))
        oks.append(None if r is None else t.holds(r))
        part = f"{point_name({t.spec['each']: v})}: {f_ratio(r)} {versus(t, lg, ref)}"
        each = round_ratios(res, t, params) if t.spec.get("rounds") else []
        if len(each) > 1:
            part += (f", {COMPARISONS[t.comparison][1]} {t.threshold}× in "
                     f"{sum(t.holds(x) for x in each)} of {len(each)} rounds "
                     f"({f_ratio(min(each))} to {f_ratio(max(each))})")
        parts.append(part)
    return "; ".join(parts) or "not measured", None if not oks or None in oks else all(oks)


def judge_every_point(res: Results, t: Target, pl: str | None) -> tuple[str, bool | None]:
    """The ratio at every point of the workload, every one of which must hold; the lowest shown."""
    points = res.points(t.workload, leave_out=("placement",))
    each = []
    for p in points:
        params = {**p, **({"placement": pl} if pl else {})}
        lg, ref = res.lg(t.workload, t.stage, **params), res.lg(*t.reference_point, **params)
        if lg and ref and value(t, ref):
            each.append((p, value(t, lg) / value(t, ref)))
    if not each:
        return not_measured(res, t), None
    lowest, low = min(each, key=lambda px: px[1])
    below = [point_name(p, short=True) for p, x in each if not t.holds(x)]
    where = f", {res.placement_name(pl)}" if pl else ""
    return (f"lowest {f_ratio(low)} at {point_name(lowest)}{where}; "
            + (f"below {t.threshold}× at {', '.join(below)}" if below
               else f"all {len(each)} points at {t.threshold}× or more")
            + (f" ({len(points) - len(each)} of {len(points)} points not measured)"
               if len(each) < len(points) else ""), all(t.holds(x) for _, x in each))


def judge_idle(res: Results, t: Target, pl: str | None) -> tuple[str, bool | None]:
    """All the idle connections held, none refused, resident memory per connection, zero CPU
    while idle, and the active client's p50 against its own before them."""
    n = t.at["idle"]
    zero = res.data.get("thresholds", {}).get("idle_cpu_zero", 0.01)
    r = res.find(t.workload, t.stage, **t.at)
    info = (r or {}).get("idle", {})
    if r is None or "held" not in info or "idle_cpu_per_second" not in info:
        return (f"{n} idle not measured in this run" if r is None
                else f"not measured: {r.get('note', '')}"), None
    lg, base = r.get("loadgen") if r["status"] == "ok" else None, r.get("active_before")
    rp = ratio(p50(lg), p50(base))
    held_ok = info["held"] == n and info["refused"] == 0
    mem = info.get("rss_per_connection")
    mem_ok = mem is not None and mem <= t.spec["resident_per_connection_at_most"]
    cpu = info["idle_cpu_per_second"]
    ok = None if rp is None else (held_ok and mem_ok and cpu < zero and t.holds(rp))
    if not held_ok or not mem_ok or not cpu < zero:
        ok = False
    return (f"held {info['held']} (refused {info['refused']}); {f_bytes(mem)} each; "
            f"{cpu:.4f} CPU-s/s idle (zero: < {zero}); p50 {f_ratio(rp)} "
            f"({f_us(p50(lg))} vs {f_us(p50(base))} µs)"), ok


def rows(res: Results) -> list[list[str]]:
    """One row per (target, placement): [target, stage, measured, verdict]."""
    found = []
    for t in targets():
        judge = (judge_idle if t.spec["measure"] == "idle"
                 else judge_every_point if t.spec.get("at") == EVERY_POINT
                 else judge_each if "each" in t.spec else judge_at_point)
        for pl in placements(res, t):
            measured, ok = judge(res, t, pl)
            found.append([t.title, lineup.label(t.stage), measured, verdict(ok)])
    return found


def goals(res: Results, workload: str) -> list[tuple[float, str]]:
    """The targets of `workload` at one point with a least ratio, as lines on its plot: (the
    figure they ask for, "target for KEY to KEY: 3× KEY"), one per threshold, the highest
    first; only those with a stage in the run, and a reference measured."""
    groups: dict[tuple, list[Target]] = {}
    for t in targets():
        if (t.workload == workload and t.comparison == "at_least" and "each" not in t.spec
                and t.spec.get("at") != EVERY_POINT and t.spec["measure"] in MEASURES):
            groups.setdefault((t.threshold, t.reference_point, t.spec["measure"]), []).append(t)
    found = []
    for (threshold, point, _), group in sorted(groups.items(), key=lambda kv: -kv[0][0]):
        ref = res.lg(*point, **group[0].at)
        if ref is None or not any(t.stage in res.stages(workload) for t in group):
            continue
        name = point[1] if point[1] != lineup.FLOOR else "floor"
        found.append((threshold * value(group[0], ref),
                      f"target for {lineup.spoken([t.stage for t in group])}: "
                      f"{threshold}× {name}"))
    return found


def section_targets(res: Results) -> str:
    found = rows(res)
    met = sum(1 for r in found if r[3] == "**MET**")
    missed = sum(1 for r in found if r[3] == "**NOT MET**")
    return ("## Targets\n\nWhat the port set out to show, checked against this run. A missed "
            "target is a finding, never a failure: `bench/run` exits non-zero only for wrong "
            f"answers, crashes and servers that do not stop. **{met} met, {missed} not met**"
            + (f", {len(found) - met - missed} not evaluated (not measured in this run)"
               if len(found) - met - missed else "") + ".\n\n"
            + table(["target", "stage", "measured (ratio)", "verdict"], found, "llll") + "\n")
