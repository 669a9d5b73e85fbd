"""The latency-over-time chart of a load run, as an SVG file beside its result.

The report draws the same chart from the run's time-series evidence; this file
is for people who read ``reports/load/`` directly, and uses the report's
drawing so both look alike."""

from __future__ import annotations

from pathlib import Path

from gonogo.integrations.load.stats import LoadResult


def chart_svg(
    result: LoadResult,
    title: str,
    *,
    error_rate_max: float | None = None,
    latency_ms_max: float | None = None,
) -> str:
    """Latency (p50, p95) and error rate per second, with the limits dashed."""
    from gonogo.report.charts import timeseries_svg

    limits: dict[str, float] = {}
    if error_rate_max is not None:
        limits["error_rate"] = error_rate_max
    if latency_ms_max is not None:
        limits["latency_ms"] = latency_ms_max
    return timeseries_svg(result.timeseries(), title, limits)


def write_chart(path: Path, result: LoadResult, title: str, **limits: float | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(chart_svg(result, title, **limits), encoding="utf-8")
    return path
