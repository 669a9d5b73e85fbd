"""The Kubernetes probe against the sandbox's real API server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from gonogo.errors import ConfigError, ProbeError, RetryableProbeError
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.kubernetes.snapshot import ClusterSnapshot
from gonogo_sandbox.config import SandboxConfig


@pytest.fixture(scope="module")
def kube(sandbox_running: SandboxConfig) -> Iterator[KubeClient]:
    cfg = sandbox_running
    client = KubeClient(kubeconfig=cfg.kubeconfig, context=cfg.kube_context)
    yield client
    client.close()


def test_snapshot_lists_each_kind_once_however_often_it_is_asked(kube: KubeClient) -> None:
    snapshot = ClusterSnapshot(kube, "sophia")
    for _ in range(3):
        names = {d.name for d in snapshot.deployments()}
        snapshot.deployment("mcp-research")
    assert {"redis", "mcp-research", "mcp-business"} <= names
    assert snapshot.requests == 1
    assert all(n.ready for n in snapshot.nodes())
    assert snapshot.requests == 2
    snapshot.invalidate()
    snapshot.deployments()
    assert snapshot.requests == 3


def test_deployment_view_reads_the_rollout_state(kube: KubeClient) -> None:
    d = ClusterSnapshot(kube, "sophia").deployment("mcp-context")
    assert d.is_available and d.rollout_complete and not d.paused
    assert d.image_tag() == "v1.0.0"
    assert d.revision is not None and d.revision >= 1
    assert d.selector == {"app": "mcp-context"}


def test_unknown_deployment_names_the_command_to_look(kube: KubeClient) -> None:
    with pytest.raises(
        ProbeError, match=r"deployment/nope not found in namespace sophia; kubectl get"
    ):
        ClusterSnapshot(kube, "sophia").deployment("nope")


def test_api_errors_become_gonogo_errors(kube: KubeClient) -> None:
    with pytest.raises(ProbeError, match=r"list pods in no-such-ns|404"):
        kube.get("/api/v1/namespaces/no-such-ns/pods/x", what="get pod x")


def test_unknown_context_lists_the_known_ones(sandbox_cfg: SandboxConfig) -> None:
    with pytest.raises(
        ConfigError,
        match=r"no kube context 'prod' in .*kubeconfig; contexts are: kwok-gonogo; "
        r"pass --kube-context",
    ):
        KubeClient(kubeconfig=sandbox_cfg.kubeconfig, context="prod")


def test_unreachable_api_server_is_retryable_and_says_so(
    tmp_path, sandbox_cfg: SandboxConfig
) -> None:  # type: ignore[no-untyped-def]
    # Whatever port the sandbox's API server has, the copy points at a closed one.
    text = re.sub(
        r"server: *https://[^\s]+",
        "server: https://127.0.0.1:9",
        sandbox_cfg.kubeconfig.read_text(),
    )
    broken = tmp_path / "kubeconfig"
    broken.write_text(text)
    client = KubeClient(kubeconfig=broken, context=sandbox_cfg.kube_context, timeout=2)
    with pytest.raises(RetryableProbeError, match="cannot reach the API server"):
        client.list_all("nodes")
    client.close()


def test_backups_take_every_restorable_kind_and_no_read_only_view(kube: KubeClient) -> None:
    from gonogo.integrations.kubernetes.backup_writer import listable_kinds

    kinds = {kind for _, kind, _ in listable_kinds(kube)}
    assert {"Deployment", "ConfigMap", "Secret", "Service", "ServiceAccount"} <= kinds
    # metrics-server's PodMetrics can be listed but never created: not state
    assert "PodMetrics" not in kinds
