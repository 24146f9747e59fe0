"""The report's plots (SVG, matplotlib): W1's round trips, W2's throughput against
connections, W3's round trip against idle connections held, W4's and W5's bars with their
targets as dashed lines. Each stage is drawn in the colour and marker of its description."""
from __future__ import annotations

import pathlib

from chapter.bench import lineup
from chapter.bench.formatting import IMAGES, f_count, f_ratio
from chapter.bench.lineup import color, label, marker
from chapter.bench.results import Results, p50, ratio
from chapter.bench.sizes import W1_PLACEMENTS
from chapter.bench.targets import goals


def plots(res: Results, images: pathlib.Path, prefix: str = "") -> list[str]:
    """Writes the SVGs, each named `prefix` + its name in IMAGES; returns the names in IMAGES
    of those written (none if matplotlib is missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    plt.rcParams.update({"font.size": 10, "axes.grid": True, "grid.alpha": 0.3,
                         "svg.hashsalt": "bench", "axes.spines.top": False,
                         "axes.spines.right": False})
    images.mkdir(parents=True, exist_ok=True)
    written = []
    for workload, draw in (("W1", plot_w1), ("W2", plot_w2), ("W3", plot_w3),
                           ("W4", plot_w4), ("W5", plot_w5)):
        if not res.stages(workload):
            continue
        fig = draw(res, plt)
        if fig is None:
            continue
        fig.tight_layout()
        fig.savefig(images / (prefix + IMAGES[workload]), format="svg", metadata={"Date": None})
        plt.close(fig)
        written.append(IMAGES[workload])
    return written


def plain_ticks(axis, unit: str = "") -> None:
    """Log-axis tick labels as plain numbers (20, 1k, 1M), not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f_count(v) + unit))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def plot_w1(res: Results, plt):
    sizes = res.param_values("W1", "line_bytes")
    stages = ["floor", *res.stages("W1")]
    combos = [(b, pl) for b in sizes for pl in W1_PLACEMENTS]
    fig, ax = plt.subplots(figsize=(9, 5.2))
    width = 0.8 / len(combos)
    shades = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78"]
    for i, (b, pl) in enumerate(combos):
        xs, ys = [], []
        for j, stage in enumerate(stages):
            lg = (res.lg("floor-ping", "floor", line_bytes=b, placement=pl) if stage == "floor"
                  else res.lg("W1", stage, line_bytes=b, placement=pl))
            if lg:
                xs.append(j + (i - (len(combos) - 1) / 2) * width)
                ys.append(p50(lg))
        ax.bar(xs, ys, width, label=f"{b}-byte lines, {res.placement_name(pl)}",
               color=shades[i % len(shades)])
    ax.set_xticks(range(len(stages)), [label(s) for s in stages], rotation=15)
    values = [b.get_height() for c in ax.containers for b in c]
    if values and max(values) > 20 * min(values):  # a spinning server on one core: far slower
        ax.set_yscale("log")
        plain_ticks(ax.yaxis)
        ax.set_ylabel("p50 round trip (µs, log scale)")
    else:
        ax.set_ylabel("p50 round trip (µs)")
    ax.set_title("W1 latency: one connection, one line in flight")
    ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    return fig


def plot_w2(res: Results, plt):
    depths = res.param_values("W2", "depth")
    fig, axes = plt.subplots(1, len(depths), figsize=(5 * len(depths), 4.5), squeeze=False,
                             sharey=True)
    placements = res.w2_placements()
    for ax, d in zip(axes[0], depths):
        for stage, pl in [(st, pl) for st in res.stages("W2") for pl in placements]:
            pts = [(c, res.lg("W2", stage, connections=c, depth=d, placement=pl))
                   for c in res.param_values("W2", "connections")]
            pts = [(c, lg["per_second"]) for c, lg in pts if lg]
            if pts:
                ax.plot(*zip(*pts), marker=marker(stage), color=color(stage),
                        linestyle="-" if pl == "separate" else "--",
                        label=label(stage) + (f", {res.placement_name(pl)}"
                                                    if placements != ["separate"] else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        conns = res.param_values("W2", "connections")
        ax.set_xticks(conns, [str(c) for c in conns])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        plain_ticks(ax.yaxis)
        ax.set_xlabel("connections (log scale)")
        ax.set_title(f"depth {d}: {d} line{'s' if d > 1 else ''} in flight per connection")
    axes[0][0].set_ylabel("lines answered per second (log scale)")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle("W2 throughput: 16-byte lines, closed loop")
    return fig


def plot_w3(res: Results, plt):
    counts = res.param_values("W3", "idle")
    zero_at = 10.0  # a log axis has no 0: "none" is drawn one decade left of 100
    x_of = lambda n: n if n else zero_at  # noqa: E731
    fig, ax = plt.subplots(figsize=(8, 5))
    for stage in res.stages("W3"):
        pts = [(x_of(n), p50(res.lg("W3", stage, idle=n))) for n in counts]
        pts = [(x, y) for x, y in pts if y]
        if not pts:
            continue
        ax.plot(*zip(*pts), marker=marker(stage), color=color(stage),
                label=label(stage), linewidth=2)
        stopped = [n for n in counts if (r := res.find("W3", stage, idle=n))
                   and r.get("idle", {}).get("refused")]
        missing = [n for n in counts if (r := res.find("W3", stage, idle=n))
                   and r["status"] == "not measured"]
        cannot = [n for n in counts if (r := res.find("W3", stage, idle=n))
                  and r["status"] == "cannot serve"]
        limit = (lineup.find(stage).facts.get("limit") if lineup.find(stage) else None)
        why = f"\n({limit})" if limit else ""
        if stopped:
            held = res.find("W3", stage, idle=stopped[0])["idle"]["held"]
            ax.annotate(f"{stage}: refuses past {held}{why}", pts[-1],
                        textcoords="offset points", xytext=(8, -30), fontsize=8,
                        color=color(stage), arrowprops={"arrowstyle": "-", "color": color(stage)})
        elif missing or cannot:
            what = "not measured" if missing else "cannot serve (pool)"
            ax.annotate(f"{stage}: {(missing or cannot)[0]} {what}", pts[-1],
                        textcoords="offset points", xytext=(10, -15), fontsize=8,
                        color=color(stage))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [x_of(n) for n in counts]
    ax.set_xticks(ticks, ["none" if n == 0 else f"{n:,}" for n in counts])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    plain_ticks(ax.yaxis)
    ax.set_xlabel("idle connections held (log scale)")
    ax.set_ylabel("active client's p50 round trip (µs, log scale)")
    ax.set_title("W3: one active client among idle connections")
    ax.legend(fontsize=9)
    return fig


def bars(res: Results, plt, items, ylabel, title, ref_label, lines=()):
    """A bar per stage with its ratio written on top; each of `lines` (value, label) draws a
    target as a dashed line."""
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(items) + 2), 4.5))
    for i, (value, text) in enumerate(lines):  # labels at alternate ends: they may be close
        ax.axhline(value, color="#555555", linestyle="--", linewidth=1)
        ax.annotate(text, (len(items) - 0.5 if i % 2 == 0 else -0.5, value),
                    ha="right" if i % 2 == 0 else "left", va="bottom" if i % 2 == 0 else "top",
                    fontsize=8, color="#555555", xytext=(0, 2 if i % 2 == 0 else -2),
                    textcoords="offset points")
    labels = [label(s) for s, _, _ in items]
    values = [v for _, v, _ in items]
    rects = ax.bar(range(len(items)), values, color=[color(s) for s, _, _ in items])
    for rect, (_, _, r) in zip(rects, items):
        if r is not None:
            ax.annotate(f"{f_ratio(r)} {ref_label}", (rect.get_x() + rect.get_width() / 2,
                                                       rect.get_height()),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_xticks(range(len(items)), labels, rotation=15)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def plot_w4(res: Results, plt):
    reference = lineup.reference("W4")
    ref = res.lg("W4", reference)
    items = []
    for stage in res.stages("W4"):
        lg = res.lg("W4", stage)
        if lg:
            items.append((stage, lg["per_second"], ratio(lg["per_second"],
                                                         ref and ref["per_second"])))
    return bars(res, plt, items, "connections per second",
                "W4 churn: 100 clients connecting, one line each, closing", reference,
                goals(res, "W4"))


def plot_w5(res: Results, plt):
    floor = res.lg("floor-bulk", "floor")
    items = [("floor", floor["mb_per_second"], 1.0)] if floor else []
    for stage in res.stages("W5"):
        lg = res.lg("W5", stage)
        if lg:
            items.append((stage, lg["mb_per_second"],
                          ratio(lg["mb_per_second"], floor and floor["mb_per_second"])))
    return bars(res, plt, items, "MB/s answered",
                "W5 bulk: one connection, 64 × 16 KiB lines in flight", "floor",
                goals(res, "W5"))
