"""How the report writes figures: ratios, counts, microseconds, bytes, markdown tables, and
what stands where a figure is missing."""
from __future__ import annotations

from chapter.bench import lineup

# The plots, by workload (chapter/bench/plots.py draws them; the sections link them).
IMAGES = {
    "W1": "bench-w1-latency.svg",
    "W2": "bench-w2-throughput.svg",
    "W3": "bench-w3-idle.svg",
    "W4": "bench-w4-churn.svg",
    "W5": "bench-w5-bulk.svg",
}

DASH = "–"


def f_ratio(x: float | None) -> str:
    if x is None:
        return DASH
    return f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def f_count(x: float | None) -> str:
    """52341 -> 52.3k; 1234567 -> 1.23M."""
    if x is None:
        return DASH
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def f_us(x: float | None) -> str:
    if x is None:
        return DASH
    if x >= 10000:
        return f"{x / 1000:.1f} ms"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def f_bytes(x: float | None) -> str:
    if x is None:
        return DASH
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(x) >= size:
            return f"{x / size:.1f} {unit}"
    return f"{x:.0f} B"


def f_num(x: float | None, digits: int = 2) -> str:
    return DASH if x is None else f"{x:.{digits}f}"


def with_ratio(value: str, r: float | None) -> str:
    return value if r is None else f"{value} ({f_ratio(r)})"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A markdown table; `align` is one letter per column: l or r (default: first left)."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---" if a == "l" else "--:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def status_cell(record: dict | None) -> str:
    """What to print where a figure is missing: why."""
    if record is None:
        return DASH
    if record["status"] == "failed":
        return "**FAILED**"
    if record["status"] in ("not measured", "not built"):
        return record["status"]
    if record["status"] == "cannot serve":
        return cannot_serve(record)
    return DASH


def cannot_serve(record: dict) -> str:
    """'cannot serve: 10001 connections held open > pool of at most 1024', without the
    parenthesis that follows in the record's note."""
    return record.get("note", "cannot serve").split(" (")[0]


def pool_of(record: dict | None) -> int | None:
    """The pool size bench/run gave this point's server, if it gave one (else its default)."""
    pool = lineup.pool_stage()
    args = ((record or {}).get("server") or {}).get("args") or []
    option = pool.pool["option"] if pool else None
    return int(args[args.index(option) + 1]) if option in args else None
