"""Small charts drawn on the server as SVG: no script, no library, readable on a phone.

Colours come from CSS classes (``s-<key>``) so the page's stylesheet decides them; every chart
has a title and the numbers are written next to the bars, so it still reads without colour.
"""
from __future__ import annotations

import datetime as dt
from html import escape

from markupsafe import Markup

W = 360


def _t(x, y, s, cls="", anchor="start", baseline="middle") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" dominant-baseline="{baseline}" '
            f'class="{cls}">{escape(str(s))}</text>')


def _clip(s: str, n: int) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def legend(series) -> str:
    out, x = [], 0.0
    for key, name in series:
        out.append(f'<rect x="{x:.1f}" y="2" width="10" height="10" class="s-{key}"/>')
        out.append(_t(x + 14, 7, name, "c-legend"))
        x += 22 + 12 * len(str(name))
    return "".join(out)


def stacked_bars(title: str, rows, series, empty: str = "") -> Markup:
    """Horizontal stacked bars: ``rows`` is ``[(label, {series_key: n})]``, ``series`` ``[(key, name)]``."""
    row_h, label_w, num_w, top = 26, 112, 58, 24
    bar_w = W - label_w - num_w
    height = top + max(1, len(rows)) * row_h + 8
    out = [f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>', legend(series)]
    total_max = max([sum(v.values()) for _, v in rows] + [1])
    if not rows:
        out.append(_t(W / 2, top + row_h / 2, empty, "c-empty", "middle"))
    for n, (name, values) in enumerate(rows):
        y = top + n * row_h
        out.append(_t(label_w - 6, y + row_h / 2, _clip(name, 8), "c-label", "end"))
        x = float(label_w)
        for key, _ in series:
            v = values.get(key, 0)
            if not v:
                continue
            w = bar_w * v / total_max
            out.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" class="s-{key}">'
                       f'<title>{escape(str(name))}: {v}</title></rect>')
            x += w
        total = sum(values.values())
        text = f"{values['done']}/{total}" if "done" in values and len(values) > 1 else str(total)
        out.append(_t(x + 4, y + row_h / 2, text, "c-num"))
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(title: str, series, empty: str = "") -> Markup:
    """Lines over dates: ``series`` is ``[(key, name, [(date, value), ...])]`` (values cumulative or not)."""
    height, left, right, top, bottom = 210, 34, 12, 24, 28
    pw, ph = W - left - right, height - top - bottom
    out = [f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
           legend([(k, name) for k, name, _ in series])]
    points = [p for _, _, pts in series for p in pts]
    if not points:
        out.append(_t(W / 2, top + ph / 2, empty, "c-empty", "middle"))
        out.append("</svg>")
        return Markup("".join(out))
    d0 = min(p[0] for p in points)
    d1 = max(p[0] for p in points)
    span = max((d1 - d0).days, 1)
    vmax = max(max(int(p[1]) for p in points), 1)

    def px(d: dt.date) -> float:
        return left + pw * (d - d0).days / span

    def py(v: float) -> float:
        return top + ph - ph * v / vmax

    # axes and a few grid lines
    out.append(f'<path d="M{left},{top} L{left},{top + ph} L{left + pw},{top + ph}" class="c-axis"/>')
    step = max(1, -(-vmax // 4))  # whole-number ticks, at most four
    vmax = step * -(-vmax // step)  # the top grid line is the top of the plot
    for v in range(step, int(vmax) + 1, step):
        out.append(f'<path d="M{left},{py(v):.1f} L{left + pw},{py(v):.1f}" class="c-grid"/>')
        out.append(_t(left - 4, py(v), str(v), "c-tick", "end"))
    out.append(_t(left - 4, top + ph, "0", "c-tick", "end"))
    out.append(_t(left, top + ph + 14, d0.isoformat(), "c-tick", "start"))
    if d1 != d0:
        out.append(_t(left + pw, top + ph + 14, d1.isoformat(), "c-tick", "end"))
    for key, name, pts in series:
        if not pts:
            continue
        path = " ".join(("M" if n == 0 else "L") + f"{px(d):.1f},{py(v):.1f}" for n, (d, v) in enumerate(pts))
        if len(pts) == 1:
            d, v = pts[0]
            path += f" L{px(d) + 0.1:.1f},{py(v):.1f}"
        out.append(f'<path d="{path}" class="c-line l-{key}" fill="none"/>')
        d, v = pts[-1]
        out.append(f'<circle cx="{px(d):.1f}" cy="{py(v):.1f}" r="3" class="s-{key}">'
                   f'<title>{escape(str(name))} {d.isoformat()}: {v}</title></circle>')
    out.append("</svg>")
    return Markup("".join(out))
