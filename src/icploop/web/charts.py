"""Small charts drawn on the server as inline SVG (no scripts, no CDN, no external fonts)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from icploop.formatting import pct

WIDTH, HEIGHT, PAD = 560, 180, 34


def _scale(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    return low, high


def line_chart(
    labels: Sequence[str], values: Sequence[float | None], title: str, percent: bool = True
) -> Markup:
    """A line of values over labelled periods (None values are left out)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return Markup('<p class="muted">No data for this chart.</p>')
    low, high = _scale([v for _, v in points])
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        y = HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2 * PAD)
        return PAD + i * step, y

    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in points))
    fmt = (lambda v: pct(v, 1)) if percent else (lambda v: f"{v:,.0f}")
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{path}"/>',
    ]
    for i, v in points:
        x, y = xy(i, v)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2563eb"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="10" text-anchor="middle">'
            f"{escape(fmt(v))}</text>"
        )
    for i, label in enumerate(labels):
        x = PAD + i * step
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str) -> Markup:
    """Bars of non-negative values (e.g. MRR by month); every few labels shown."""
    if not values:
        return Markup('<p class="muted">No data for this chart.</p>')
    high = max(max(values), 1.0)
    width = (WIDTH - 2 * PAD) / len(values)
    every = max(1, len(values) // 8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD}" y="14" font-size="10">max {escape(f"{high:,.0f}")}</text>',
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = v / high * (HEIGHT - 2 * PAD)
        x = PAD + i * width
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{max(width - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="#0f766e"><title>{escape(label)}: {v:,.0f}</title></rect>'
        )
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="9">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# gains above the axis, losses below, in the order they stack
MOVEMENT_COLOURS: dict[str, str] = {
    "new": "#0f766e",
    "reactivation": "#14b8a6",
    "expansion": "#2563eb",
    "contraction": "#f59e0b",
    "churn": "#dc2626",
}
LOSSES = ("contraction", "churn")


def movement_chart(labels: Sequence[str], rows: Sequence[dict[str, float]], title: str) -> Markup:
    """Stacked bars of MRR movements per period: new, reactivation and expansion above the
    axis, contraction and churn below, with a legend; each bar segment names its amount."""
    if not rows:
        return Markup('<p class="muted">No data for this chart.</p>')
    up = [sum(r[k] for k in MOVEMENT_COLOURS if k not in LOSSES) for r in rows]
    down = [sum(r[k] for k in LOSSES) for r in rows]
    span = max(max(up) + max(down), 1.0)
    inner = HEIGHT - 2 * PAD
    axis = PAD + max(up) / span * inner
    width = (WIDTH - 2 * PAD) / len(rows)
    every = max(1, len(rows) // 8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{axis:.1f}" y2="{axis:.1f}" stroke="#555"/>',
    ]
    for i, (label, r) in enumerate(zip(labels, rows, strict=True)):
        x = PAD + i * width
        above, below = axis, axis
        for key, colour in MOVEMENT_COLOURS.items():
            h = r[key] / span * inner
            if h <= 0:
                continue
            if key in LOSSES:
                y, below = below, below + h
            else:
                above -= h
                y = above
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)} {key}: {r[key]:,.0f}</title></rect>'
            )
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 4}" font-size="9">{escape(label)}</text>')
    for j, (key, colour) in enumerate(MOVEMENT_COLOURS.items()):
        lx = PAD + j * 90
        parts.append(f'<rect x="{lx}" y="4" width="9" height="9" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 12}" y="12" font-size="9">{key}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


LINE_COLOURS = ("#2563eb", "#dc2626", "#0f766e", "#f59e0b", "#7c3aed", "#db2777", "#475569")


def survival_chart(curves: Sequence[dict[str, object]], title: str) -> Markup:
    """Kaplan-Meier curves as steps, one colour per group (the first seven groups), survival
    from 0% to 100% against months since start, with a legend."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for row in curves:
        months, survival = row.get("months"), row.get("survival")
        if isinstance(months, int | float) and isinstance(survival, int | float):
            groups.setdefault(str(row.get("group")), []).append((float(months), float(survival)))
    if not groups:
        return Markup('<p class="muted">No data for this chart.</p>')
    top = max(m for points in groups.values() for m, _ in points) or 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(m: float, s: float) -> str:
        return f"{PAD + m / top * inner_w:.1f},{HEIGHT - PAD - s * inner_h:.1f}"

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" x2="{PAD}" y1="{PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>',
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{HEIGHT - PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>',
        f'<text x="2" y="{PAD + 4}" font-size="9">100%</text>',
        f'<text x="8" y="{HEIGHT - PAD}" font-size="9">0%</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="9" text-anchor="end">'
        f"{top:.0f} months</text>",
    ]
    for i, (group, points) in enumerate(list(groups.items())[: len(LINE_COLOURS)]):
        colour = LINE_COLOURS[i]
        steps: list[str] = []
        last = 1.0
        for m, s in sorted(points):
            steps += [xy(m, last), xy(m, s)]
            last = s
        parts.append(
            f'<polyline class="km" data-group="{escape(group)}" fill="none" stroke="{colour}" '
            f'stroke-width="2" points="{" ".join(steps)}"><title>{escape(group)}</title></polyline>'
        )
        parts.append(
            f'<text x="{PAD + 8 + i * 80}" y="14" font-size="9" fill="{colour}">{escape(group)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
