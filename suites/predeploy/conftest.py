"""Fixtures of the pre-deployment checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gonogo.checks import GitHub, SecretResolver, SecretUnavailable, Target

from suites.sections import present, required


@pytest.fixture
def github(target: Target, environment: str, secrets: SecretResolver) -> Iterator[GitHub]:
    """The release repository on the target's GitHub API, authenticated by reference."""
    config = present(target.github, target, "github", environment)
    token = None
    if config.token is not None:
        try:
            token = secrets.resolve(config.token)
        except SecretUnavailable as e:
            pytest.fail(f"GitHub token (github.token) not available: {e}", pytrace=False)
    with GitHub(config.api_url, config.repository, token) as client:
        yield client


@pytest.fixture
def release_ref(target: Target) -> str:
    """The commit or tag that is being released."""
    return str(required(target.github, "github").release_ref or target.release)
