"""Integration workflows against a real local HTTP server, and the data
consistency record's comparison."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest
from gonogo.integrations.http.workflows import run_workflow
from gonogo.integrations.redis import consistency
from gonogo.model.target import Workflow

from tests.support.local_http import serving, url_of


class _Handler(http.server.BaseHTTPRequestHandler):
    answers = {
        "/business/version": (200, {"service": "business", "version": "v2"}),
        "/dashboard/version": (200, {"version": "v2", "build": {"id": 7}}),
        "/orders": (201, {"id": 42}),
        "/orders/42": (200, {"id": 42, "state": "open"}),
        "/down": (503, {"status": "degraded"}),
    }

    def _answer(self) -> None:
        code, body = self.answers.get(self.path, (404, {"error": "no such path"}))
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(_Handler) as httpd:
        yield url_of(httpd)


def _workflow(steps: list[dict[str, object]]) -> Workflow:
    return Workflow.model_validate({"name": "Release reaches the UI", "steps": steps})


def test_values_carry_from_step_to_step(base_url: str) -> None:
    workflow = _workflow(
        [
            {
                "name": "create",
                "method": "POST",
                "path": "/orders",
                "json": {"item": 1},
                "expect_status": 201,
                "save": {"order": "id"},
            },
            {"name": "read", "path": "/orders/{order}", "expect_json": {"id": "{order}"}},
            {
                "name": "version",
                "path": "/business/version",
                "expect_json": {"version": "{release}"},
                "save": {"v": "version"},
            },
            {"name": "same in UI", "path": "/dashboard/version", "expect_json": {"version": "{v}"}},
        ]
    )
    outcome = run_workflow(workflow, base_url, variables={"release": "v2"})
    assert outcome.ok, outcome.message()
    assert [s.status for s in outcome.steps] == [201, 200, 200, 200]
    assert outcome.variables["order"] == 42


def test_a_wrong_field_names_workflow_step_expected_and_actual(base_url: str) -> None:
    workflow = _workflow(
        [
            {
                "name": "business version",
                "path": "/business/version",
                "expect_json": {"version": "{release}"},
            },
            {"name": "never reached", "path": "/dashboard/version"},
        ]
    )
    outcome = run_workflow(workflow, base_url, variables={"release": "v3"})
    assert not outcome.ok
    assert len(outcome.steps) == 1
    message = outcome.message()
    assert "workflow 'Release reaches the UI'" in message
    assert "step 'business version'" in message
    assert "expected version = 'v3', got 'v2'" in message


def test_wrong_status_and_missing_field_are_named(base_url: str) -> None:
    down = run_workflow(_workflow([{"name": "probe", "path": "/down"}]), base_url)
    assert "expected status 200, got 503" in down.message()
    deep = run_workflow(
        _workflow(
            [{"name": "build", "path": "/dashboard/version", "expect_json": {"build.sha": "abc"}}]
        ),
        base_url,
    )
    assert "expected build.sha = 'abc', got nothing" in deep.message()


def test_unreachable_service_is_a_failed_step_not_an_exception() -> None:
    outcome = run_workflow(
        _workflow([{"name": "probe", "path": "/x", "timeout_s": 1}]), "http://127.0.0.1:9"
    )
    assert not outcome.ok
    assert "request failed" in outcome.message()


def test_missing_credential_is_named_without_a_value(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_TEST_WORKFLOW_TOKEN", raising=False)
    workflow = _workflow(
        [{"name": "authed", "path": "/orders/42", "auth": {"env": "GONOGO_TEST_WORKFLOW_TOKEN"}}]
    )
    outcome = run_workflow(workflow, base_url)
    assert "environment variable GONOGO_TEST_WORKFLOW_TOKEN" in outcome.message()


def test_consistency_compare_names_lost_and_changed_keys() -> None:
    digest = {"type": "string", "sha256": "a" * 64}
    changed = {"type": "string", "sha256": "b" * 64}
    before = {"kept": digest, "lost": digest, "changed": digest, "new": None}
    after = {"kept": digest, "lost": None, "changed": changed, "new": digest}
    problems = consistency.compare(before, after)
    assert problems == [
        "changed: changed (string sha256 aaaaaaaaaaaa -> string sha256 bbbbbbbbbbbb)",
        "lost: lost (existed before the deployment, missing now)",
    ]
