"""Which manifests and services each deploy item (Phases 3 to 7) covers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gonogo.checks import Applied, Checklist, Item, ProbeError, Service, Target

ITEM_TIERS: dict[str, tuple[str, ...]] = {
    "Deploy Redis (cache/session store)": ("data", "cache"),
    "Deploy MCP services (core functionality)": ("core",),
    "Deploy dashboard and business logic": ("business",),
    "Deploy integration services": ("integration",),
    "Deploy MCP Business service": ("mcp-business",),
    "Deploy ingress and networking": ("networking", "ingress"),
    "Deploy monitoring stack": ("monitoring",),
}
"""Which target tiers each deploy item rolls out; the target's ``tier`` of a
service places it. Manifests the item's commands name are applied as well."""


@dataclass
class DeployOutcome:
    """What one deploy item applied and how its rollouts ended."""

    applied: list[Applied] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def item_services(target: Target, title: str) -> list[Service]:
    tiers = ITEM_TIERS[title]
    return [s for s in target.services_in_dependency_order() if s.tier in tiers]


def item_documents(target: Target, item: Item) -> tuple[list[dict[str, Any]], list[str]]:
    """The documents ``item`` applies, images set to the release."""
    from gonogo.checks import apply, release

    paths = release.manifest_paths(item.commands, target.manifests_dir, target.secrets_dir)
    for service in item_services(target, item.title):
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
    """The checklist's deploy items by title (those ``ITEM_TIERS`` maps)."""
    return {i.title: i for i in checklist.all_items() if i.title in ITEM_TIERS}
