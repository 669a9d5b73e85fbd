"""Integration workflows: the target's sequences of HTTP calls, run step by step.

Each step's request is rendered with the variables saved so far, sent, and
judged on its status and JSON fields; a failing step stops the workflow
(later steps depend on what it should have returned) and its outcome names
the workflow, the step, what was expected and what came back."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gonogo.errors import ConfigError
from gonogo.integrations.http.client import tls_verify
from gonogo.integrations.secrets import SecretResolver, SecretUnavailable
from gonogo.model.target import Step, Workflow, dotted_get
from gonogo.redact import redactor

_MISSING = object()


@dataclass
class StepOutcome:
    """What one step sent and got back."""

    step: str
    method: str
    url: str
    status: int | None = None
    elapsed_s: float = 0.0
    problem: str | None = None
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def row(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "request": f"{self.method} {redactor.text(self.url)}",
            "status": self.status,
            "ms": round(self.elapsed_s * 1000),
            "result": self.problem or "ok",
        }


@dataclass
class WorkflowOutcome:
    """Every step that ran, in order; the last one is the failure when there is one."""

    workflow: str
    steps: list[StepOutcome] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failure(self) -> StepOutcome | None:
        return next((step for step in self.steps if not step.ok), None)

    def message(self) -> str:
        failed = self.failure
        if failed is None:
            return f"workflow {self.workflow!r}: {len(self.steps)} steps passed"
        return (
            f"workflow {self.workflow!r}, step {failed.step!r} "
            f"({failed.method} {redactor.text(failed.url)}): {failed.problem}"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def judge(step: Step, status: int, body: Any) -> str | None:
    """The first way the response differs from the step's expectations, or None."""
    if status not in step.expect_status:
        wanted = " or ".join(str(code) for code in step.expect_status)
        detail = f" ({_short(body)})" if body not in (None, "") else ""
        return f"expected status {wanted}, got {status}{detail}"
    for path, expected in step.expect_json.items():
        if not isinstance(body, Mapping | list):
            return f"expected JSON with {path} = {_short(expected)}, got a non-JSON body"
        try:
            actual = dotted_get(body, path)
        except LookupError as e:
            return f"expected {path} = {_short(expected)}, got nothing ({e})"
        if actual != expected:
            return f"expected {path} = {_short(expected)}, got {_short(actual)}"
    return None


def _headers(step: Step, secrets: SecretResolver) -> dict[str, str]:
    headers = dict(step.headers)
    if step.auth is not None:
        try:
            value = secrets.resolve(step.auth)
        except SecretUnavailable as e:
            raise ConfigError(f"step {step.name!r} needs a credential: {e}") from None
        headers["Authorization"] = f"Bearer {value}"
    return headers


def _send(client: httpx.Client, step: Step, url: str, secrets: SecretResolver) -> StepOutcome:
    outcome = StepOutcome(step=step.name, method=step.method, url=url)
    started = time.perf_counter()
    try:
        response = client.request(
            step.method,
            url,
            headers=_headers(step, secrets),
            json=step.body,
            timeout=step.timeout_s,
        )
    except httpx.TimeoutException:
        outcome.problem = f"no answer within {step.timeout_s:g} s"
    except httpx.HTTPError as e:
        outcome.problem = f"request failed: {e.__class__.__name__}: {e}"
    except ConfigError as e:
        outcome.problem = str(e)
    else:
        outcome.status = response.status_code
        try:
            outcome.body = response.json()
        except ValueError:
            outcome.body = response.text[:500]
        outcome.problem = judge(step, response.status_code, outcome.body)
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


def run_workflow(
    workflow: Workflow,
    base_url: str,
    *,
    variables: Mapping[str, Any] | None = None,
    ca_bundle: Path | None = None,
    client: httpx.Client | None = None,
    secrets: SecretResolver | None = None,
) -> WorkflowOutcome:
    """Run ``workflow``'s steps against ``base_url`` in order, carrying saved values.

    ``variables`` holds the built-ins (release, environment, ...). Stops at the
    first failing step. Each request has the step's own timeout. ``secrets``
    reads the steps' ``auth`` references (``resolver_for(target, environment)``);
    without it, only environment and file references can be read."""
    outcome = WorkflowOutcome(workflow=workflow.name, variables=dict(variables or {}))
    own = client is None
    http = client or httpx.Client(verify=tls_verify(ca_bundle, True))
    try:
        for step in workflow.steps:
            try:
                rendered = step.render(outcome.variables)
            except ConfigError as e:
                outcome.steps.append(
                    StepOutcome(step.name, step.method, base_url + step.path, problem=str(e))
                )
                break
            result = _send(http, rendered, base_url + rendered.path, secrets or SecretResolver())
            outcome.steps.append(result)
            if not result.ok:
                break
            for name, path in rendered.save.items():
                value = dotted_get(result.body, path) if _has(result.body, path) else _MISSING
                if value is _MISSING:
                    result.problem = (
                        f"expected {path} in the response to save as {name}, found none"
                    )
                    break
                outcome.variables[name] = value
            if not result.ok:
                break
    finally:
        if own:
            http.close()
    return outcome


def _has(body: Any, path: str) -> bool:
    try:
        dotted_get(body, path)
    except LookupError:
        return False
    return True
