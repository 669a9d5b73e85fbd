"""Fixtures every check can ask for. Suites use these, never the plugin's internals."""

from __future__ import annotations

from typing import Any

import pytest

from gonogo.checklist import Item
from gonogo.evidence import Evidence, evidence_for
from gonogo.markers import BINDING_KEY
from gonogo.settings import Settings, get_settings


@pytest.fixture(scope="session")
def gonogo_settings(request: pytest.FixtureRequest) -> Settings:
    """The run's validated options."""
    return get_settings(request.config)


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Any:
    """The target under check (one per --target; tests using it are parametrized)."""
    from gonogo.plugin import TARGETS_KEY

    return request.config.stash[TARGETS_KEY][request.param]


@pytest.fixture(scope="session")
def environment(gonogo_settings: Settings) -> str:
    """The --env name; checks that depend on an environment fail without it."""
    if gonogo_settings.environment is None:
        pytest.fail(
            "this check depends on the environment: pass --env production, staging or development",
            pytrace=False,
        )
    return gonogo_settings.environment


@pytest.fixture(scope="session")
def env_policy(target: Any, environment: str) -> Any:
    """The target's settings for the chosen environment (window, approval, criteria...)."""
    return target.environment(environment)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Where a check records what it measured and saw, for the report."""
    return evidence_for(request.node)


@pytest.fixture
def checklist_item(request: pytest.FixtureRequest) -> Item:
    """The checklist item this test is bound to."""
    binding = request.node.stash.get(BINDING_KEY, None)
    if binding is None:
        pytest.fail("this test has no @pytest.mark.item(...) binding", pytrace=False)
    return binding.item


@pytest.fixture
def signoff(request: pytest.FixtureRequest) -> Any:
    """The valid sign-off of a manual item (None where the environment needs none)."""
    from gonogo.plugin import SIGNOFF_KEY

    check = request.node.stash.get(SIGNOFF_KEY, None)
    return check.entry if check is not None else None


@pytest.fixture(scope="session")
def dry_run(gonogo_settings: Settings) -> bool:
    """True unless --execute: mutating checks then ask the API server for a dry run."""
    return not gonogo_settings.execute
