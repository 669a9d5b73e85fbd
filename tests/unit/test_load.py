"""The load runner in its own processes, against a real local HTTP server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gonogo.errors import ProbeError
from gonogo.integrations.load.judge import breaches, figures
from gonogo.integrations.load.launch import run_load
from gonogo.integrations.load.spec import LoadSpec, service_of
from gonogo.integrations.load.stats import parse_result
from gonogo.model.target import LoadThresholds, RollbackCriteria

from tests.support.local_http import serving, url_of


class _Handler(http.server.BaseHTTPRequestHandler):
    """``/flaky/...`` fails every fifth request; everything else answers 200."""

    counter = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        code = 200
        if self.path.startswith("/flaky"):
            with self.lock:
                type(self).counter += 1
                if type(self).counter % 5 == 0:
                    code = 500
        body = json.dumps({"status": "ok" if code == 200 else "error"}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as httpd:
        yield url_of(httpd)


def _spec(base_url: str, **changes: object) -> LoadSpec:
    values: dict[str, object] = {
        "base_url": base_url,
        "users": 4,
        "spawn_rate": 4,
        "duration_s": 2,
        "paths": {"/steady/health": 1, "/flaky/health": 1},
        "wait_min_s": 0.01,
        "wait_max_s": 0.03,
    }
    values.update(changes)
    return LoadSpec(**values)  # type: ignore[arg-type]


def test_spec_refuses_what_cannot_run() -> None:
    with pytest.raises(ValueError, match="paths"):
        _spec("http://127.0.0.1:1", paths={"no-slash": 1})
    with pytest.raises(ValueError, match="http"):
        _spec("127.0.0.1:1")
    assert service_of("/mcp-context/health?x=1") == "mcp-context"


def test_local_run_measures_errors_per_service_and_shows_progress(
    server: str, tmp_path: Path
) -> None:
    samples: list[dict[str, float]] = []
    result = run_load(_spec(server), tmp_path, on_sample=samples.append)

    assert result.requests > 20
    by_service = {s.service: s for s in result.services()}
    assert set(by_service) == {"steady", "flaky"}
    assert by_service["steady"].failures == 0
    assert 0.15 <= by_service["flaky"].error_rate <= 0.25, by_service["flaky"]
    assert result.failures == by_service["flaky"].failures
    assert samples and samples == result.history
    assert {"t", "users", "rps", "error_rate", "mean_ms", "p95_ms"} <= set(samples[-1])
    assert result.stopped_by == "duration"


def test_run_stops_at_the_request_cap(server: str, tmp_path: Path) -> None:
    result = run_load(_spec(server, duration_s=30, max_requests=15), tmp_path)
    assert result.stopped_by == "max_requests"
    assert 15 <= result.requests < 200
    assert result.duration_s < 10


def test_distributed_run_aggregates_every_workers_requests(server: str, tmp_path: Path) -> None:
    result = run_load(_spec(server, duration_s=3), tmp_path, workers=2)

    assert len(result.workers) == 2
    assert all(count > 0 for count in result.workers.values()), result.workers
    assert result.requests == sum(result.workers.values())
    assert {s.service for s in result.services()} == {"steady", "flaky"}


def test_unreachable_target_is_all_failures_not_a_crash(tmp_path: Path) -> None:
    result = run_load(_spec("http://127.0.0.1:9", duration_s=1), tmp_path)
    assert result.requests > 0
    assert result.error_rate == 1.0


def test_runner_that_cannot_finish_in_time_is_stopped(server: str, tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="did not finish in time"):
        run_load(_spec(server, duration_s=20), tmp_path, deadline_s=2)


def _result(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "started": "2026-01-01T00:00:00+00:00",
        "duration_s": 5.0,
        "users": 10,
        "requests": 1000,
        "failures": 20,
        "mean_ms": 50.0,
        "p95_ms": 120.0,
        "rps": 200.0,
        "history": [],
        "endpoints": [
            {
                "name": "/a/health",
                "service": "a",
                "requests": 900,
                "failures": 0,
                "mean_ms": 20.0,
                "p95_ms": 50,
            },
            {
                "name": "/b/health",
                "service": "b",
                "requests": 100,
                "failures": 20,
                "mean_ms": 3000.0,
                "p95_ms": 3100,
            },
        ],
    }
    data.update(changes)
    return data


def test_judge_finds_a_fault_diluted_in_the_totals() -> None:
    result = parse_result(_result())
    thresholds = LoadThresholds(error_rate_max=0.05, p95_ms_max=3000)
    criteria = RollbackCriteria(automatic=True, error_rate_max=0.05, mean_response_max_s=2.0)

    judged = figures(result, thresholds, criteria)
    found = breaches(judged)

    assert result.error_rate == pytest.approx(0.02)
    assert found == [
        "error rate 20.0% > 5.0% over 100 requests to b",
        "mean response 3.00 s > 2.00 s over 100 requests to b",
    ]
    service_b = [f for f in judged if f.service == "b" and f.name == "error_rate"]
    assert service_b[0].ok is False and service_b[0].limit == 0.05


def test_judge_checks_throughput_from_below_and_skips_thin_services() -> None:
    data = _result(rps=2.0)
    data["endpoints"][1]["requests"] = 3  # type: ignore[index]
    result = parse_result(data)
    found = breaches(figures(result, LoadThresholds(rps_min=5), RollbackCriteria()))
    assert found == ["throughput 2.0 req/s < 5.0 req/s over 1,000 requests"]


def test_a_result_without_its_figures_is_refused() -> None:
    with pytest.raises(ProbeError, match="requests"):
        parse_result({"started": "x", "duration_s": 1})
