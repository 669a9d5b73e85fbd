"""Fixtures that hand the integrations (probes) to checks.

The cluster snapshot lives for one phase of one target: every check of the
phase reads the same lists, and the next phase lists again, because deploys
in between change the cluster. A mutating check invalidates it when it ends.
Integrations are imported lazily so the core never loads the Kubernetes client
for runs that do not use it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from gonogo.markers import BINDING_KEY
from gonogo.settings import Settings

if TYPE_CHECKING:
    from gonogo.probes.kube import ClusterSnapshot, KubeClient

_SNAPSHOTS = pytest.StashKey[dict[tuple[int, int], "ClusterSnapshot"]]()


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
