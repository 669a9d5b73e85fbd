"""The data behind the SaaS fakes (GitHub, HubSpot, Grafana, Loki), kept in
``<state_dir>/fakes/state.json`` and read on every request, so that a test
injects a fault by editing the file: no restart, no hidden switch.

Shape (every key optional; a missing file means ``seed_state()``)::

    {
      "github": {"repositories": {"<owner>/<repo>": {
          "default_branch": "main",
          "refs": {"<branch or tag>": "<commit sha>"},
          "commits": {"<sha>": {
              "statuses":   [{"context": str, "state": "success|pending|failure|error",
                              "description": str}],
              "check_runs": [{"name": str, "status": "queued|in_progress|completed",
                              "conclusion": "success|failure|neutral|cancelled|skipped|
                                             timed_out|action_required|null"}],
              "pulls": [<pull number>]}},
          "pulls": {"<number>": {"title": str, "state": "open|closed", "merged": bool,
                                 "user": str, "head": str, "base": str, "head_sha": str,
                                 "body": str,
                                 "reviews": [{"user": str, "body": str,
                                              "state": "APPROVED|CHANGES_REQUESTED|COMMENTED"}]}},
          "releases": {"<tag>": {"name": str, "body": str, "draft": bool,
                                 "prerelease": bool, "target_commitish": str}}}}},
      "hubspot": {"available": bool, "portal_id": int, "time_zone": str, "currency": str,
                  "contacts": [{"email": str, "firstname": str, "lastname": str}]},
      "grafana": {"version": str, "database": "ok|failing"},
      "loki": {"ready": bool}
    }

Example fault: ``update(cfg, github={"repositories": {REPOSITORY: {"commits": {
release_sha(REPOSITORY, "v1.1.0"): {"check_runs": [{"name": "unit-tests",
"status": "completed", "conclusion": "failure"}]}}}}})``. ``update`` merges
dictionaries recursively and replaces lists and scalars; ``reset`` puts the
healthy seed back."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gonogo_sandbox.config import SandboxConfig

REPOSITORY = "sophia-ai/sophia"
"""The demo system's repository on the GitHub fake."""
RELEASE = "v1.1.0"
"""The release the seed describes as ready to ship."""
PREVIOUS_RELEASE = "v1.0.0"
RELEASE_PULL = 128
"""The pull request that brought the release to ``main``."""

State = dict[str, Any]


def state_file(cfg: SandboxConfig) -> Path:
    return cfg.state_dir / "fakes" / "state.json"


def release_sha(repository: str, tag: str) -> str:
    """The commit the seed gives ``tag``: stable, so tests can name it."""
    return hashlib.sha1(f"{repository}@{tag}".encode()).hexdigest()


def _release_notes(tag: str) -> str:
    return (
        f"## Sophia {tag}\n\n"
        f"Release {tag} of the Sophia platform: the nine services and Redis, "
        "deployed tier by tier.\n\n"
        "### Changes\n"
        "- mcp-context: cache warm-up at start, shorter first-request latency\n"
        "- sophia-dashboard: deployment status panel\n"
        "- sophia-hubspot: contact sync retries with back-off\n\n"
        f"See docs/releases/{tag}.md for the full notes.\n"
    )


def seed_state() -> State:
    """A healthy state: release ``RELEASE`` with every check and status
    green, one approving review, published release notes naming the version."""
    sha = release_sha(REPOSITORY, RELEASE)
    previous = release_sha(REPOSITORY, PREVIOUS_RELEASE)
    checks = ["lint", "unit-tests", "integration-tests", "build-images", "trivy-scan"]
    return {
        "github": {
            "repositories": {
                REPOSITORY: {
                    "default_branch": "main",
                    "refs": {"main": sha, RELEASE: sha, PREVIOUS_RELEASE: previous},
                    "commits": {
                        sha: {
                            "statuses": [
                                {
                                    "context": "ci/build",
                                    "state": "success",
                                    "description": "Build succeeded",
                                },
                                {
                                    "context": "security/trivy",
                                    "state": "success",
                                    "description": "No HIGH or CRITICAL findings",
                                },
                            ],
                            "check_runs": [
                                {"name": n, "status": "completed", "conclusion": "success"}
                                for n in checks
                            ],
                            "pulls": [RELEASE_PULL],
                        },
                        previous: {
                            "statuses": [
                                {"context": "ci/build", "state": "success", "description": "ok"}
                            ],
                            "check_runs": [
                                {"name": n, "status": "completed", "conclusion": "success"}
                                for n in checks
                            ],
                            "pulls": [],
                        },
                    },
                    "pulls": {
                        str(RELEASE_PULL): {
                            "title": f"Release {RELEASE}",
                            "state": "closed",
                            "merged": True,
                            "user": "release-bot",
                            "head": f"release/{RELEASE}",
                            "base": "main",
                            "head_sha": sha,
                            "body": f"Prepares {RELEASE}; notes in docs/releases/{RELEASE}.md.",
                            "reviews": [
                                {
                                    "user": "platform-lead",
                                    "state": "APPROVED",
                                    "body": "Checked the rollout plan and the rollback steps.",
                                }
                            ],
                        }
                    },
                    "releases": {
                        tag: {
                            "name": f"Sophia {tag}",
                            "body": _release_notes(tag),
                            "draft": False,
                            "prerelease": False,
                            "target_commitish": "main",
                        }
                        for tag in (PREVIOUS_RELEASE, RELEASE)
                    },
                }
            }
        },
        "hubspot": {
            "available": True,
            "portal_id": 4242011,
            "time_zone": "Europe/London",
            "currency": "GBP",
            "contacts": [
                {"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"},
                {"email": "alan@example.com", "firstname": "Alan", "lastname": "Turing"},
                {"email": "grace@example.com", "firstname": "Grace", "lastname": "Hopper"},
            ],
        },
        "grafana": {"version": "10.4.2", "database": "ok"},
        "loki": {"ready": True},
    }


def load(cfg: SandboxConfig) -> State:
    """The current state; the seed when no state file exists yet."""
    try:
        return dict(json.loads(state_file(cfg).read_text()))
    except FileNotFoundError:
        return seed_state()


def save(cfg: SandboxConfig, state: State) -> None:
    """Replace the state atomically: a request never reads a half-written file."""
    path = state_file(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def update(cfg: SandboxConfig, **changes: Any) -> State:
    """Merge ``changes`` into the state (dicts recursively, anything else
    replaced), save it and return it."""
    state = _merge(load(cfg), changes)
    save(cfg, state)
    return state


def reset(cfg: SandboxConfig) -> State:
    """Put the healthy seed back."""
    state = seed_state()
    save(cfg, state)
    return state
