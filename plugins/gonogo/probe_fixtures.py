"""Fixtures that hand the integrations (probes) to checks.

The cluster snapshot lives for one phase of one target: every check of the
phase reads the same lists, and the next phase lists again, because deploys
in between change the cluster. A mutating check invalidates it when it ends.
Integrations are imported lazily so the core never loads the Kubernetes client
for runs that do not use it.

A check that fails because a system could not be asked (a ``ProbeError``) or a
file is wrong (a ``ConfigError``) is reported as that error's one line, not as
a traceback through the client library: the line already names what was
asked, why it failed and what to check, and the evidence the check recorded
goes with it as for any failure."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gonogo.errors import GonogoError
from gonogo.markers import BINDING_KEY
from gonogo.settings import Settings

if TYPE_CHECKING:
    from gonogo.probes.kube import ClusterSnapshot, KubeClient

_SNAPSHOTS = pytest.StashKey[dict[tuple[int, int], "ClusterSnapshot"]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run starts with no API server remembered as unreachable (the memory
    lives in the client's module, which outlives a run in the same process)."""
    kube = sys.modules.get("gonogo.probes.kube")
    if kube is not None:
        kube.forget_unreachable()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """gonogo's own errors, and ``pytest.fail(..., pytrace=False)`` (how
    fixtures turn them into a failure), fail a check as their one line: no
    frames and no chained library exceptions (pytest shows the exception being
    handled when ``fail`` is called in an ``except`` block). Other failures
    keep pytest's rendering."""
    report = yield
    excinfo = call.excinfo
    if report.failed and excinfo is not None and _one_line_failure(excinfo.value):
        longrepr = excinfo.getrepr(style="value", chain=False)
        if isinstance(excinfo.value, GonogoError) and longrepr.reprcrash is not None:
            # The summary, JUnit message and checklist read this: the line
            # itself, not prefixed with the error's module and class.
            longrepr.reprcrash.message = str(excinfo.value)
        report.longrepr = longrepr
    return report


def _one_line_failure(error: BaseException) -> bool:
    if isinstance(error, GonogoError):
        return True
    return isinstance(error, pytest.fail.Exception) and not error.pytrace


@pytest.fixture(scope="session")
def kube(target: Any, gonogo_settings: Settings) -> Iterator[KubeClient]:
    """The target's Kubernetes API (``--kube-context`` over the target's context)."""
    from gonogo.errors import ConfigError
    from gonogo.probes.kube import client_for

    try:
        client = client_for(target, gonogo_settings.kube_context)
    except ConfigError as e:
        pytest.fail(str(e), pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def namespace(target: Any, gonogo_settings: Settings) -> str | None:
    """The target's namespace for --env (None without --env: all namespaces)."""
    env = gonogo_settings.environment
    return target.namespace_for(env) if env else None


@pytest.fixture
def cluster(
    request: pytest.FixtureRequest, kube: KubeClient, namespace: str | None
) -> Iterator[ClusterSnapshot]:
    """The phase's shared view of the cluster: one list call per kind and namespace."""
    from gonogo.probes.kube import ClusterSnapshot

    snapshots = request.config.stash.setdefault(_SNAPSHOTS, {})
    binding = request.node.stash.get(BINDING_KEY, None)
    phase_key = id(binding.item.phase) if binding is not None else id(request.node)
    key = (id(kube), phase_key)
    if key not in snapshots:
        # A new phase: earlier phases' lists are stale.
        for old in [k for k in snapshots if k[0] == id(kube)]:
            del snapshots[old]
        snapshots[key] = ClusterSnapshot(kube, namespace)
    snapshot = snapshots[key]
    yield snapshot
    if request.node.get_closest_marker("mutating") is not None:
        snapshot.invalidate()


@pytest.fixture(scope="session")
def backups_dir(target: Any, gonogo_settings: Settings) -> Path:
    """Where pre-deployment backups are written and read: the target's
    ``backups_dir``, else ``<reports dir>/backups``."""
    return Path(target.backups_dir or gonogo_settings.reports_dir / "backups")


@pytest.fixture(scope="session")
def load_results_dir(target: Any, gonogo_settings: Settings) -> Path:
    """Where load results are written and read: the target's
    ``load_results_dir``, else ``<reports dir>/load``."""
    return Path(target.load_results_dir or gonogo_settings.reports_dir / "load")


@pytest.fixture
def redis_client(target: Any, environment: str) -> Iterator[Any]:
    """The target's Redis, connected and answering PING. Unreachable fails the
    check; a Redis the target declares absent for this environment skips it."""
    from gonogo.errors import ProbeError
    from gonogo.probes.redis import connect

    if target.redis is None or target.is_absent("redis", environment):
        pytest.skip(f"Redis is absent from {environment} in {target.source}")
    settings = target.redis
    password = settings.password.resolve_env() if settings.password else None
    if settings.password is not None and password is None:
        pytest.fail(
            f"Redis needs a password from {settings.password.describe()}; export it",
            pytrace=False,
        )
    try:
        with connect(settings.url, password=password, timeout=settings.timeout_s) as client:
            yield client
    except ProbeError as e:
        pytest.fail(str(e), pytrace=False)
