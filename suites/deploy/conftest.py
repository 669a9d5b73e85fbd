"""Fixtures of the production deployment phases.

Each deploy item (Phases 3 to 7) applies the manifests its documented
commands name, plus the manifest of every target service of its tiers, with
the release's images set; then waits for the rollouts and checks health and
version. Without ``--execute`` the same apply is a server-side dry run and the
planned changes are the evidence.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gonogo.checks import Evidence, Item, KubeClient, ProbeError, Target

from suites.deploy.plan import DeployOutcome, item_documents, item_services


@pytest.fixture
def deploy_item(
    target: Target,
    environment: str,
    kube: KubeClient,
    namespace: str,
    dry_run: bool,
    evidence: Evidence,
    checklist_item: Item,
    rollout_progress: Callable[[str], None],
) -> Callable[[], DeployOutcome]:
    """Deploy the bound item: apply, wait for rollouts, check health and version."""

    def run() -> DeployOutcome:
        __tracebackhide__ = True
        from gonogo.checks import apply, changes, check_health_many, release, rollout

        documents, images = item_documents(target, checklist_item)
        outcome = DeployOutcome(images=images)
        mapper = apply.ResourceMapper(kube)
        rows = []
        for doc in documents:
            try:
                result, after = apply.apply_object(
                    kube, doc, namespace, dry_run=dry_run, mapper=mapper
                )
            except ProbeError as e:
                outcome.problems.append(str(e))
                break
            outcome.applied.append(result)
            row = result.row()
            if dry_run and result.changed and result.action != "created":
                before = mapper.object_path(doc, result.namespace)
                live = kube.get(before, what=f"get {doc['kind']} {result.name}")
                row["changes"] = "; ".join(
                    changes.diff(live, after, secret=doc["kind"] == "Secret")[:6]
                )
            rows.append(row)
        evidence.note("mode", "dry run (dryRun=All): nothing changed" if dry_run else "executed")
        if outcome.problems:
            return outcome
        evidence.table("applied" if not dry_run else "planned changes", rows)
        if images:
            evidence.note("images set to the release", "\n".join(images))
        if dry_run:
            return outcome
        services = {s.deployment_name: s for s in target.services}
        waits = release.wait_timeouts(checklist_item.commands)
        deadlines = {
            name: services[name].rollout_timeout_s if name in services else waits.get(name, 300.0)
            for name in release.deployments_in(documents)
        }
        rollouts = rollout.wait_for(kube, namespace, deadlines, progress=rollout_progress)
        evidence.table("rollouts", rollouts.rows())
        outcome.problems += rollouts.failures
        if not rollouts.ok:
            return outcome
        released = {s.name for s in target.release_services()}
        checks = [
            (service, target.release if service.name in released else None)
            for service in item_services(target, checklist_item.title)
        ]
        problems = check_health_many(target, environment, checks, 30.0)
        outcome.problems += [
            f"{service.name}: {problem}"
            for (service, _), problem in zip(checks, problems, strict=True)
            if problem
        ]
        return outcome

    return run


BUILD_IMAGES = "Build images for all services"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One image test per sub-item of "Build images for all services", named
    after the service and bound to that sub-item."""
    if not getattr(metafunc.function, "image_subitems", False):
        return
    from gonogo.checks import checklist_of

    checklist = checklist_of(metafunc.config)
    parents = [i for i in checklist.all_items() if i.title == BUILD_IMAGES]
    names = [child.title for parent in parents for child in parent.children]
    metafunc.parametrize(
        "service",
        [pytest.param(name, marks=pytest.mark.item(name)) for name in names],
        ids=names,
    )
