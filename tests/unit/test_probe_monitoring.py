"""Reading Prometheus' targets: only this release's targets are judged."""

from __future__ import annotations

from gonogo.probes.http import HttpResult
from gonogo.probes.monitoring import targets_up


def _targets(*targets: tuple[dict[str, str], str]) -> HttpResult:
    active = [
        {"labels": labels, "health": health, "lastError": "" if health == "up" else "503"}
        for labels, health in targets
    ]
    return HttpResult(
        "prometheus targets",
        "http://prom/api/v1/targets",
        status=200,
        json={"status": "success", "data": {"activeTargets": active}},
    )


def test_other_namespaces_do_not_count_but_unlabelled_targets_do() -> None:
    result = _targets(
        ({"job": "demo", "service": "api", "namespace": "shop"}, "up"),
        ({"job": "demo", "service": "web", "namespace": "shop"}, "down"),
        ({"job": "demo", "service": "web", "namespace": "other-team"}, "down"),
        ({"job": "prometheus", "instance": "127.0.0.1:9090"}, "up"),
    )
    up = targets_up(result, "shop")
    assert (up.up, up.total) == (2, 3)
    assert up.down == ["demo/web: 503"]
    everything = targets_up(result)
    assert (everything.up, everything.total) == (2, 4)


def test_no_targets_is_a_ratio_of_zero() -> None:
    up = targets_up(HttpResult("prometheus targets", "http://prom", status=200, json={}))
    assert up.total == 0 and up.ratio == 0.0
