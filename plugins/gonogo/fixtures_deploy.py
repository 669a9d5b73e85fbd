"""Fixtures for the checks that change a cluster: the deploy phases, the
rollback checklist and the emergency procedures.

They hand out the same tools in both modes of a ``mutating`` check: the
applier sends every change as a server-side apply or patch, with
``dryRun=All`` unless ``--execute``; the rollout progress line goes to the
terminal as the rollouts move.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from gonogo.settings import Settings

if TYPE_CHECKING:
    from gonogo.probes.changes import Patcher
    from gonogo.probes.kube import KubeClient
    from gonogo.probes.registry import RegistryClient


@pytest.fixture
def patcher(kube: KubeClient, dry_run: bool) -> Patcher:
    """Merge and JSON patches with field manager ``gonogo``; a dry run
    (``dryRun=All``) unless ``--execute``."""
    from gonogo.probes.changes import Patcher

    return Patcher(kube, dry_run=dry_run)


@pytest.fixture
def rollout_progress(request: pytest.FixtureRequest) -> Iterator[Callable[[str], None]]:
    """A live progress line: each change rewrites the terminal's current line."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    wrote = False

    def show(line: str) -> None:
        nonlocal wrote
        text = "\r" + line[:150].ljust(150)
        if capture is not None:
            with capture.global_and_fixture_disabled():
                _write(reporter, text)
        else:
            _write(reporter, text)
        wrote = True

    yield show
    if wrote:
        if capture is not None:
            with capture.global_and_fixture_disabled():
                _write(reporter, "\r" + " " * 150 + "\r")
        else:
            _write(reporter, "\r" + " " * 150 + "\r")


def _write(reporter: Any, text: str) -> None:
    if reporter is not None:
        reporter.write(text)
        reporter.flush()
    else:
        sys.stderr.write(text)
        sys.stderr.flush()


@pytest.fixture(scope="session")
def registry(target: Any) -> Iterator[RegistryClient]:
    """The target's image registry (OCI distribution API)."""
    from gonogo.errors import ConfigError, ProbeError
    from gonogo.probes.registry import client_for

    try:
        client = client_for(target)
    except (ConfigError, ProbeError) as e:
        pytest.fail(str(e), pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def release_digests(target: Any) -> dict[str, str]:
    """Image reference -> digest, as the registry answered during this run;
    the registry-push check compares against it."""
    return {}


@pytest.fixture(scope="session")
def service_under_repair(gonogo_settings: Settings, target: Any) -> Any:
    """The failed service the emergency procedures act on (``--service NAME``)."""
    from gonogo.errors import ConfigError

    if gonogo_settings.service is None:
        pytest.fail(
            "the emergency procedures act on one failed service: pass --service NAME",
            pytrace=False,
        )
    try:
        return target.service(gonogo_settings.service)
    except ConfigError as e:
        pytest.fail(str(e), pytrace=False)
