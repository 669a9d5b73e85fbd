"""Fixtures of the pre-deployment checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gonogo.checks import GitHub

from suites.predeploy.support import not_applicable


@pytest.fixture
def github(target: Any, environment: str) -> Iterator[GitHub]:
    """The release repository on the target's GitHub API, authenticated by reference."""
    not_applicable(target, "github", environment)
    config = target.github
    token = config.token.resolve_env() if config.token else None
    if config.token and not token:
        pytest.fail(
            f"GitHub token not available: set {config.token.describe()} (github.token)",
            pytrace=False,
        )
    with GitHub(config.api_url, config.repository, token) as client:
        yield client


@pytest.fixture
def release_ref(target: Any) -> str:
    """The commit or tag that is being released."""
    return str(target.github.release_ref or target.release)
