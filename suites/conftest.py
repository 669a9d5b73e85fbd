"""What every stage's checks share: the ``kube_access`` marker is known here,
so the suites collect under ``--strict-markers`` whichever plugins a run loads."""

from __future__ import annotations

import pytest
from gonogo.checks import MARKER_HELP


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
