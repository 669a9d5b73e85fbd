"""Phase 2 (T-20): the release's images exist, were scanned, and are the ones
the manifests will deploy — asked of the registry by digest."""

from __future__ import annotations

import pytest
from gonogo.checks import Environment, Evidence, ManifestCheck, RegistryClient, Target

from suites.deploy.plan import deploy_items, item_documents
from suites.sections import present, required


def _image_problem(check: ManifestCheck) -> str:
    return f"{check.image}: {check.error}"


@pytest.mark.item("Build images for all services")
def test_all_release_images_built(
    target: Target,
    registry: RegistryClient,
    release_digests: dict[str, str | None],
    evidence: Evidence,
) -> None:
    """Every image this release builds exists in the registry under the release tag."""
    images = [target.image_ref(s) for s in target.release_services()]
    checks = registry.head_all(images)
    evidence.table("images", [c.row() for c in checks])
    release_digests.update({c.image: c.digest for c in checks if c.exists})
    missing = [_image_problem(c) for c in checks if not c.exists]
    assert images, f"no service in {target.source} has an image this release builds"
    assert not missing, f"{len(missing)} of {len(images)} release images missing: " + "; ".join(
        missing
    )


def test_service_image(
    service: str,
    target: Target,
    registry: RegistryClient,
    release_digests: dict[str, str | None],
    evidence: Evidence,
) -> None:
    """``<registry>/<image>:<release>`` of one service answers a manifest HEAD."""
    if service not in {s.name for s in target.services}:
        # A sub-item of another system's checklist: the parent item checks
        # every image this target builds.
        evidence.note("not applicable", f"{service} is not a service of {target.source}")
        pytest.skip(
            f"not applicable: {target.name} has no service {service!r}; "
            f"its services are {', '.join(s.name for s in target.services)}"
        )
    svc = target.service(service)
    image = target.image_ref(svc)
    check = registry.head(image)
    evidence.table("manifest HEAD", [check.row()])
    if check.exists:
        release_digests[image] = check.digest
    assert check.exists, (
        f"{_image_problem(check)} (HEAD {registry.url}/v2/.../manifests/{target.release})"
    )


test_service_image.image_subitems = True  # type: ignore[attr-defined]


@pytest.mark.item("Image security scanning")
def test_image_security_scanning(
    target: Target,
    environment: str,
    env_policy: Environment,
    registry: RegistryClient,
    evidence: Evidence,
) -> None:
    """The security scan report covers, by digest, each release image about to be deployed, and
    holds no finding at or above the environment's limit."""
    from gonogo.checks import scan

    security_scan = present(target.security_scan, target, "security_scan", environment)
    report = scan.load(security_scan.report, security_scan.format)
    images = [target.image_ref(s) for s in target.release_services()]
    checks = registry.head_all(images)
    text = security_scan.report.read_text(encoding="utf-8")
    unscanned = []
    rows = []
    for check in checks:
        by_digest = bool(check.digest and check.digest in text)
        rows.append(
            {
                "image": check.image,
                "digest": check.digest or "",
                "scanned": by_digest or report.covers(check.image),
            }
        )
        if not check.exists:
            unscanned.append(f"{check.image} ({check.error})")
        elif not by_digest:
            unscanned.append(f"{check.image} digest {check.digest} is not in the report")
    blocking = [f for f in report.findings if env_policy.severity_blocks(f.severity)]
    evidence.table("scanned images", rows)
    evidence.data("findings by severity", report.counts())
    if blocking:
        evidence.table("blocking findings", [f.row() for f in blocking])
    assert not unscanned, (
        "the scan report does not cover the images about to be deployed: "
        + "; ".join(unscanned)
        + f"; rescan them into {security_scan.report}"
    )
    assert not blocking, (
        f"{len(blocking)} findings at or above {env_policy.scan_severity_limit}: "
        + ", ".join(sorted({f.id for f in blocking})[:10])
        + f"; see {security_scan.report}"
    )


@pytest.mark.item("Image registry push")
def test_image_registry_push(
    request: pytest.FixtureRequest,
    target: Target,
    registry: RegistryClient,
    release_digests: dict[str, str | None],
    evidence: Evidence,
) -> None:
    """Every image the release's manifests will run is in the registry, and a
    release image still has the digest seen earlier in this phase."""
    from gonogo.checks import checklist_of, release

    images: list[str] = []
    items = deploy_items(checklist_of(request.config))
    for item in items.values():
        documents, _ = item_documents(target, item, list(items))
        images += release.images_in(documents)
    prefix = required(target.registry, "registry").repository_prefix + "/"
    others = sorted({i for i in images if not i.startswith(prefix)})
    images = [i for i in dict.fromkeys(images) if i.startswith(prefix)]
    if others:
        evidence.note(
            "images from other registries (not pushed by this release)", "\n".join(others)
        )
    checks = registry.head_all(images)
    rows = []
    problems = []
    for check in checks:
        seen = release_digests.get(check.image)
        rows.append({**check.row(), "digest_seen_earlier": seen or ""})
        if not check.exists:
            problems.append(_image_problem(check))
        elif "@" in check.image and not check.image.endswith(check.digest or "-"):
            problems.append(f"{check.image}: registry serves {check.digest}")
        elif seen and seen != check.digest:
            problems.append(f"{check.image}: digest changed from {seen} to {check.digest}")
    evidence.table("images the manifests deploy", rows)
    assert images, "the deploy items' manifests name no images; check manifests_dir"
    assert not problems, "registry does not hold what will be deployed: " + "; ".join(problems)
