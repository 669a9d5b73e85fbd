"""Which manifests and services each deploy item (Phases 3 to 7) covers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gonogo.checks import Applied, Checklist, Item, ProbeError, Service, Target

SEED_ITEM_TIERS: dict[str, tuple[str, ...]] = {
    "Deploy Redis (cache/session store)": ("data", "cache"),
    "Deploy MCP services (core functionality)": ("core",),
    "Deploy dashboard and business logic": ("business",),
    "Deploy integration services": ("integration",),
    "Deploy MCP Business service": ("mcp-business",),
    "Deploy ingress and networking": ("networking", "ingress"),
    "Deploy monitoring stack": ("monitoring",),
}
"""The seed checklist's deploy items and the tiers its own words give them;
used when the target has those tiers. Any other deploy item takes the target
tiers its title names (see :func:`item_tiers`)."""


def is_deploy_item(item: Item) -> bool:
    """A rollout item: a top-level "Deploy ..." item of the deploy stage."""
    if item.title in SEED_ITEM_TIERS:
        return True
    stage = item.stage if item.phase is not None else None
    return (
        stage is not None
        and stage.key == "deploy"
        and item.parent is None
        and item.title.strip().lower().startswith("deploy ")
    )


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "


def item_tiers(target: Target, title: str, titles: Sequence[str] = ()) -> list[str]:
    """The target tiers the deploy item ``title`` rolls out, in deployment order.

    The seed's own items keep their tiers where the target has them; any other
    title takes every target tier it names as words ("Deploy the storage
    tier" -> storage). ``titles`` are all the checklist's deploy items, in
    order: the first of them that names no tier of the target also takes every
    tier no item names, so each service of the target is deployed once."""
    tiers = [tier for tier, _ in target.tiers()]
    own = _claimed(tiers, title)
    if own:
        return own
    unnamed = [t for t in titles if not _claimed(tiers, t)]
    if unnamed and unnamed[0] == title:
        named = {t for other in titles for t in _claimed(tiers, other)}
        return [tier for tier in tiers if tier not in named]
    return []


def _claimed(tiers: Sequence[str], title: str) -> list[str]:
    seed = [t for t in SEED_ITEM_TIERS.get(title, ()) if t in tiers]
    if seed:
        return seed
    words = _words(title)
    return [tier for tier in tiers if _words(tier) in words]


@dataclass
class DeployOutcome:
    """What one deploy item applied and how its rollouts ended."""

    applied: list[Applied] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def item_services(target: Target, title: str, titles: Sequence[str] = ()) -> list[Service]:
    """The target's services the deploy item ``title`` rolls out, dependencies first."""
    tiers = set(item_tiers(target, title, titles))
    return [service for tier, services in target.tiers() if tier in tiers for service in services]


def item_documents(
    target: Target, item: Item, titles: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], list[str]]:
    """The documents ``item`` applies, images set to the release: the
    manifests its commands name, then each of its services' own manifest."""
    from gonogo.checks import apply, release

    paths = release.manifest_paths(item.commands, target.manifests_dir, target.secrets_dir)
    for service in item_services(target, item.title, titles):
        if target.manifests_dir is not None:
            own = target.manifests_dir / f"{service.deployment_name}.yaml"
            if own.is_file() and own not in paths:
                paths.append(own)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ProbeError(f"manifests not found: {', '.join(missing)}; check manifests_dir")
    documents = apply.load_documents(paths)
    return documents, release.set_release_images(documents, target)


def deploy_items(checklist: Checklist) -> dict[str, Item]:
    """The checklist's rollout items by title, in checklist order."""
    return {i.title: i for i in checklist.all_items() if is_deploy_item(i)}
