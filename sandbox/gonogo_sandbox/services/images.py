"""The release images the sandbox's registry holds: one repository per demo
component and per ledger service, one tag per release. This is the only list of them; the
manifests under ``sandbox/manifests/`` refer to
``127.0.0.1:15000/<repository>:<release>``."""

from __future__ import annotations

from dataclasses import dataclass

REPOSITORIES: tuple[str, ...] = (
    "sophia-mcp-research",
    "sophia-mcp-context",
    "sophia-mcp-agents",
    "sophia-dashboard",
    "sophia-business",
    "sophia-hubspot",
    "sophia-github",
    "sophia-lambda",
    "sophia-mcp-business",
    "sophia-redis",
    "sophia-maintenance",
)
"""The demo system's repositories (the ones its scan reports cover)."""

LEDGER_REPOSITORIES: tuple[str, ...] = (
    "ledger-store",
    "ledger-accounts",
    "ledger-payments",
    "ledger-gateway",
)
"""The second sample application's repositories (targets/ledger.yaml); it ships
no scan report, so its "Image security scanning" is not applicable."""

RELEASES: dict[str, str] = {
    "v1.0.0": "2025-05-06T09:00:00Z",
    "v1.1.0": "2025-06-03T09:00:00Z",
    "v1.2.0": "2025-07-01T09:00:00Z",
}
"""Release tag -> build time written into each image's config. Fixed, so that
every machine builds byte-identical images with the same digests.

v1.0.0 is what the sandbox deploys, v1.1.0 the release the checklists gate and
deploy, v1.2.0 the next candidate: ``gonogo demo`` releases it with a fault in
its manifests to show a release caught after deployment and rolled back."""


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str

    def reference(self, registry: str) -> str:
        """``registry/repository:tag``, e.g. ``127.0.0.1:15000/sophia-dashboard:v1.1.0``."""
        return f"{registry}/{self.repository}:{self.tag}"


def all_images() -> list[ImageRef]:
    return [ImageRef(repo, tag) for repo in REPOSITORIES + LEDGER_REPOSITORIES for tag in RELEASES]
