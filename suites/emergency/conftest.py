"""The emergency procedures act on a live incident: they run only when asked
with ``-m emergency --service NAME`` (and change the cluster only with
``--execute``). In any other run they are skipped, never run by accident."""

from __future__ import annotations

import pytest
from gonogo.checks import get_settings


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("emergency") is None:
        return
    asked = "emergency" in (item.config.getoption("markexpr") or "")
    if not asked or get_settings(item.config).service is None:
        pytest.skip(
            "emergency procedures run only when asked: -m emergency --service NAME --execute"
        )
