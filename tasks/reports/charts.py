"""Report charts drawn with matplotlib as SVG, text kept as text so the PDF shows (and extracts) real glyphs."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib import rcParams
from matplotlib.figure import Figure

rcParams.update({
    "svg.fonttype": "none",
    "svg.hashsalt": "cadence",
    # A list, not the generic family: matplotlib falls back glyph by glyph only along an explicit list.
    "font.family": ["DejaVu Sans", "Noto Sans CJK SC"],
    "font.size": 8,
    # Labels are client data (initiative names): "$...$" in one must print as itself, not parse as mathtext.
    "text.parse_math": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
})
SPEND = "#4c72b0"
RESULT = "#dd8452"
PEER = "#c7d3e6"
SIZE = (6.6, 2.4)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    # Fixed margins instead of bbox_inches="tight", which draws every chart twice.
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def data_uri(svg: str) -> str:
    """The SVG as an <img> source: works in a browser, in WeasyPrint, and survives autoescaping."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def trend(labels: Sequence[str], spend: Sequence[float], conversions: Sequence[float],
          spend_label: str, conversions_label: str) -> str:
    """Spend as bars and conversions as a line, per day or per week."""
    fig = Figure(figsize=SIZE)
    fig.subplots_adjust(left=0.1, right=0.9, bottom=0.12, top=0.86)
    ax = fig.add_subplot()
    positions = range(len(labels))
    ax.bar(positions, spend, color=SPEND, label=spend_label, width=0.8)
    ax.set_ylabel(spend_label)
    right = ax.twinx()
    right.plot(positions, conversions, color=RESULT, linewidth=1.6, label=conversions_label)
    right.set_ylabel(conversions_label)
    right.set_ylim(bottom=0)
    step = max(1, len(labels) // 10)
    ax.set_xticks(list(positions)[::step], list(labels)[::step])
    fig.legend(loc="upper left", ncols=2, frameon=False, fontsize=7)
    return _svg(fig)


def shares(names: Sequence[str], values: Sequence[float], label: str) -> str:
    """Horizontal bars, biggest on top: spend by initiative."""
    fig = Figure(figsize=(SIZE[0], 0.35 * len(names) + 0.6), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(list(reversed(names)), list(reversed(values)), color=SPEND)
    ax.set_xlabel(label)
    return _svg(fig)


def position(names: Sequence[str], low: Sequence[float], high: Sequence[float], own: Sequence[float],
             median: Sequence[float], peers_label: str, own_label: str) -> str:
    """The client's value against the peers' interquartile range, one row per KPI, each on its own scale."""
    fig = Figure(figsize=(SIZE[0], 0.45 * len(names) + 0.7), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name, lo, hi, me, value in zip(axes, names, low, high, median, own, strict=True):
        ax.barh([0], [hi - lo], left=[lo], color=PEER, height=0.6, label=peers_label)
        ax.plot([me, me], [-0.3, 0.3], color="#555555", linewidth=1)
        ax.plot([value], [0], "D", color=RESULT, markersize=6, label=own_label)
        span = max(hi, value) - min(lo, value) or abs(value) or 1.0
        ax.set_xlim(min(lo, value) - span * 0.15, max(hi, value) + span * 0.15)
        ax.set_yticks([0], [name])
        ax.spines["left"].set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", ncols=2, frameon=False, fontsize=7)
    return _svg(fig)
