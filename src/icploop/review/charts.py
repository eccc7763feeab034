"""The pack's charts, drawn with matplotlib (Agg: no display) from the pack's own data.

Each chart comes as inline SVG for the HTML (text drawn as paths, metadata and DOCTYPE removed so
the page references nothing outside itself) and as PNG bytes for the PDF.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the pack is built on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

plt.rcParams["svg.fonttype"] = "path"  # no font files or names the reader's machine must have
TAG_COLOURS = {"strong_fit": "#2e7d32", "near_fit": "#f9a825", "bad_fit": "#c62828"}

Draw = Callable[[Figure, dict[str, Any]], bool]


def _triangle(fig: Figure, pack: dict[str, Any]) -> bool:
    cells = pack["charts"]["triangle"]
    if not cells:
        return False
    cohorts = sorted({c["cohort"] for c in cells})
    months = sorted({c["months"] for c in cells})
    grid = np.full((len(cohorts), len(months)), np.nan)
    for c in cells:
        if c["retention"] is not None:
            grid[cohorts.index(c["cohort"]), months.index(c["months"])] = c["retention"]
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0.5, vmax=1.0)
    ax.set_yticks(range(len(cohorts)), cohorts, fontsize=7)
    ax.set_xlabel("months since first payment")
    ax.set_title("Logo retention by close cohort")
    fig.colorbar(image, ax=ax, label="share still paying")
    return True


def _km(fig: Figure, pack: dict[str, Any]) -> bool:
    points = pack["charts"]["km"]
    if not points:
        return False
    ax = fig.add_subplot()
    for group in sorted({p["group"] for p in points}):
        mine = [p for p in points if p["group"] == group]
        ax.step(
            [p["months"] for p in mine], [p["survival"] for p in mine], where="post", label=group
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months since first payment")
    ax.set_ylabel("share still paying (Kaplan-Meier)")
    ax.set_title("Survival by segment")
    ax.legend(fontsize=8)
    return True


def _tags(fig: Figure, pack: dict[str, Any]) -> bool:
    rows = pack["fit_tags"]["rows"]
    if not rows:
        return False
    ax = fig.add_subplot()
    left = np.zeros(len(rows))
    labels = [r["segment"] for r in rows]
    for tag, colour in TAG_COLOURS.items():
        shares = np.array([r[f"{tag}_share"] for r in rows])
        ax.barh(labels, shares, left=left, color=colour, label=tag)
        left += shares
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of tagged accounts")
    ax.set_title("Fit-tag mix by segment")
    ax.legend(fontsize=8, loc="lower right")
    return True


def _scatter(fig: Figure, pack: dict[str, Any]) -> bool:
    points = pack["synthesis"]["points"]
    if not points:
        return False
    ax = fig.add_subplot()
    for p in points:
        marker = "s" if p["attribute"] == "segment" else "o"
        ax.scatter(
            p["win_rate"], p["churn_rate"], s=20 + p["accounts"] / 5, marker=marker, alpha=0.6
        )
        ax.annotate(p["value"], (p["win_rate"], p["churn_rate"]), fontsize=7)
    ax.set_xlabel("win rate, last 4 quarters")
    ax.set_ylabel("first-year churn")
    ax.set_title("Close rate against first-year churn (squares: segments, dots: industries)")
    return True


CHARTS: dict[str, tuple[str, Draw]] = {
    "cohort_triangle": ("churn_cohort", _triangle),
    "km_by_segment": ("churn_cohort", _km),
    "tag_mix": ("fit_tags", _tags),
    "close_vs_churn": ("synthesis", _scatter),
}


def render_charts(pack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every chart with data: name -> ``section`` (where it goes), ``svg`` (text), ``png``."""
    out: dict[str, dict[str, Any]] = {}
    for name, (section, draw) in CHARTS.items():
        fig = plt.figure(figsize=(7.5, 4.2))
        try:
            if not draw(fig, pack):
                continue
            fig.tight_layout()
            out[name] = {"section": section, "svg": _svg(fig), "png": _png(fig)}
        finally:
            plt.close(fig)
    return out


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and the DOCTYPE's external DTD
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
