"""Request counters and latency histograms of the HTTP mirror, per Deployment,
rendered in the Prometheus text format.

Each Deployment's own ``/<deployment>/metrics`` carries no namespace or
service label: the scrape target adds them (file-based discovery), as it would
for a real pod. The mirror's global ``/metrics`` adds them itself.

The request series carry a ``version`` label, the release (image tag) that
answered, as a real pod's exporter would: after a release, the previous
release's counters stop growing and the new one's start, so a query can judge
the new release alone.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds, in seconds, of the latency histogram (Prometheus' defaults)."""
KNOWN_CODES = ("200", "500", "503")
"""Codes exported from the start at 0, so that error ratios are defined before the first error."""


@dataclass
class _Series:
    codes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KNOWN_CODES, 0))
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0


class RequestStats:
    """Thread-safe counters keyed by (namespace, deployment), then by version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str], dict[str, _Series]] = {}

    def clear(self) -> None:
        """Forget every count, as a freshly started process would."""
        with self._lock:
            self._series.clear()

    def observe(
        self, namespace: str, name: str, code: int, seconds: float, version: str = ""
    ) -> None:
        with self._lock:
            by_version = self._series.setdefault((namespace, name), {})
            s = by_version.setdefault(version, _Series())
            key = str(code)
            s.codes[key] = s.codes.get(key, 0) + 1
            i = bisect.bisect_left(BUCKETS, seconds)
            if i < len(BUCKETS):
                s.buckets[i] += 1
            s.total += seconds
            s.count += 1

    def render(
        self,
        keys: list[tuple[str, str]],
        *,
        with_target_labels: bool,
        info: dict[tuple[str, str], dict[str, str | int]],
    ) -> str:
        """Prometheus text for the given deployments. ``info`` gives each one's
        version, image and available replicas for the info gauges."""
        with self._lock:
            series: list[tuple[tuple[str, str], str, _Series]] = []
            for k in keys:
                by_version = dict(self._series.get(k, {}))
                # The serving release is exported from the start, at 0, so
                # that its error ratio is defined before its first request.
                by_version.setdefault(str(info.get(k, {}).get("version", "")), _Series())
                for version, s in sorted(by_version.items()):
                    copy = _Series(dict(s.codes), list(s.buckets), s.total, s.count)
                    series.append((k, version, copy))
        out: list[str] = []

        def labels(key: tuple[str, str], extra: dict[str, str]) -> str:
            pairs = {"namespace": key[0], "service": key[1]} if with_target_labels else {}
            pairs.update(extra)
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items())
            return "{" + inner + "}" if inner else ""

        out.append("# HELP http_requests_total Requests answered, by release and status code.")
        out.append("# TYPE http_requests_total counter")
        for key, version, s in series:
            for code, n in sorted(s.codes.items()):
                out.append(
                    f"http_requests_total{labels(key, {'version': version, 'code': code})} {n}"
                )
        out.append("# HELP http_request_duration_seconds Time to answer a request, by release.")
        out.append("# TYPE http_request_duration_seconds histogram")
        hist = "http_request_duration_seconds"
        for key, version, s in series:
            running = 0
            v = {"version": version}
            for bound, n in zip(BUCKETS, s.buckets, strict=True):
                running += n
                out.append(f"{hist}_bucket{labels(key, {**v, 'le': f'{bound:g}'})} {running}")
            out.append(f"{hist}_bucket{labels(key, {**v, 'le': '+Inf'})} {s.count}")
            out.append(f"{hist}_sum{labels(key, v)} {s.total:.6f}")
            out.append(f"{hist}_count{labels(key, v)} {s.count}")
        out.append("# HELP sophia_build_info The release that serves: 1 for the running image.")
        out.append("# TYPE sophia_build_info gauge")
        for key in keys:
            meta = info.get(key, {})
            extra = {"version": str(meta.get("version", "")), "image": str(meta.get("image", ""))}
            out.append(f"sophia_build_info{labels(key, extra)} 1")
        out.append("# HELP sophia_available_replicas Available replicas of the Deployment.")
        out.append("# TYPE sophia_available_replicas gauge")
        for key in keys:
            available = info.get(key, {}).get("available", 0)
            out.append(f"sophia_available_replicas{labels(key, {})} {available}")
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
