"""Drawing a traced run: its timeline as an SVG (matplotlib), and the page that puts several on
one time axis."""
from __future__ import annotations

import html
import io

from chapter.strace import Call
from chapter.trace.session import CLIENTS
from chapter.trace.timeline import (BAND_ABOVE, BLOCKED_MIN, COLOURS, LEGEND, Lane, Trace,
                                    family)

CLIENT_MARKS = {  # kind -> (marker, colour, label)
    "connect": ("o", "#333333", "client connects"),
    "send": (">", "#333333", "client sends (a line or a piece)"),
    "half-close": ("x", "#333333", "client half-closes"),
    "answer": ("*", "#2CA02C", "answer received"),
    "close": ("|", "#333333", "client closes"),
}


# The rows of a lane under its first one (the calls that blocked, and the short waiting calls):
# one per family of short calls, so that calls made within the same millisecond stay apart.
ROW_FAMILIES = ["accept", "recv", "send", "epoll_ctl", "threads", "other"]
CLUSTER = 0.005  # ticks of one row closer than this are counted together ("×2")


Rows = list[tuple[str, list[Call]]]  # (label, calls) of each row of a lane


def lane_rows(lane: Lane) -> Rows:
    """(label, calls) for each row of `lane`: first the blocked calls and the short waiting
    calls, labelled with the call the lane waits in most; then a row per family of the other
    calls, labelled with their names."""
    first = [c for c in lane.calls if c.duration >= BLOCKED_MIN or family(c.name) == "wait"]
    rows = [(lane.main_wait() if lane.waiting else "never waits", first)]
    for fam in ROW_FAMILIES:
        calls = [c for c in lane.calls if c.duration < BLOCKED_MIN and family(c.name) == fam]
        if calls:
            names = sorted({c.name for c in calls}, key=lambda n: -sum(c.name == n for c in calls))
            rows.append(("/".join(names[:2]) + ("/..." if len(names) > 2 else ""), calls))
    return rows


def draw(trace: Trace, ax, length: float, lanes_rows: list[Rows]) -> None:
    """Plots `trace` on `ax`: the clients on top, one row each, then the server's lanes, each
    with its rows (`lanes_rows`, lane_rows() of each lane); x is seconds since the session
    started, up to `length`."""
    rows = len(CLIENTS) + sum(len(r) for r in lanes_rows)
    labels, y = [], rows  # top row first
    for client in CLIENTS:
        y -= 1
        labels.append((y, f"client {client}"))
        mine = [e for e in trace.events if e.client == client]
        if mine:
            ax.plot([mine[0].time - trace.start, mine[-1].time - trace.start], [y, y],
                    color="#BBBBBB", lw=1, zorder=1)
        for e in mine:
            marker, colour, _ = CLIENT_MARKS[e.kind]
            ax.plot(e.time - trace.start, y, marker=marker, color=colour, ms=7 if
                    e.kind == "answer" else 5, ls="none", zorder=3)
    for lane, rows_of_lane in zip(trace.lanes, lanes_rows):
        ax.axhline(y - 0.5, color="#888888", lw=0.8)
        for i, (label, calls) in enumerate(rows_of_lane):
            y -= 1
            labels.append((y, f"{trace.name} {lane.label}: {label}" if i == 0 else label))
            draw_row(trace, calls, ax, y)
    ax.set_yticks([p for p, _ in labels], [t for _, t in labels], fontsize=7)
    ax.set_ylim(-0.6, rows - 0.4)
    ax.set_xlim(0, length)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#EEEEEE", lw=0.6)
    ax.set_axisbelow(True)


def draw_row(trace: Trace, calls: list[Call], ax, y: float) -> None:
    bars: dict[str, list[tuple[float, float]]] = {}
    ticks: dict[str, list[float]] = {}
    failed = [c for c in calls if c.error == "EAGAIN" and c.duration < BLOCKED_MIN]
    band = len(failed) > BAND_ABOVE
    for c in calls:
        begin = max(c.start, trace.start) - trace.start
        if c.duration >= BLOCKED_MIN:  # a bar in its family's colour, even if it timed out
            end = min(c.end, trace.end) - trace.start
            bars.setdefault(family(c.name), []).append((begin, end - begin))
        elif c.error == "EAGAIN":
            if not band:
                ticks.setdefault("EAGAIN", []).append(begin)
        else:
            ticks.setdefault(family(c.name), []).append(begin)
    for colour, spans in bars.items():
        ax.broken_barh(spans, (y - 0.3, 0.6), facecolors=COLOURS[colour], edgecolors="none",
                       zorder=2)
    for colour, xs in ticks.items():
        ax.vlines(xs, y - 0.4, y + 0.4, colors=COLOURS[colour], lw=1.0, zorder=3)
    # Several calls of one row within a few milliseconds look like one tick: say how many.
    xs = sorted(x for v in ticks.values() for x in v)
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] - xs[i] < CLUSTER:
            j += 1
        if j > i:
            ax.text(xs[i] + 0.004, y, f"×{j - i + 1}", fontsize=6, va="center", color="#444444",
                    zorder=4)
        i = j + 1
    if band:
        # Too many to tick: their rate, per 10 ms, as the height of a red band.
        step = 0.01
        bins = int(trace.length / step) + 1
        rate = [0] * bins
        for c in failed:
            rate[min(bins - 1, max(0, int((c.start - trace.start) / step)))] += 1
        top = max(rate) or 1
        xs = [k * step for k in range(bins + 1)]
        heights = [r / top * 0.8 for r in rate] + [0]
        ax.fill_between(xs, [y - 0.4] * len(xs), [y - 0.4 + h for h in heights], step="post",
                        color=COLOURS["EAGAIN"], alpha=0.55, lw=0, zorder=2)
        per_ms = len(failed) / max(trace.length, 1e-9) / 1000
        ax.text(trace.length * 0.995, y, f"{len(failed)} failed at once ({per_ms:.0f} per ms)",
                ha="right", va="center", fontsize=7, color="black", zorder=4,
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1))


def figure(trace: Trace, length: float):
    """A matplotlib figure of one trace, sized by its number of rows; the same left margin for
    every stage, so that figures stacked on one page share their time axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    matplotlib.rcParams["svg.hashsalt"] = "scripts/trace"  # stable ids: small diffs
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
    lanes_rows = [lane_rows(lane) for lane in trace.lanes]
    rows = len(CLIENTS) + sum(len(r) for r in lanes_rows)
    height = 1.3 + 0.2 * rows
    fig, ax = plt.subplots(figsize=(10, height))
    fig.subplots_adjust(left=0.16, right=0.98, top=1 - 0.35 / height, bottom=0.95 / height)
    draw(trace, ax, length, lanes_rows)
    ax.set_title(f"{trace.stage.program} {' '.join(trace.args)}".rstrip()
                 + ": system calls under strace -f, and the clients", fontsize=9, loc="left")
    ax.set_xlabel("seconds since the session started (strace -ttt).  Bar: a call that blocked "
                  "1 ms or more (strace -T); tick: one that returned at once", fontsize=8)
    used = {"EAGAIN" if c.error == "EAGAIN" and c.duration < BLOCKED_MIN else family(c.name)
            for c in trace.calls()}
    handles = [Patch(color=COLOURS[k], label=LEGEND[k]) for k in COLOURS if k in used]
    handles += [Line2D([], [], marker=m, color=c, ls="none", label=label)
                for m, c, label in CLIENT_MARKS.values()]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.55, 0.0), ncol=5,
               fontsize=7, frameon=False, handletextpad=0.4, columnspacing=1.0)
    return fig


def svg(trace: Trace, length: float) -> str:
    import matplotlib.pyplot as plt
    fig = figure(trace, length)
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    return out.getvalue()


def side_by_side(traces: list[Trace], pictures: dict[str, str]) -> str:
    """A self-contained page: every trace, its picture (`pictures`, by trace name, drawn on one
    time axis) and its summary beside it."""
    sections = []
    for t in traces:
        picture = pictures[t.name]
        picture = picture[picture.index("<svg"):]  # inline: no XML declaration, no doctype
        sections.append(f'<section id="stage-{t.name}">\n<h2>{html.escape(t.stage.program)}'
                        f'</h2>\n<div class="row">\n<div class="picture">{picture}</div>\n'
                        f'<pre>{html.escape(t.text())}</pre>\n</div>\n</section>')
    names = " ".join(t.name for t in traces)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Who waits where: stages {html.escape(names)} side by side</title>
<style>
body {{ font-family: sans-serif; margin: 1em 2em; color: #222; }}
.row {{ display: flex; gap: 1em; align-items: flex-start; }}
.picture {{ flex: 0 0 auto; width: 60em; max-width: 72%; }}
.picture svg {{ width: 100%; height: auto; }}
pre {{ font-size: 0.72em; white-space: pre-wrap; margin: 0; }}
h2 {{ font-size: 1.05em; margin: 1.2em 0 0.2em; }}
</style>
</head>
<body>
<h1>Who waits where: stages {html.escape(names)} doing the same work</h1>
<p>The same scripted session against each stage, traced with <code>strace -f -ttt -T</code> and
drawn on one time axis by <code>scripts/trace {html.escape(names)} --html FILE</code>. On top,
the four clients: <b>idle</b> connects and says nothing; <b>A</b> and <b>B</b> send a line each;
<b>C</b> sends a long line in three pieces and half-closes. Below them, one lane per server
process or thread: a bar is a system call that blocked, a tick one that returned at once, red a
call that failed at once with EAGAIN.</p>
{chr(10).join(sections)}
</body>
</html>
"""
