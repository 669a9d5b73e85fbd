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

from suites.deploy.plan import (
    SEED_ITEM_TIERS,
    DeployOutcome,
    deploy_items,
    item_documents,
    item_services,
    item_tiers,
)

SEED_IDS = {
    "Deploy Redis (cache/session store)": "redis",
    "Deploy MCP services (core functionality)": "mcp-core",
    "Deploy dashboard and business logic": "dashboard-business",
    "Deploy integration services": "integrations",
    "Deploy MCP Business service": "mcp-business",
    "Deploy ingress and networking": "ingress-networking",
    "Deploy monitoring stack": "monitoring",
}
"""Test ids of the seed's deploy items, kept as they were; other items are
named by their title."""


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
    request: pytest.FixtureRequest,
) -> Callable[[], DeployOutcome]:
    """Deploy the bound item: apply, wait for rollouts, check health and version."""

    def run() -> DeployOutcome:
        __tracebackhide__ = True
        from gonogo.checks import apply, changes, check_health_many, checklist_of, release, rollout

        titles = list(deploy_items(checklist_of(request.config)))
        tiers = item_tiers(target, checklist_item.title, titles)
        evidence.note("tiers", ", ".join(tiers) or "none of the target's")
        documents, images = item_documents(target, checklist_item, titles)
        if not documents:
            evidence.note(
                "not applicable",
                f"no service of {target.source} is in this item's tiers and its commands "
                "name no manifest",
            )
            pytest.skip(
                f"not applicable: {target.name} has no services for "
                f"{checklist_item.title!r} (tiers: {', '.join(t for t, _ in target.tiers())})"
            )
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
            for service in item_services(target, checklist_item.title, titles)
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
    """One rollout test per "Deploy ..." item of the checklist, and one image
    test per sub-item of "Build images for all services", each bound to its
    item."""
    from gonogo.checks import checklist_of

    if getattr(metafunc.function, "deploy_items", False):
        titles = list(deploy_items(checklist_of(metafunc.config)))
        if not titles:
            titles = list(SEED_ITEM_TIERS)
        metafunc.parametrize(
            "tier",
            [
                pytest.param(SEED_IDS.get(title) or _slug(title), marks=pytest.mark.item(title))
                for title in titles
            ],
        )
    if not getattr(metafunc.function, "image_subitems", False):
        return

    checklist = checklist_of(metafunc.config)
    parents = [i for i in checklist.all_items() if i.title == BUILD_IMAGES]
    names = [child.title for parent in parents for child in parent.children]
    metafunc.parametrize(
        "service",
        [pytest.param(name, marks=pytest.mark.item(name)) for name in names],
        ids=names,
    )


def _slug(title: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
