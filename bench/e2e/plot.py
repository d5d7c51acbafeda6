#!/usr/bin/env python3
"""Plots WORKDIR/results.json (written by report.py) to WORKDIR/plot.png with matplotlib, or
to WORKDIR/plot.svg (drawn by hand, no dependencies) when matplotlib is not installed.

    plot.py WORKDIR [--svg]

Panels: backup throughput per day, repository size per day, restore throughput (cold and
warm, medians with min-max bars), CPU seconds per GB backed up with peak RSS.
"""
import importlib.util
import json
import os
import sys
from xml.sax.saxutils import escape

COLORS = {"cairn": "#d62728", "restic": "#1f77b4", "borg-lz4": "#2ca02c", "borg-zstd": "#9467bd"}


def load(workdir):
    with open(os.path.join(workdir, "results.json")) as f:
        return json.load(f)


def per_day(steps, tool, field):
    xs, ys = [], []
    for x in sorted((x for x in steps if x["tool"] == tool and x["step"] in ("first", "incr")
                     and x["run"] == 1),
                    key=lambda x: x["day"]):
        xs.append(x["day"])
        ys.append(field(x))
    return xs, ys


def tput(x):
    return x["bytes"] / x["wall_s"] / 1e6 if x["wall_s"] > 0 else 0


def plot_matplotlib(data, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, summary, env = data["steps"], data["summary"], data["env"]
    tools = env.get("tools") or list(summary)
    fig, ax = plt.subplots(2, 2, figsize=(13, 9))
    for t in tools:
        xs, ys = per_day(steps, t, tput)
        ax[0][0].plot(xs, ys, marker="o", label=t, color=COLORS.get(t))
        xs, ys = per_day(steps, t, lambda x: x["repo_bytes"] / 2**20)
        ax[0][1].plot(xs, ys, marker="o", label=t, color=COLORS.get(t))
    ax[0][0].set_title("backup throughput per day (day1 = first snapshot)")
    ax[0][0].set_xlabel("day")
    ax[0][0].set_ylabel("MB/s (whole folder / wall time)")
    ax[0][0].set_ylim(bottom=0)
    ax[0][0].legend()
    ax[0][1].set_title("repository size after each day")
    ax[0][1].set_xlabel("day")
    ax[0][1].set_ylabel("MiB")
    ax[0][1].set_ylim(bottom=0)
    ax[0][1].legend()

    width = 0.38
    for i, mode in enumerate(("cold", "warm")):
        xs, ys, lo, hi = [], [], [], []
        for k, t in enumerate(tools):
            s = summary[t]
            v = s.get(f"restore_{mode}_mbps")
            if v is None:
                continue
            a, b = s[f"restore_{mode}_spread"]
            xs.append(k + (i - 0.5) * width)
            ys.append(v)
            lo.append(v - a)
            hi.append(b - v)
        ax[1][0].bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=mode,
                     color=["#555555", "#bbbbbb"][i])
        for x, y in zip(xs, ys):  # inside the bar, clear of the min-max whiskers
            ax[1][0].text(x, y / 2, f"{y:.0f}", ha="center", va="center", fontsize=8,
                          color="white" if i == 0 else "black")
    ax[1][0].set_xticks(range(len(tools)))
    ax[1][0].set_xticklabels(tools)
    ax[1][0].set_title(f"restore of day7 (median of {env.get('runs', '?')}, min-max bars)")
    ax[1][0].set_ylabel("MB/s")
    ax[1][0].legend()

    vals = [summary[t].get("backup_cpu_s_per_gb") or 0 for t in tools]
    bars = ax[1][1].bar(range(len(tools)), vals, color=[COLORS.get(t, "#777777") for t in tools])
    for b, t in zip(bars, tools):
        rss = summary[t].get("backup_rss_mib")
        ax[1][1].text(b.get_x() + b.get_width() / 2, b.get_height(),
                      f"{b.get_height():.2f} s/GB\nRSS {rss:.0f} MiB" if rss else "",
                      ha="center", va="bottom", fontsize=8)
    ax[1][1].set_xticks(range(len(tools)))
    ax[1][1].set_xticklabels(tools)
    ax[1][1].set_title("CPU s per GB backed up (user+sys), peak RSS")
    ax[1][1].set_ylabel("CPU s / GB")
    ax[1][1].set_ylim(top=max(vals + [0.1]) * 1.25)
    fig.suptitle(f"cairn end-to-end benchmark, scale {env.get('scale')} — {env.get('date', '')}, "
                 f"{env.get('nproc')} cores {env.get('cpu', '')}")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_svg(data, out):
    """Grouped horizontal bars of the headline throughputs, one group per metric."""
    summary, env = data["summary"], data["env"]
    tools = env.get("tools") or list(summary)
    metrics = [("first_mbps", "first snapshot MB/s"), ("incr_mbps", "incremental MB/s (median)"),
               ("restore_cold_mbps", "restore cold MB/s"),
               ("restore_warm_mbps", "restore warm MB/s")]
    metrics = [m for m in metrics if any(summary[t].get(m[0]) for t in tools)]
    top = max([summary[t].get(k) or 0 for t in tools for k, _ in metrics] + [1])
    bar_h, gap, left, width = 16, 18, 190, 520
    height = 50 + len(metrics) * (len(tools) * bar_h + gap + 18) + 20
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" '
           f'height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="22" font-size="15">cairn end-to-end benchmark, scale '
           f'{escape(str(env.get("scale")))} ({escape(env.get("date", ""))})</text>']
    y = 45
    for key, label in metrics:
        svg.append(f'<text x="10" y="{y + 12}" font-weight="bold">{escape(label)}</text>')
        y += 18
        for t in tools:
            v = summary[t].get(key) or 0
            w = v / top * width
            svg.append(f'<text x="{left - 8}" y="{y + 12}" text-anchor="end">{escape(t)}</text>')
            svg.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 3}" '
                       f'fill="{COLORS.get(t, "#777777")}"/>')
            svg.append(f'<text x="{left + w + 4:.1f}" y="{y + 11}">{v:.0f}</text>')
            y += bar_h
        y += gap
    svg.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(svg) + "\n")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    data = load(args[0])
    if "--svg" not in sys.argv and importlib.util.find_spec("matplotlib") is not None:
        out = os.path.join(args[0], "plot.png")
        plot_matplotlib(data, out)
        print(f"plot: {out}")
        return
    out = os.path.join(args[0], "plot.svg")
    plot_svg(data, out)
    print(f"plot: {out}")


if __name__ == "__main__":
    main()
