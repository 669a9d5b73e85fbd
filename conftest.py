"""How gonogo's own tests (tests/) are wired into pytest, in one place.

This file sits at the repository root because pytest loads it for every run
in the checkout, which is also its danger: the gate itself (``pytest -m
predeploy --target targets/sandbox.yaml --env production``, on suites/) loads
it too. So it adds no fixture and no option, and its one collection hook
touches only items under tests/; what it does for a gate run is load pytester
(which brings fixtures of its own but never runs unless a test asks for it)
and describe three markers. tests/unit/test_root_conftest.py holds it to
that: a gate run collects the same checks with and without this file.

- ``tests.support`` (the shared helpers) imports from any working directory,
  in any import mode, because the repository root is on ``sys.path``;
- ``pytester`` is registered here rather than in the ini's addopts;
- the markers of the end-to-end tests are registered here with their meaning
  (the ini runs ``--strict-markers``), and every test under tests/e2e/ carries
  ``e2e``, so ``pytest -m "not e2e"`` is the unit tests of a full checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TESTS = ROOT / "tests"
E2E = TESTS / "e2e"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = ("pytester",)

MARKERS = {
    "e2e": (
        "runs against the local sandbox (gonogo sandbox up); every test under "
        "tests/e2e/ carries it, deselect with -m 'not e2e'"
    ),
    "sandbox": (
        "tests the sandbox distribution itself (gonogo_sandbox: cluster, services, "
        "lifecycle) rather than gonogo against it"
    ),
    "sandbox_lifecycle": (
        "stops and restarts the whole sandbox; runs after every other test "
        "(tests/e2e/conftest.py orders it last)"
    ),
}
"""The markers of gonogo's own tests, provided by this repository's conftest.py."""


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


@pytest.hookimpl(tryfirst=True)  # before -m deselects, so -m "not e2e" sees the mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is marked ``e2e``; nothing else is touched."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)
