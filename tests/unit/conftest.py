"""Fixtures of the unit tests, which need nothing running.

Every unit test, and every process one starts, sees a throwaway
``GONOGO_SANDBOX_DIR`` holding a CA of its own (``tests.support.throwaway_sandbox``):
the shipped ``targets/sandbox.yaml`` loads for a run on a machine where the
sandbox never started, and no unit test reads the real sandbox's files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support import throwaway_sandbox
from tests.support.mini_project import MINI_CHECKLIST, MINI_TARGET


@pytest.fixture(scope="session")
def sandbox_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox state directory with only a CA, made once per test process."""
    return throwaway_sandbox.make(tmp_path_factory.mktemp("sandbox-state"))


@pytest.fixture(autouse=True)
def _throwaway_sandbox_dir(sandbox_state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(throwaway_sandbox.ENV, str(sandbox_state_dir))


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory with a small checklist, a target and an ini file.

    The target names no cluster, so its runs would use whatever kubeconfig the
    environment points at (the sandbox's, once the end-to-end tests set it):
    point it at none, so a unit test never plans a rollback from a real cluster."""
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setenv("KUBECONFIG", str(pytester.path / "no-kubeconfig"))
    pytester.makefile(".md", checklist=MINI_CHECKLIST)
    pytester.makefile(".yaml", target=MINI_TARGET)
    pytester.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = checklist.md
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    return pytester
