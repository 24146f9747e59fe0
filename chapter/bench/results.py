"""The report's view of one run's records: each point's median round, found by workload, stage
and parameters. Everything here reads results; nothing measures."""
from __future__ import annotations

import json

from chapter.bench import lineup

# The workloads stated as ratios to the floor, and the floor's workload each is compared with.
FLOOR_OF = {"W1": "floor-ping", "W5": "floor-bulk"}


def primary_metric(record: dict) -> float:
    """The figure a point is judged by: what the median of its rounds is taken on."""
    w = record["workload"]
    lg = record.get("active") or record.get("active_before") if w == "W3" else record.get("loadgen")
    lg = lg or {}
    if w in ("W2", "W4", "W5", "floor-bulk"):
        return lg.get("per_second") or 0.0
    return (lg.get("latency_us") or {}).get("p99" if w == "W6" else "p50") or 0.0


def merge_rounds(records: list[dict]) -> list[dict]:
    """One record per (workload, stage, point): the median round by its primary metric, so that
    every figure of a point comes from the same measurement. A failed round wins: it must show."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        key = json.dumps([r["workload"], r["stage"], r["params"]], sort_keys=True)
        groups.setdefault(key, []).append(r)
    merged = []
    for rounds in groups.values():
        failed = [r for r in rounds if r["status"] == "failed"]
        ok = sorted((r for r in rounds if r["status"] == "ok"), key=primary_metric)
        chosen = dict(failed[0] if failed else ok[(len(ok) - 1) // 2] if ok else rounds[0])
        chosen["rounds"] = len(rounds)
        if len(ok) > 1:
            chosen["spread"] = [primary_metric(ok[0]), primary_metric(ok[-1])]
        merged.append(chosen)
    return merged


def matches(record: dict, workload: str, stage: str, params: dict) -> bool:
    """Whether `record` measured `workload` on `stage` at a point with these parameters."""
    return (record["workload"] == workload and record["stage"] == stage
            and all(record["params"].get(k) == v for k, v in params.items()))


class Results:
    """The records of one run, found by workload, stage and parameters; where the run had
    several rounds, each point is the median one (merge_rounds)."""

    def __init__(self, data: dict):
        self.data = data
        self.records = merge_rounds(data.get("results", []))
        for r in self.records:  # W2 ran on separate cores before its placement was recorded
            if r["workload"] == "W2" and "placement" not in r["params"]:
                r["params"] = {**r["params"], "placement": "separate"}

    def find(self, workload: str, stage: str, **params) -> dict | None:
        return next((r for r in self.records if matches(r, workload, stage, params)), None)

    def ok(self, workload: str, stage: str, **params) -> dict | None:
        """The record if it was measured, else None."""
        r = self.find(workload, stage, **params)
        return r if r and r["status"] == "ok" else None

    def lg(self, workload: str, stage: str, **params) -> dict | None:
        """loadgen's summary of a measured point, else None."""
        r = self.ok(workload, stage, **params)
        return r.get("loadgen") if r else None

    def stages(self, workload: str) -> list[str]:
        """The stages that ran `workload`, in the chapter's order (the line-up's); any the
        registry no longer has (an old run) after them."""
        seen = {r["stage"] for r in self.records if r["workload"] == workload}
        known = lineup.ids()
        return [s for s in known if s in seen] + sorted(seen - set(known))

    def built(self, stage: str) -> bool:
        """False if the run recorded `stage` as not built (a library its build lacked)."""
        return not any(r["stage"] == stage and r["status"] == "not built" for r in self.records)

    def placements(self, workload: str) -> list[str]:
        """The placements `workload` ran in, in the run's order of placements."""
        found = self.param_values(workload, "placement")
        return [pl for pl in self.data.get("placements", {}) if pl in found]

    def w2_placements(self) -> list[str]:
        return self.placements("W2")

    def placement_name(self, key: str) -> str:
        return self.data["placements"][key]["name"]

    def param_values(self, workload: str, key: str) -> list:
        return sorted({r["params"][key] for r in self.records
                       if r["workload"] == workload and key in r["params"]})

    def points(self, workload: str, leave_out: tuple[str, ...] = ()) -> list[dict]:
        """Every point of `workload` in the order the run measured them (its plan's), without
        the parameters in `leave_out`."""
        found: list[dict] = []
        for r in self.records:
            if r["workload"] == workload:
                p = {k: v for k, v in r["params"].items() if k not in leave_out}
                if p not in found:
                    found.append(p)
        return found


def p50(lg: dict | None) -> float | None:
    return lg["latency_us"]["p50"] if lg else None


def p99(lg: dict | None) -> float | None:
    return lg["latency_us"]["p99"] if lg else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def sides_busy(lg: dict) -> str:
    """` (0.98 / 0.61)`: the server's and loadgen's CPU-seconds per second of the window; empty
    for a run that did not measure loadgen's."""
    window = lg["server_window_seconds"]
    if "loadgen_cpu_seconds" not in lg or not window:
        return ""
    return f" ({lg['server_cpu_seconds'] / window:.2f} / {lg['loadgen_cpu_seconds'] / window:.2f})"


def cpu_per_million(lg: dict) -> float | None:
    lines = lg["per_second"] * lg["server_window_seconds"]
    return lg["server_cpu_seconds"] / lines * 1e6 if lines else None
