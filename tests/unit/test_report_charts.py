"""The inline SVG charts: the time-series evidence shape and the timeline."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from gonogo.report.charts import parse_timeseries, timeline_svg, timeseries_svg


def test_timeseries_accepts_a_list_or_samples_and_sorts_by_time() -> None:
    raw = [{"t": 2, "p95_ms": 120, "error_rate": 0.1}, {"t": 0, "p95_ms": 80, "note": "x"}]
    assert [s["t"] for s in parse_timeseries(json.dumps(raw))] == [0.0, 2.0]
    assert parse_timeseries({"samples": raw})[0] == {"t": 0.0, "p95_ms": 80.0}
    with pytest.raises(ValueError, match="needs a 't'"):
        parse_timeseries(json.dumps([{"rps": 3}]))


def test_timeseries_svg_is_well_formed_with_axes_and_limit_line() -> None:
    samples = parse_timeseries(
        [{"t": t, "p95_ms": 100 + t, "error_rate": 0.01 * t} for t in range(5)]
    )
    svg = timeseries_svg(samples, "load <baseline>", {"error_rate": 0.05})
    root = ET.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 3  # p95, error rate, the error-rate limit
    assert any(line.get("stroke-dasharray") for line in lines)
    assert "load &lt;baseline&gt;" in svg
    assert ">5 %</text>" in svg  # the error axis reaches the 5 % limit, a round figure


def test_timeline_places_planned_offsets_and_actual_bars() -> None:
    rows = [
        {
            "label": "Phase 1 (T-30)",
            "offset": -30,
            "start": 100.0,
            "duration": 2.0,
            "state": "passed",
        },
        {
            "label": "Phase 2 (T-10)",
            "offset": -10,
            "start": 102.0,
            "duration": 1.0,
            "state": "failed",
        },
    ]
    svg = timeline_svg(rows, run_start=100.0)
    root = ET.fromstring(svg)
    bars = root.findall("{http://www.w3.org/2000/svg}rect")
    assert [b.get("fill") for b in bars] == ["#2e7d32", "#c62828"]
    assert float(bars[1].get("x") or 0) > float(bars[0].get("x") or 0)
    assert "T-30</text>" in svg and "T-10</text>" in svg
    assert timeline_svg([], 0.0) == "<p>no phase ran</p>"
