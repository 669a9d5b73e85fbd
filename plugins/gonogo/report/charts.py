"""Charts as inline SVG, drawn here so the report needs no script library and
no network: it must open on an approver's laptop with nothing else.

Two charts: the load run over time (latency and error rate, the shape of
``TIMESERIES_MIME`` evidence) and the phase timeline (planned T-offset beside
the actual start and duration)."""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

TIMESERIES_MIME = "application/vnd.gonogo.timeseries+json"
"""Evidence attachment holding a load run over time: a JSON list of samples
``{"t": seconds since start, "rps": ..., "error_rate": fraction, "p50_ms": ...,
"p95_ms": ...}`` (every field but ``t`` optional)."""

_W, _H = 640, 220
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 56, 56, 24, 36
_COLOURS = {"p50_ms": "#1f77b4", "p95_ms": "#9467bd", "error_rate": "#d62728", "rps": "#2ca02c"}


def parse_timeseries(content: Any) -> list[dict[str, float]]:
    """The samples of a time-series attachment; ValueError when it is not one."""
    data = json.loads(content) if isinstance(content, str) else content
    if isinstance(data, dict):
        data = data.get("samples", [])
    if not isinstance(data, list):
        raise ValueError("a time series is a JSON list of samples")
    samples = []
    for row in data:
        if not isinstance(row, dict) or "t" not in row:
            raise ValueError("every sample needs a 't' (seconds since the run started)")
        samples.append(
            {k: float(v) for k, v in row.items() if isinstance(v, int | float) and v == v}
        )
    return sorted(samples, key=lambda s: s["t"])


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return value


def _polyline(points: list[tuple[float, float]], colour: str, dash: str = "") -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{extra} points="{coords}"/>'


def timeseries_svg(samples: list[dict[str, float]], title: str, limits: dict[str, float]) -> str:
    """Latency (left axis, ms) and error rate (right axis, %) over the run.
    ``limits`` may hold ``error_rate`` (a fraction) and ``latency_ms`` to draw
    the environment's thresholds as dashed lines."""
    if not samples:
        return "<p>no samples</p>"
    t_max = max(s["t"] for s in samples) or 1.0
    lat_keys = [k for k in ("p50_ms", "p95_ms") if any(k in s for s in samples)]
    lat_max = _nice_max(
        max([s.get(k, 0.0) for s in samples for k in lat_keys] + [limits.get("latency_ms", 0.0)])
    )
    err_max = _nice_max(
        100 * max([s.get("error_rate", 0.0) for s in samples] + [limits.get("error_rate", 0.0)])
    )
    plot_w, plot_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def x(t: float) -> float:
        return _PAD_L + plot_w * t / t_max

    def y(value: float, top: float) -> float:
        return _PAD_T + plot_h * (1 - value / top)

    parts = [
        f'<svg class="gonogo-chart" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{_PAD_L}" y="{_PAD_T}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        yy = _PAD_T + plot_h * (1 - frac)
        parts.append(
            f'<text x="{_PAD_L - 6}" y="{yy + 4:.1f}" text-anchor="end" class="axis">'
            f"{lat_max * frac:g} ms</text>"
        )
        parts.append(
            f'<text x="{_W - _PAD_R + 6}" y="{yy + 4:.1f}" class="axis">{err_max * frac:g} %</text>'
        )
    for frac in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{x(t_max * frac):.1f}" y="{_H - _PAD_B + 16}" text-anchor="middle" '
            f'class="axis">{t_max * frac:.0f} s</text>'
        )
    for key in lat_keys:
        pts = [(x(s["t"]), y(s[key], lat_max)) for s in samples if key in s]
        parts.append(_polyline(pts, _COLOURS[key]))
    if any("error_rate" in s for s in samples):
        pts = [(x(s["t"]), y(100 * s["error_rate"], err_max)) for s in samples if "error_rate" in s]
        parts.append(_polyline(pts, _COLOURS["error_rate"]))
    if "error_rate" in limits:
        yy = y(100 * limits["error_rate"], err_max)
        parts.append(_polyline([(x(0), yy), (x(t_max), yy)], _COLOURS["error_rate"], "6 4"))
    if "latency_ms" in limits:
        yy = y(limits["latency_ms"], lat_max)
        parts.append(_polyline([(x(0), yy), (x(t_max), yy)], _COLOURS["p95_ms"], "6 4"))
    legend = [(k, k.replace("_ms", " latency")) for k in lat_keys]
    legend.append(("error_rate", "error rate"))
    for n, (key, label) in enumerate(legend):
        lx = _PAD_L + 8 + n * 120
        parts.append(
            f'<rect x="{lx}" y="{_PAD_T + 6}" width="12" height="4" fill="{_COLOURS[key]}"/>'
            f'<text x="{lx + 16}" y="{_PAD_T + 12}" class="axis">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def timeline_svg(rows: list[dict[str, Any]], run_start: float) -> str:
    """One row per phase that ran: its planned T-offset on the left scale
    (minutes from the deployment start) and its actual start and duration on
    the right scale (seconds since the run started), coloured by outcome.

    ``rows`` hold ``label``, ``offset`` (minutes or None), ``start`` (epoch
    seconds), ``duration`` (seconds) and ``state`` (passed, failed, skipped)."""
    if not rows:
        return "<p>no phase ran</p>"
    row_h, label_w, plan_w, gap, act_w = 24, 230, 200, 24, 300
    height = 40 + row_h * len(rows)
    width = label_w + plan_w + gap + act_w + 20
    offsets = [r["offset"] for r in rows if r["offset"] is not None]
    lo, hi = (min([*offsets, 0]), max([*offsets, 0])) if offsets else (0, 1)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    end = max(r["start"] - run_start + r["duration"] for r in rows) or 1.0
    colours = {"passed": "#2e7d32", "failed": "#c62828", "skipped": "#9e9e9e"}
    x0_plan, x0_act = label_w, label_w + plan_w + gap

    def plan_x(minutes: float) -> float:
        return x0_plan + 10 + (plan_w - 20) * (minutes - lo) / (hi - lo)

    def act_x(seconds: float) -> float:
        return x0_act + act_w * seconds / end

    parts = [
        f'<svg class="gonogo-timeline" role="img" aria-label="phase timeline" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{x0_plan}" y="14" class="axis">planned (T-offset, minutes)</text>',
        f'<text x="{x0_act}" y="14" class="axis">actual (seconds since the run started, '
        f"0 – {end:.1f} s)</text>",
        f'<line x1="{plan_x(0):.1f}" y1="20" x2="{plan_x(0):.1f}" y2="{height - 8}" '
        'stroke="#bbb" stroke-dasharray="3 3"/>',
        f'<text x="{plan_x(0):.1f}" y="{height - 1}" text-anchor="middle" class="axis">T-0</text>',
    ]
    for n, row in enumerate(rows):
        top = 24 + n * row_h
        colour = colours.get(row["state"], "#9e9e9e")
        parts.append(
            f'<text x="4" y="{top + 15}" class="label">{escape(str(row["label"]))[:40]}</text>'
        )
        if row["offset"] is not None:
            px = plan_x(row["offset"])
            parts.append(
                f'<circle cx="{px:.1f}" cy="{top + 10}" r="5" fill="#1565c0"/>'
                f'<text x="{px + 8:.1f}" y="{top + 14}" class="axis">'
                f"T{row['offset']:+d}</text>"
            )
        start = row["start"] - run_start
        bar_w = max(2.0, act_x(start + row["duration"]) - act_x(start))
        parts.append(
            f'<rect x="{act_x(start):.1f}" y="{top + 3}" width="{bar_w:.1f}" height="14" '
            f'fill="{colour}"><title>{escape(str(row["label"]))}: started +{start:.1f} s, '
            f"took {row['duration']:.2f} s, {escape(row['state'])}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)
