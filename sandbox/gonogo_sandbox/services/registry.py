"""The sandbox's image registry: Debian's ``docker-registry`` (the CNCF
distribution registry) on loopback, holding one image per demo component for
each release. At start, every image whose tag is missing or points at a
different digest is built locally (see ``oci``) and pushed with ``skopeo``,
as a real release pipeline would push it."""

from __future__ import annotations

import json
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml

from gonogo_sandbox import process
from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.services import oci
from gonogo_sandbox.services._common import PROBE_TIMEOUT, http_ok, locked, running, start_process
from gonogo_sandbox.services.images import all_images

NAME = "registry"
PUSH_WORKERS = 4
"""Parallel skopeo pushes: enough to hide process start-up, few enough for
a two-core machine."""
PUSH_TIMEOUT = 60.0
ACCEPT = ", ".join(
    [
        oci.MANIFEST_TYPE,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def url(cfg: SandboxConfig) -> str:
    return cfg.url("registry")


def address(cfg: SandboxConfig) -> str:
    """``host:port`` as image references name the registry."""
    return f"{HOST}:{cfg.port('registry')}"


def _config(cfg: SandboxConfig, storage: Path) -> dict[str, object]:
    return {
        "version": 0.1,
        "log": {"level": "info", "fields": {"service": "registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "http": {"addr": address(cfg), "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }


def manifest_digest(
    cfg: SandboxConfig, repository: str, tag: str, *, client: httpx.Client | None = None
) -> str | None:
    """The digest the registry serves for ``repository:tag``, None when absent."""
    request = client.head if client else httpx.head
    response = request(
        f"{url(cfg)}/v2/{repository}/manifests/{tag}",
        headers={"Accept": ACCEPT},
        timeout=PROBE_TIMEOUT,
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.headers.get("Docker-Content-Digest")


def tags(cfg: SandboxConfig, repository: str) -> list[str]:
    """The tags the registry lists for ``repository`` (empty when unknown)."""
    response = httpx.get(f"{url(cfg)}/v2/{repository}/tags/list", timeout=PROBE_TIMEOUT)
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return list(response.json().get("tags") or [])


def _push(cfg: SandboxConfig, image: oci.Image, work: Path, policy: Path) -> None:
    layout = oci.write_layout(image, work / f"{image.ref.repository}-{image.ref.tag}")
    argv = [
        "skopeo", "--policy", str(policy), "copy", "--quiet",
        "--dest-tls-verify=false", "--preserve-digests",
        f"oci:{layout}:{image.ref.tag}",
        f"docker://{image.ref.reference(address(cfg))}",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=PUSH_TIMEOUT, check=False
        )
    except FileNotFoundError as e:
        raise process.SandboxError(
            "registry: skopeo not found; run 'bash sandbox/install-deps.sh'"
        ) from e
    except subprocess.TimeoutExpired as e:
        raise process.SandboxError(
            f"registry: pushing {image.ref.reference(address(cfg))} took over "
            f"{PUSH_TIMEOUT:.0f} s; see {process.log_file(cfg, NAME)}"
        ) from e
    if result.returncode != 0:
        raise process.SandboxError(
            f"registry: skopeo could not push {image.ref.reference(address(cfg))}: "
            f"{result.stderr.strip()}; see {process.log_file(cfg, NAME)}"
        )


def publish(cfg: SandboxConfig) -> list[str]:
    """Push every release image whose tag is missing or stale; return the
    references pushed (empty when the registry already held them all)."""
    images = [oci.build(ref) for ref in all_images()]
    with httpx.Client() as client:
        stale = [
            i
            for i in images
            if manifest_digest(cfg, i.ref.repository, i.ref.tag, client=client) != i.digest
        ]
    if not stale:
        return []
    with tempfile.TemporaryDirectory(prefix="gonogo-oci-") as tmp:
        work = Path(tmp)
        policy = work / "policy.json"
        # The images are built here, from local bytes: no signature to require.
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        with ThreadPoolExecutor(max_workers=PUSH_WORKERS) as pool:
            list(pool.map(lambda image: _push(cfg, image, work, policy), stale))
    return [i.ref.reference(address(cfg)) for i in stale]


def start(cfg: SandboxConfig) -> None:
    home = cfg.state_dir / "registry"
    storage = home / "data"
    storage.mkdir(parents=True, exist_ok=True)
    config_file = home / "config.yml"
    config_file.write_text(yaml.safe_dump(_config(cfg, storage), sort_keys=False))
    start_process(
        cfg, NAME, ["docker-registry", "serve", str(config_file)], ports=["registry"],
        ready=lambda: http_ok(url(cfg) + "/v2/"), timeout=30,
    )  # fmt: skip
    with locked(cfg, "registry-publish"):
        publish(cfg)


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    return running(cfg, NAME) and http_ok(url(cfg) + "/v2/"), url(cfg)
