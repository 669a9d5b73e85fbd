"""Requests the API server has served, from its own metrics.

``apiserver_request_total`` counts every request by verb and resource; the
difference over a run is what the run cost the API server. Controllers, kwok
and the sandbox's mirror make requests too, so the idle rate over a quiet
window is measured and subtracted."""

from __future__ import annotations

import re
import time
from collections import Counter

from gonogo_sandbox.config import SandboxConfig

from benchmarks.scale import kubectl

_LINE = re.compile(r"^apiserver_request_total\{([^}]*)\}\s+([0-9.e+]+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def request_counts(cfg: SandboxConfig) -> Counter[str]:
    """Requests so far, keyed by "VERB resource"."""
    text = kubectl(cfg, "get", "--raw", "/metrics", timeout=30).stdout
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(1)))
        counts[f"{labels.get('verb', '?')} {labels.get('resource', '?')}"] += int(float(m.group(2)))
    return counts


READ_VERBS = ("LIST", "GET")
"""gonogo's checks read with LIST (one per kind and namespace) and GET; the
controllers, kwok and the mirror keep their caches with WATCH and write with
PUT/PATCH/POST, so counting reads isolates the gate's cost from their churn."""


def reads(counts: Counter[str]) -> int:
    """LIST and GET requests of resources (not /metrics, /healthz and the like,
    which the benchmark itself and the sandbox's probes call)."""
    total = 0
    for key, value in counts.items():
        verb, _, resource = key.partition(" ")
        if verb in READ_VERBS and resource:
            total += value
    return total


def idle_rate(cfg: SandboxConfig, seconds: float = 10.0) -> float:
    """Read requests per second the sandbox makes on its own."""
    before = reads(request_counts(cfg))
    time.sleep(seconds)
    after = reads(request_counts(cfg))
    return max(0.0, (after - before) / seconds)
