"""Report charts drawn with matplotlib as SVG, text kept as text so the PDF shows (and extracts) real glyphs."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

from babel import Locale
from babel.numbers import format_compact_decimal, format_decimal, format_percent, get_currency_symbol
from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

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
SIZE = (6.6, 2.6)
# Below this the axis shows grouped numbers (250 000); from it, the locale's short form (10 млн, 10M).
COMPACT_FROM = 1_000_000
# A Chinese reader counts in 万 (ten thousand) and 亿 (a hundred million), so short forms start earlier.
COMPACT_FROM_BY_LANGUAGE = {"zh": 10_000}


def tick_label(value: float, kind: str, locale: Locale | str, step: float | None = None) -> str:
    """One axis tick as the locale writes it: grouped or short-form numbers, rates as percentages, never 1e7."""
    if kind == "percent":
        digits = _digits(step * 100 if step else None)
        return format_percent(value, format="#,##0" + ("." + "0" * digits if digits else "") + "%", locale=locale)
    if abs(value) >= COMPACT_FROM_BY_LANGUAGE.get(Locale.parse(locale).language, COMPACT_FROM):
        return format_compact_decimal(value, locale=locale, fraction_digits=1)
    digits = _digits(step)
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=locale)


def _digits(step: float | None) -> int:
    """Decimals needed to tell ticks `step` apart (0 for whole steps, at most 3)."""
    if not step:
        return 0
    for digits in range(3):
        if abs(step * 10 ** digits - round(step * 10 ** digits)) < 1e-6 * max(1.0, step * 10 ** digits):
            return digits
    return 3


def unit(kind: str, currency: str, locale: Locale | str) -> str:
    """The unit an axis is in: the currency's symbol in the locale, % for rates, nothing for counts."""
    if kind == "money":
        return get_currency_symbol(currency, locale=locale) if currency else ""
    return "%" if kind == "percent" else ""


def _axis(axis: Any, kind: str, locale: Locale | str) -> None:
    def label(value: float, _position: int) -> str:
        locs = axis.get_majorticklocs()
        step = abs(locs[1] - locs[0]) if len(locs) > 1 else None
        return tick_label(value, kind, locale, step)

    axis.set_major_formatter(FuncFormatter(label))


def _title(fig: Figure, title: str, note: str | None = None) -> None:
    fig.suptitle(title, x=0.01, ha="left", fontsize=9.5, fontweight="bold")
    if note:
        fig.text(0.01, 0.01, note, ha="left", va="bottom", fontsize=6.5, color="#555555")


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    # Fixed margins instead of bbox_inches="tight", which draws every chart twice.
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def data_uri(svg: str) -> str:
    """The SVG as an <img> source: works in a browser, in WeasyPrint, and survives autoescaping."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def trend(labels: Sequence[str], spend: Sequence[float], conversions: Sequence[float], spend_label: str,
          conversions_label: str, *, title: str, locale: Locale | str, partial: Sequence[bool] = (),
          partial_note: str | None = None, colour: str = SPEND) -> str:
    """Spend as bars and conversions as a line, per day or per week; partial periods hatched and pale."""
    cut = [bool(p) for p in partial] or [False] * len(labels)
    fig = Figure(figsize=SIZE)
    fig.subplots_adjust(left=0.13, right=0.87, bottom=0.2 if any(cut) else 0.12, top=0.8)
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    bars = ax.bar(positions, spend, color=colour, label=spend_label, width=0.8)
    for bar, short in zip(bars, cut, strict=True):
        if short:
            bar.set_alpha(0.35)
            bar.set_hatch("///")
            bar.set_edgecolor(colour)
    ax.set_ylabel(spend_label)
    _axis(ax.yaxis, "number", locale)
    right = ax.twinx()
    # The line stops before a partial period instead of diving into it; its value is drawn as a hollow dot.
    whole = [c if not short else math.nan for c, short in zip(conversions, cut, strict=True)]
    right.plot(positions, whole, color=RESULT, linewidth=1.6, label=conversions_label)
    short_points = [(x, c) for x, c, short in zip(positions, conversions, cut, strict=True) if short]
    if short_points:
        right.plot(*zip(*short_points, strict=True), "o", color=RESULT, markerfacecolor="white", markersize=4)
    right.set_ylabel(conversions_label)
    right.set_ylim(bottom=0)
    _axis(right.yaxis, "number", locale)
    # About ten day numbers fit under the chart, but only about seven "MM-DD" week labels without touching.
    fit = 10 if max((len(str(label)) for label in labels), default=0) <= 2 else 7
    step = max(1, -(-len(labels) // fit))
    ax.set_xticks(positions[::step], list(labels)[::step])
    fig.legend(loc="upper right", ncols=2, frameon=False, fontsize=7)
    _title(fig, title, partial_note if any(cut) else None)
    return _svg(fig)


def shares(names: Sequence[str], values: Sequence[float], label: str, *, title: str, locale: Locale | str,
           colour: str = SPEND) -> str:
    """Horizontal bars, biggest on top: spend by initiative."""
    fig = Figure(figsize=(SIZE[0], 0.35 * len(names) + 0.9), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(list(reversed(names)), list(reversed(values)), color=colour)
    ax.set_xlabel(label)
    _axis(ax.xaxis, "number", locale)
    _title(fig, title)
    return _svg(fig)


def position(names: Sequence[str], kinds: Sequence[str], low: Sequence[float], high: Sequence[float],
             own: Sequence[float], median: Sequence[float], peers_label: str, own_label: str, *, title: str,
             locale: Locale | str, colour: str = RESULT) -> str:
    """The client's value against the peers' interquartile range, one row per KPI, each on its own scale."""
    fig = Figure(figsize=(SIZE[0], 0.45 * len(names) + 1.0), layout="constrained")
    axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
    for ax, name, kind, lo, hi, me, value in zip(axes, names, kinds, low, high, median, own, strict=True):
        ax.barh([0], [hi - lo], left=[lo], color=PEER, height=0.6, label=peers_label)
        ax.plot([me, me], [-0.3, 0.3], color="#555555", linewidth=1)
        ax.plot([value], [0], "D", color=colour, markersize=6, label=own_label)
        span = max(hi, value) - min(lo, value) or abs(value) or 1.0
        ax.set_xlim(min(lo, value) - span * 0.15, max(hi, value) + span * 0.15)
        ax.set_yticks([0], [name])
        ax.spines["left"].set_visible(False)
        _axis(ax.xaxis, "percent" if kind == "percent" else "number", locale)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", ncols=2, frameon=False, fontsize=7)
    _title(fig, title)
    return _svg(fig)
