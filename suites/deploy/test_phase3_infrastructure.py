"""Phase 3 (T-15): configuration, Secrets, network policies, RBAC and
cert-manager objects applied, then read back and proven equal to what was
applied. Without ``--execute`` the apply is a server-side dry run and what it
would change is the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gonogo.checks import Evidence, Item, KubeClient, Target


def _apply_and_prove(
    paths: list[Path], kube: KubeClient, namespace: str, dry_run: bool, evidence: Evidence
) -> None:
    __tracebackhide__ = True
    from gonogo.checks import apply, changes

    if not paths:
        evidence.note("not applicable", "the item names no manifest and the target lists none")
        pytest.skip("not applicable: nothing to apply (the item's commands name no manifest)")
    missing = [str(p) for p in paths if not p.exists()]
    assert not missing, (
        f"manifests not found: {', '.join(missing)}; check the target's manifests_dir"
    )
    documents = apply.load_documents(paths)
    mapper = apply.ResourceMapper(kube)
    rows, unequal = [], []
    for doc in documents:
        result, returned = apply.apply_object(kube, doc, namespace, dry_run=dry_run, mapper=mapper)
        secret = doc["kind"] == "Secret"
        live = returned
        if not dry_run:
            live = kube.get(
                mapper.object_path(doc, result.namespace), what=f"read back {doc['kind']}"
            )
        applied = _as_stored(doc)
        differs = changes.contains(live, applied)
        rows.append({**result.row(), "equal": not differs})
        if differs:
            shown = "values differ" if secret else ", ".join(differs[:5])
            unequal.append(f"{doc['kind']} {result.name}: {shown}")
    evidence.note("mode", "dry run (dryRun=All): nothing changed" if dry_run else "executed")
    evidence.table("applied objects", rows)
    assert documents, f"nothing to apply in {', '.join(map(str, paths))}"
    assert not unequal, "live objects differ from what was applied: " + "; ".join(unequal)


def _as_stored(doc: dict[str, Any]) -> dict[str, Any]:
    """A Secret's ``stringData`` is stored base64-encoded under ``data``."""
    if doc.get("kind") != "Secret" or not doc.get("stringData"):
        return doc
    import base64

    out = {k: v for k, v in doc.items() if k != "stringData"}
    out["data"] = {
        **(doc.get("data") or {}),
        **{k: base64.b64encode(str(v).encode()).decode() for k, v in doc["stringData"].items()},
    }
    return out


def _from_commands(target: Target, item: Item) -> list[Path]:
    from gonogo.checks import release

    return release.manifest_paths(item.commands, target.manifests_dir, target.secrets_dir)


@pytest.mark.mutating
@pytest.mark.item("Update configurations")
@pytest.mark.kube_access("get,create,patch configmaps,secrets")
def test_update_configurations(
    target: Target,
    environment: str,
    kube: KubeClient,
    namespace: str,
    dry_run: bool,
    checklist_item: Item,
    evidence: Evidence,
) -> None:
    """The environment's ConfigMaps and the other manifests the item's commands name are
    applied, and what the cluster holds afterwards equals what was applied."""
    # The environment's own ConfigMaps, not the file the seed names for production.
    paths = [
        p for p in _from_commands(target, checklist_item) if not p.name.startswith("configmap")
    ]
    paths = [*target.configmap_paths(environment), *paths]
    _apply_and_prove(paths, kube, namespace, dry_run, evidence)


@pytest.mark.mutating
@pytest.mark.item("Network policies updated")
@pytest.mark.kube_access("get,create,patch networkpolicies")
def test_network_policies(
    target: Target,
    kube: KubeClient,
    namespace: str,
    dry_run: bool,
    checklist_item: Item,
    evidence: Evidence,
) -> None:
    """The network policies the item names are applied, and the cluster holds them as applied."""
    _apply_and_prove(_from_commands(target, checklist_item), kube, namespace, dry_run, evidence)


@pytest.mark.mutating
@pytest.mark.item("RBAC and security")
@pytest.mark.kube_access(
    "get,create,patch roles,rolebindings,certificates,clusterissuers",
    "bind,escalate roles",
)
def test_rbac_and_security(
    target: Target,
    kube: KubeClient,
    namespace: str,
    dry_run: bool,
    checklist_item: Item,
    evidence: Evidence,
) -> None:
    """The RBAC and cert-manager objects the item names are applied, and the cluster holds them
    as applied."""
    _apply_and_prove(_from_commands(target, checklist_item), kube, namespace, dry_run, evidence)
