"""Fixtures of the staging checks."""

from __future__ import annotations

from typing import Any

import pytest
from gonogo.checks import Target


@pytest.fixture
def staging_manifests(target: Target, environment: str) -> list[dict[str, Any]]:
    """The release's manifests for this environment: every document under
    manifests_dir and secrets_dir except other environments' ConfigMap files
    and this environment's own (applied by "Configure staging-specific
    settings"), with each release image set to the release tag."""
    from gonogo.checks import load_documents

    if target.manifests_dir is None:
        pytest.fail("the target has no manifests_dir; name the release's manifests", pytrace=False)
    own_or_foreign = {name for env in target.environments.values() for name in env.configmaps}
    files = [p for p in sorted(target.manifests_dir.glob("*.y*ml")) if p.name not in own_or_foreign]
    if target.secrets_dir is not None and target.secrets_dir.is_dir():
        files += sorted(target.secrets_dir.glob("*.y*ml"))
    documents = load_documents(files)
    images = {
        s.deployment_name: (s.container, target.image_ref(s))
        for s in target.release_services()
        if target.registry is not None
    }
    for doc in documents:
        if doc.get("kind") == "Deployment" and doc["metadata"]["name"] in images:
            container, image = images[doc["metadata"]["name"]]
            for c in doc["spec"]["template"]["spec"]["containers"]:
                if container is None or c["name"] == container:
                    c["image"] = image
                    if container is None:
                        break
    return documents
