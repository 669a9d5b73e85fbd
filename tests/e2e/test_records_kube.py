"""The Kubernetes record store against the sandbox's API server: records kept
as labelled ConfigMaps in a namespace the store creates on first use, found
again by target, release, environment and stage, and listed by kubectl with
the same labels."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator

import pytest
from gonogo import __version__
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.records import latest, latest_with_item
from gonogo.integrations.records.configmaps import ConfigMapStore
from gonogo.model.records import ItemRecord, RunRecord
from gonogo_sandbox.config import SandboxConfig

from tests.support.gate_inputs import delete_namespace

LONG_RELEASE = "v1.1.0-rc.1_build.20261202.with-a-very-long-suffix-that-no-label-can-hold"


@pytest.fixture
def store(sandbox_running: SandboxConfig) -> Iterator[ConfigMapStore]:
    """A store in a namespace that does not exist yet; deleted afterwards."""
    namespace = f"e2e-records-{secrets.token_hex(3)}"
    kube = KubeClient(kubeconfig=sandbox_running.kubeconfig, context=sandbox_running.kube_context)
    try:
        yield ConfigMapStore(kube, namespace)
    finally:
        kube.close()
        delete_namespace(namespace)


def _record(finished: str, environment: str, release: str = "v1.1.0", outcome: str = "passed"):
    item = ItemRecord(
        title="Performance testing",
        stage="staging" if environment == "staging" else "predeploy",
        phase="Staging Testing Checklist",
        nodeid="suites/staging/test_testing.py::test_performance_testing",
        outcome=outcome,
        measures=[{"name": "error_rate", "value": 0.0, "limit": 0.05, "ok": True}],
    )
    return RunRecord(
        id=f"{finished[:19].replace(':', '')}-{environment}-{secrets.token_hex(2)}",
        target="sophia-sandbox",
        release=release,
        previous_release="v1.0.0",
        environment=environment,
        stages=[item.stage],
        phases=[item.phase],
        items=[item],
        verdict="GO" if outcome == "passed" else "NO-GO",
        go=outcome == "passed",
        started=finished,
        finished=finished,
        gonogo_version=__version__,
        checklist={"path": "docs/checklists.md", "sha256": "0" * 64},
        execute=True,
    )


def test_records_are_labelled_configmaps_found_by_release_and_environment(
    store: ConfigMapStore, kubectl: Callable[..., str]
) -> None:
    older = _record("2026-12-02T06:00:00+00:00", "staging")
    newer = _record("2026-12-02T07:00:00+00:00", "staging", outcome="failed")
    production = _record("2026-12-02T08:00:00+00:00", "production")
    long_tag = _record("2026-12-02T08:00:00+00:00", "staging", release=LONG_RELEASE)
    for record in (older, newer, production, long_tag):
        assert store.put(record).startswith("configmap/gonogo-run-")

    found = store.find("sophia-sandbox", "v1.1.0", "staging")
    assert [r.id for r in found] == [newer.id, older.id]
    assert found[0] == newer
    assert latest(store, "sophia-sandbox", "v1.1.0", "production", stage="predeploy") == production
    assert latest(store, "sophia-sandbox", "v1.1.0", "production", stage="staging") is None
    assert [r.id for r in store.find("sophia-sandbox", LONG_RELEASE, "staging")] == [long_tag.id]
    chained = latest_with_item(
        store,
        target="sophia-sandbox",
        release="v1.1.0",
        environment="staging",
        stage="staging",
        title="Performance testing",
    )
    assert chained is not None and chained[1].outcome == "failed"

    listed = json.loads(
        kubectl(
            "get",
            "cm",
            "-n",
            store.namespace,
            "-l",
            "gonogo.dev/release=v1.1.0,gonogo.dev/environment=staging",
            "-o",
            "json",
        )
    )["items"]
    assert sorted(json.loads(cm["data"]["record.json"])["id"] for cm in listed) == sorted(
        [older.id, newer.id]
    )
    labels = listed[0]["metadata"]["labels"]
    assert labels["gonogo.dev/target"] == "sophia-sandbox"
    assert labels["gonogo.dev/stage-staging"] == "true"
