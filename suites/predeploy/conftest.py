"""Fixtures of the pre-deployment checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gonogo.checks import GitHub, Target

from suites.sections import present, required


@pytest.fixture
def github(target: Target, environment: str) -> Iterator[GitHub]:
    """The release repository on the target's GitHub API, authenticated by reference."""
    config = present(target.github, target, "github", environment)
    token = config.token.resolve_env() if config.token else None
    if config.token and not token:
        pytest.fail(
            f"GitHub token not available: set {config.token.describe()} (github.token)",
            pytrace=False,
        )
    with GitHub(config.api_url, config.repository, token) as client:
        yield client


@pytest.fixture
def release_ref(target: Target) -> str:
    """The commit or tag that is being released."""
    return str(required(target.github, "github").release_ref or target.release)
