"""The lifecycle of a measure drawn as inline SVG, straight from ``workflow.spec.edges()``.

States stand in a column in lifecycle order (narrow enough for a phone). Each state change of the
spec becomes an arrow: to the next state straight down, back to an earlier state as an arc on the
right, forward past a state as an arc on the left, and a change that keeps the state as a loop on
the left. Nothing is drawn that the machine does not define.
"""
from __future__ import annotations

from collections import defaultdict
from html import escape

from markupsafe import Markup

from workflow import spec

from .labels import STATES, TRIGGERS, label

WIDTH = 400
BOX_X, BOX_W, BOX_H = 120, 120, 40
ROW = 96
TOP = 28


def _center_y(i: int) -> float:
    return TOP + BOX_H / 2 + i * ROW


def _text(x, y, s, cls="", anchor="middle") -> str:
    return (f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" dominant-baseline="middle" '
            f'class="{cls}">{escape(s)}</text>')


def lifecycle_svg(current: str | None = None, available: tuple[str, ...] | list[str] = ()) -> Markup:
    """The lifecycle diagram; ``current`` state highlighted, ``available`` triggers emphasised."""
    order = list(spec.STATES)
    index = {s: i for i, s in enumerate(order)}
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for src, trig, dst in spec.edges():
        if trig not in grouped[(src, dst)]:
            grouped[(src, dst)].append(trig)

    height = TOP * 2 + BOX_H + ROW * (len(order) - 1)
    right = BOX_X + BOX_W
    parts: list[str] = []
    title = str(label(STATES, current)) if current else ""
    parts.append(
        f'<svg class="lifecycle" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    )
    parts.append(
        '<defs><marker id="lc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="lc-head"/></marker>'
        '<marker id="lc-arrow-on" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="lc-head-on"/></marker></defs>'
    )

    back_rank = 0
    skip_rank = 0
    for (src, dst), trigs in sorted(grouped.items(), key=lambda kv: (index[kv[0][0]], index[kv[0][1]])):
        i, j = index[src], index[dst]
        text = " / ".join(str(label(TRIGGERS, t)) for t in trigs)
        on = current == src and any(t in available for t in trigs)
        cls = "lc-edge on" if on else "lc-edge"
        marker = "url(#lc-arrow-on)" if on else "url(#lc-arrow)"
        tcls = "lc-label on" if on else "lc-label"
        names = " ".join(trigs)
        yi, yj = _center_y(i), _center_y(j)
        if j == i + 1:  # the next state: straight down
            x = BOX_X + BOX_W / 2
            parts.append(f'<path d="M{x},{yi + BOX_H / 2} L{x},{yj - BOX_H / 2 - 2}" class="{cls}" '
                         f'marker-end="{marker}" data-trigger="{names}"/>')
            parts.append(_text(x - 8, (yi + yj) / 2, text, tcls, "end"))
        elif i == j:  # same state: a loop on the left
            x0 = BOX_X
            parts.append(f'<path d="M{x0},{yi - 10} C{x0 - 40},{yi - 30} {x0 - 40},{yi + 30} {x0 - 2},{yi + 10}" '
                         f'class="{cls}" fill="none" marker-end="{marker}" data-trigger="{names}"/>')
            parts.append(_text(x0 - 34, yi, text, tcls, "end"))
        elif j < i:  # back to an earlier state: an arc on the right
            back_rank += 1
            span = i - j
            bulge = 34 * span + 10 * back_rank
            cx = right + bulge * 4 / 3
            y0, y1 = yi - 6 + 4 * (back_rank % 2), yj + 6 - 4 * (back_rank % 3)
            parts.append(f'<path d="M{right},{y0} C{cx:.0f},{y0} {cx:.0f},{y1} {right + 2},{y1}" class="{cls}" '
                         f'fill="none" marker-end="{marker}" data-trigger="{names}"/>')
            parts.append(_text(right + bulge, (y0 + y1) / 2, text, tcls + " halo"))
        else:  # forward past a state: an arc on the left
            skip_rank += 1
            bulge = 30 * (j - i) + 10 * skip_rank
            cx = BOX_X - bulge * 4 / 3
            parts.append(f'<path d="M{BOX_X},{yi + 8} C{cx:.0f},{yi + 8} {cx:.0f},{yj - 8} {BOX_X - 2},{yj - 8}" '
                         f'class="{cls}" fill="none" marker-end="{marker}" data-trigger="{names}"/>')
            parts.append(_text(BOX_X - bulge, (yi + yj) / 2, text, tcls + " halo"))

    for s in order:
        y = _center_y(index[s]) - BOX_H / 2
        cls = "lc-state current" if s == current else "lc-state"
        parts.append(f'<g class="{cls}" data-state="{s}"><rect x="{BOX_X}" y="{y}" width="{BOX_W}" '
                     f'height="{BOX_H}" rx="8" ry="8"/>')
        parts.append(_text(BOX_X + BOX_W / 2, y + BOX_H / 2, str(label(STATES, s)), "lc-name") + "</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
