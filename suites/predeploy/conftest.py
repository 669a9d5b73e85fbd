"""Fixtures of the pre-deployment checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gonogo.checks import GitHub, SecretResolver, Target

from suites.predeploy.support import token
from suites.sections import present, required


@pytest.fixture
def github(target: Target, environment: str, secrets: SecretResolver) -> Iterator[GitHub]:
    """The release repository on the target's GitHub API, authenticated by reference."""
    config = present(target.github, target, "github", environment)
    github_token = token(secrets, config.token, "GitHub token (github.token)")
    with GitHub(config.api_url, config.repository, github_token) as client:
        yield client


@pytest.fixture
def release_ref(target: Target) -> str:
    """The commit or tag that is being released."""
    return str(required(target.github, "github").release_ref or target.release)
