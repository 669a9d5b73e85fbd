"""Planning and Preparation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from gonogo.checks import (
    ClusterSnapshot,
    DeploymentView,
    Environment,
    Evidence,
    KubeClient,
    PlannedStep,
    ProbeError,
    ResourceMapper,
    RollbackPlan,
    Settings,
    SignOff,
    Target,
    apply_object,
    consistency,
)
from gonogo.checks import backup as backups

from suites.sections import present, required

VELERO_API = "velero.io/v1"


@pytest.mark.item("Release notes prepared")
def test_release_notes_prepared(
    target: Target, environment: str, evidence: Evidence, request: pytest.FixtureRequest
) -> None:
    """The notes exist, are not empty and name the version being released."""
    notes = present(target.release_notes, target, "release_notes", environment)
    bare = re.escape(target.release.lstrip("v"))
    version = re.compile(rf"(?<![\w.])v?{bare}(?!\w|\.\d)")
    problems = []
    if notes.path is not None:
        text = notes.path.read_text(encoding="utf-8") if notes.path.is_file() else None
        if text is None:
            problems.append(f"{notes.path} does not exist; write the release notes there")
        elif not text.strip():
            problems.append(f"{notes.path} is empty")
        elif not version.search(text):
            problems.append(f"{notes.path} does not name {target.release}")
        else:
            evidence.note("release notes", f"{notes.path}: {len(text.splitlines())} lines")
            evidence.note("excerpt", text.strip()[:600])
    if notes.github_release:
        github = request.getfixturevalue("github")
        release = github.release(target.release)
        body = str(release.get("body") or "")
        evidence.note("GitHub release", f"{release.get('name')} ({release.get('html_url')})")
        if release.get("draft"):
            problems.append(f"GitHub release {target.release} is still a draft; publish it")
        if not body.strip():
            problems.append(f"GitHub release {target.release} has an empty body")
        elif not version.search(body) and not version.search(str(release.get("name"))):
            problems.append(f"GitHub release {target.release} does not name the version")
    assert not problems, "; ".join(problems)


@pytest.mark.item("Backup verification")
@pytest.mark.kube_access(
    "list backups.velero.io in all namespaces",
    "get,create,patch restorable",
    "bind,escalate roles",  # a dry run of Roles and RoleBindings is authorized as the real one
)
def test_backup_verification(
    target: Target,
    env_policy: Environment,
    environment: str,
    namespace: str,
    kube: KubeClient,
    evidence: Evidence,
    backups_dir: Path,
    request: pytest.FixtureRequest,
    record_data: Callable[[str, Any], None],
) -> None:
    """The newest backup is recent, parses, and its objects pass a server-side
    dry-run apply; Velero backups count when Velero is installed. The data the
    target lists for consistency is fingerprinted too and kept in this run's
    record, so the post-deploy "Data consistency" check, in whatever job it
    runs, can prove the release lost or changed none of it."""
    if target.redis is not None and target.redis.consistency_keys:
        _record_consistency(
            target, environment, evidence, record_data, request.getfixturevalue("redis_client")
        )
    mapper = ResourceMapper(kube)
    limit_h = env_policy.backup_max_age_h
    if mapper.serves(VELERO_API, "Backup"):
        _velero_backup(kube, namespace, limit_h, evidence)
        return
    directory = backups_dir
    newest = backups.newest(directory)
    assert newest is not None, (
        f"no pre-deployment-<timestamp>.yaml backup in {directory}; take one with the deploy "
        "stage's 'Backup current state' (pytest -m deploy -k backup --execute) or point "
        "backups_dir at where they are kept"
    )
    backup = backups.read(newest)
    age_h = backup.age_hours()
    evidence.note("backup", f"{newest} taken {backup.taken.isoformat()}")
    evidence.measure("backup_age_h", round(age_h, 2), limit=limit_h, unit="h")
    evidence.table("objects by kind", [{"kind": k, "count": n} for k, n in backup.kinds().items()])
    evidence.note("file mode", oct(backup.mode))
    assert age_h <= limit_h, (
        f"newest backup {newest.name} is {age_h:.1f} h old > {limit_h:g} h allowed for "
        f"{namespace}; take a new backup before deploying"
    )
    assert backup.objects, f"backup {newest} holds no objects; it cannot restore anything"
    assert backup.mode & 0o077 == 0, (
        f"backup {newest} has mode {oct(backup.mode)}; it holds configuration of the "
        f"namespace and must be 0600 (chmod 600 {newest})"
    )
    restorable = [o for o in backup.objects if not backups.owned(o)]
    refused = []
    for obj in restorable:
        ns = obj.get("metadata", {}).get("namespace")
        if ns and ns != namespace:
            refused.append(f"{obj['kind']} {ns}/{obj['metadata']['name']}: other namespace")
            continue
        try:
            apply_object(kube, backups.restorable(obj), namespace, dry_run=True, mapper=mapper)
        except ProbeError as e:
            refused.append(f"{obj['kind']} {obj['metadata']['name']}: {e}")
    evidence.note(
        "restore dry run",
        f"{len(restorable) - len(refused)} of {len(restorable)} objects accepted by a "
        f"server-side dry-run apply to {namespace}; "
        f"{len(backup.objects) - len(restorable)} controller-owned objects left to their owners",
    )
    assert not refused, (
        f"backup {newest.name} does not restore: {len(refused)} objects refused by the API "
        f"server's dry run: {'; '.join(refused[:5])}"
    )


CONSISTENCY_DATA = "consistency"
"""Name of the fingerprints in the "Backup verification" item of the run record."""


def _record_consistency(
    target: Target,
    environment: str,
    evidence: Evidence,
    record_data: Callable[[str, Any], None],
    redis_client: redis_lib.Redis,
) -> None:
    keys = list(required(target.redis, "redis").consistency_keys)
    fingerprints = consistency.snapshot(redis_client, keys)
    record_data(
        CONSISTENCY_DATA,
        {
            "target": target.name,
            "environment": environment,
            "release": target.previous_release,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "keys": fingerprints,
        },
    )
    evidence.note(
        "consistency fingerprints",
        f"{len(keys)} keys fingerprinted before the release, kept in this run's record: "
        + ", ".join(keys),
    )


def _velero_backup(kube: KubeClient, namespace: str, limit_h: float, evidence: Evidence) -> None:
    __tracebackhide__ = True
    items = kube.get(f"/apis/{VELERO_API}/backups", what="list Velero backups").get("items", [])
    mine = [
        b
        for b in items
        if not (b.get("spec", {}).get("includedNamespaces") or [])
        or namespace in b["spec"]["includedNamespaces"]
        or "*" in b["spec"]["includedNamespaces"]
    ]
    completed = [b for b in mine if b.get("status", {}).get("phase") == "Completed"]
    evidence.table(
        "Velero backups",
        [
            {
                "name": b["metadata"]["name"],
                "phase": b.get("status", {}).get("phase"),
                "completed": b.get("status", {}).get("completionTimestamp"),
                "errors": b.get("status", {}).get("errors", 0),
            }
            for b in mine
        ],
    )
    assert completed, f"no Completed Velero backup covers namespace {namespace}; run velero backup"
    newest = max(completed, key=lambda b: b["status"].get("completionTimestamp", ""))
    done = datetime.fromisoformat(newest["status"]["completionTimestamp"].replace("Z", "+00:00"))
    age_h = (datetime.now(UTC) - done).total_seconds() / 3600
    evidence.measure("backup_age_h", round(age_h, 2), limit=limit_h, unit="h")
    assert age_h <= limit_h, (
        f"newest Velero backup {newest['metadata']['name']} is {age_h:.1f} h old > {limit_h:g} h"
    )
    assert not newest["status"].get("errors"), (
        f"Velero backup {newest['metadata']['name']} completed with "
        f"{newest['status']['errors']} errors; velero backup describe --details"
    )


@pytest.mark.manual
@pytest.mark.item("Change approval")
def test_change_approval(
    env_policy: Environment, signoff: SignOff | None, evidence: Evidence
) -> None:
    """The sign-off comes from the role the environment's policy names."""
    approval = env_policy.approval
    evidence.note("policy", f"approval required: {approval.required}; role: {approval.role}")
    if signoff is None:
        assert not approval.required, f"no sign-off, but {approval.role} approval is required"
        return
    assert signoff.role == approval.role, (
        f"change approved by {signoff.who} as {signoff.role!r}, but this environment needs "
        f"{approval.role!r} approval; record a sign-off from that role"
    )


@pytest.mark.manual
@pytest.mark.item("Maintenance window scheduled")
def test_maintenance_window(
    env_policy: Environment, gonogo_settings: Settings, evidence: Evidence
) -> None:
    """The run falls inside the environment's deployment window, unless overridden."""
    now = datetime.now(UTC)
    window = env_policy.window
    inside = window.contains(now)
    evidence.note("window", f"{window.describe()}; now {now:%Y-%m-%d %H:%M} UTC ({now:%a})")
    if not inside and gonogo_settings.ignore_window:
        evidence.note(
            "override",
            f"--ignore-window: running outside the deployment window {window.describe()}",
        )
        return
    assert inside, (
        f"now ({now:%a %H:%M} UTC) is outside the deployment window {window.describe()}; "
        "wait for the window or pass --ignore-window (recorded as an override)"
    )


@pytest.mark.manual
@pytest.mark.item("Team availability")
def test_team_availability(
    env_policy: Environment, signoff: SignOff | None, evidence: Evidence
) -> None:
    """Someone confirmed on record who is on hand; the confirmation must still
    hold for the rest of the deployment window."""
    if signoff is None:
        evidence.note("team", "no confirmation needed for this environment")
        return
    now = datetime.now(UTC)
    remaining_h = (signoff.expires - now).total_seconds() / 3600
    evidence.note("confirmed by", signoff.summary())
    evidence.measure("confirmation_valid_h", round(remaining_h, 2), limit=1.0, ok=remaining_h >= 1)
    assert remaining_h >= 1, (
        f"team availability confirmed by {signoff.who} expires at {signoff.expires:%H:%M} UTC, "
        "in under an hour; renew it for the deployment"
    )


@pytest.mark.item("Rollback plan prepared")
@pytest.mark.kube_access("list deployments,replicasets")
def test_rollback_plan_prepared(
    target: Target, namespace: str, cluster: ClusterSnapshot, evidence: Evidence
) -> None:
    """Every release Deployment has a revision to return to, kept by the cluster."""
    steps: list[PlannedStep] = []
    problems = []
    for service in target.reverse_dependency_order():
        if not service.image:
            continue
        name = service.deployment_name
        found = cluster.find("deployments", name)
        if found is None:
            problems.append(f"deployment/{name} does not exist in {namespace}")
            continue
        deployment = DeploymentView(found)
        by_revision = cluster.replicasets_of(deployment)
        current = deployment.revision
        running = deployment.image_tag(service.container)
        # Before the release, the running revision is what a rollback returns to;
        # once the release runs, it is the newest older revision.
        if running == target.release:
            older = [r for r in by_revision if current is not None and r < current]
            back_to = max(older) if older else None
        else:
            back_to = current if current in by_revision else None
        history = deployment.revision_history_limit
        if back_to is None:
            problems.append(f"deployment/{name} has no earlier ReplicaSet to return to")
        elif running != target.release and history == 0:
            problems.append(
                f"deployment/{name} keeps revisionHistoryLimit 0: the deploy would delete "
                "the revision a rollback needs; set it to at least 1"
            )
        steps.append(
            PlannedStep(
                service=service.name,
                deployment=name,
                namespace=namespace,
                to_release=target.previous_release or running,
                from_revision=current,
                to_revision=back_to,
            )
        )
    plan = RollbackPlan(
        target.name,
        target.release,
        target.previous_release or "previous",
        steps,
        reason="prepared before the release",
    )
    evidence.note("rollback plan", plan.render())
    evidence.data("plan", plan.to_dict())
    order = [s.service for s in steps]
    expected = [s.name for s in target.reverse_dependency_order() if s.image]
    assert order == expected, f"plan order {order} is not the reverse dependency order {expected}"
    assert not problems, "rollback plan incomplete: " + "; ".join(problems)
