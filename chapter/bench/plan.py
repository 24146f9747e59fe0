"""The workloads, and the plan they expand to: every (workload, stage, point) of a run, in the
order it runs, with the seconds each is planned to take (for the progress line's estimate)."""
from __future__ import annotations

import dataclasses
from typing import Callable

from chapter.bench import lineup
from chapter.bench.measures import (measure_floor, measure_micro, measure_w1, measure_w2,
                                    measure_w3, measure_w3b, measure_w4, measure_w5,
                                    measure_w6, w2_warmup)
from chapter.bench.processes import Context
from chapter.bench.sizes import (W1_PLACEMENTS, W3B_IDLE, W3B_WARMUP, W4_PAUSE, W4_WARMUP,
                                 Sizes)


@dataclasses.dataclass(frozen=True)
class Workload:
    id: str
    title: str
    measure: Callable[[Context, str, dict, dict], None]  # (ctx, stage, params, record)
    points: Callable[[Sizes], list[dict]]  # the parameters of each point
    seconds: Callable[[Sizes, str, dict], float]  # planned seconds of a point (the estimate)
    stages: str = "stages"  # "stages": each selected stage; "floor": the floor; "none": once
    on_request: bool = False  # run only by the stages whose description asks (bench.also)

    def runs(self, stage: str) -> bool:
        """Whether `stage` (an entry of the line-up) takes part in this workload."""
        entry = lineup.find(stage)
        return entry is not None and entry.takes_part(self.id, self.on_request)


# Planned seconds per point, for the progress estimate: the measurement plus about 0.15 s to
# start and stop a server; a server that forks per connection forks about 1250 a second.
FORKS_PER_SECOND = 1250


def _forks(stage: str, connections: int) -> float:
    return connections / FORKS_PER_SECOND if stage in lineup.keys_of("fork") else 0.0


def _loadgen_seconds(s: Sizes, st: str, p: dict) -> float:
    return s.duration + s.warmup + 0.15


def _w2_seconds(s: Sizes, st: str, p: dict) -> float:
    return s.duration + w2_warmup(s, p) + 0.15 + _forks(st, p["connections"])


def _w3_seconds(s: Sizes, st: str, p: dict) -> float:
    entry = lineup.find(st)
    pool = entry.pool if entry else None
    if pool and p["idle"] + 1 > pool["max"]:
        return 0.0  # cannot serve: not run
    opening = p["idle"] / 20000 + _forks(st, p["idle"])
    active = (s.w3_duration + s.warmup) * (2 if p["idle"] else 1)
    return 0.6 + opening + s.w3_idle_window + active + (0.3 if pool else 0)


def _w3b_seconds(s: Sizes, st: str, p: dict) -> float:
    return 0.6 + p["closed"] / 20000 + (s.w3_duration + s.warmup) + (s.w3_duration + W3B_WARMUP)


def _w4_seconds(s: Sizes, st: str, p: dict) -> float:
    return s.w4_bursts * (W4_WARMUP + s.w4_burst + 1.2) + (s.w4_bursts - 1) * W4_PAUSE


WORKLOADS = [
    Workload("floor-ping", "the floor: echo ping-pong", measure_floor,
             lambda s: [dict(line_bytes=b, depth=1, placement=pl)
                        for b in s.w1_line_bytes for pl in W1_PLACEMENTS],
             _loadgen_seconds, stages="floor"),
    Workload("W1", "latency", measure_w1,
             lambda s: [dict(line_bytes=b, placement=pl)
                        for b in s.w1_line_bytes for pl in W1_PLACEMENTS],
             _loadgen_seconds),
    Workload("W2", "throughput", measure_w2,
             lambda s: [dict(connections=c, depth=d, placement=pl)
                        for d in s.w2_depths for c in s.w2_connections
                        for pl in s.w2_placements],
             _w2_seconds),
    Workload("W3", "idle connections", measure_w3,
             lambda s: [dict(idle=n) for n in s.w3_idle], _w3_seconds),
    Workload("W3b", "one high descriptor", measure_w3b,
             lambda s: [dict(closed=W3B_IDLE)], _w3b_seconds, on_request=True),
    Workload("W4", "churn", measure_w4, lambda s: [dict(connections=100)], _w4_seconds),
    Workload("floor-bulk", "the floor: echo bulk stream", measure_floor,
             lambda s: [dict(line_bytes=16384, depth=64, placement="separate")],
             _loadgen_seconds, stages="floor"),
    Workload("W5", "bulk", measure_w5,
             lambda s: [dict(line_bytes=16384, depth=64)], _loadgen_seconds),
    Workload("W6", "flood", measure_w6,
             lambda s: [dict()], lambda s, st, p: s.w6_duration + s.warmup + 1.5),
    Workload("micro", "micro-benchmarks", measure_micro,
             lambda s: [dict()], lambda s, st, p: 3 if s.micro_args else 12, stages="none"),
]


def selectable() -> list[Workload]:
    """The workloads --workloads names (the floor always runs)."""
    return [w for w in WORKLOADS if w.stages != "floor"]


@dataclasses.dataclass
class Step:
    workload: Workload
    stage: str
    params: dict
    planned: float
    round: int = 1


def make_plan(sizes: Sizes, stages: list[str], workloads: set[str],
              not_built: set[str] = frozenset()) -> list[Step]:
    """Every (workload, stage, point) to run, in order. The floor always runs: every ratio in
    the report needs it, and it must come from the same run. A stage not built still gets its
    steps (each recorded as not built, in no time)."""
    plan = []
    for round_ in range(1, sizes.rounds + 1):
        for w in WORKLOADS:
            if w.stages != "floor" and w.id not in workloads:
                continue
            if w.stages == "none" and round_ > 1:
                continue  # the micro-benchmarks repeat themselves
            on = {"stages": [st for st in stages if w.runs(st)], "floor": [lineup.FLOOR],
                  "none": ["-"]}[w.stages]
            # Point by point, every stage back to back: the ratios compare neighbours in time.
            for p in w.points(sizes):
                for stage in on:
                    planned = 0.0 if stage in not_built else w.seconds(sizes, stage, p)
                    plan.append(Step(w, stage, p, planned, round_))
    return plan
