"""Builds a tiny but valid OCI image layout for one repository and release,
in Python, byte for byte reproducibly: a one-layer image whose layer holds a
file naming the component and its version. Reproducible bytes mean stable
digests, so the scan-report fixtures can name the images' real digests.

Layers are gzip streams with compression level 0 (stored blocks): still the
``tar+gzip`` media type every registry and client expects, but with no
dependence on the zlib version that compresses them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gonogo_sandbox.services.images import RELEASES, ImageRef

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


@dataclass(frozen=True)
class Image:
    ref: ImageRef
    layer: Blob
    diff_id: str
    config: Blob
    manifest: Blob

    @property
    def digest(self) -> str:
        """The manifest digest, which the registry reports for the tag."""
        return self.manifest.digest


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _layer_tar(ref: ImageRef, mtime: int) -> bytes:
    files = {
        "etc/sophia/component": f"{ref.repository}\n".encode(),
        "etc/sophia/version": f"{ref.tag}\n".encode(),
        "etc/sophia/release.json": _canonical(
            {"component": ref.repository, "version": ref.tag, "built": RELEASES[ref.tag]}
        ),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in ("etc", "etc/sophia"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, mtime
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def build(ref: ImageRef) -> Image:
    """The image for ``ref``, entirely in memory."""
    created = RELEASES[ref.tag]
    mtime = int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    tar = _layer_tar(ref, mtime)
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    layer = Blob(LAYER_TYPE, gzip.compress(tar, compresslevel=0, mtime=0))
    labels = {
        "org.opencontainers.image.title": ref.repository,
        "org.opencontainers.image.version": ref.tag,
        "org.opencontainers.image.created": created,
    }
    config = Blob(
        CONFIG_TYPE,
        _canonical(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": created,
                "config": {
                    "Labels": labels,
                    "Cmd": ["/bin/sh", "-c", "cat /etc/sophia/release.json"],
                    "Env": [f"SOPHIA_COMPONENT={ref.repository}", f"SOPHIA_VERSION={ref.tag}"],
                },
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created": created, "created_by": "gonogo sandbox image builder"}],
            }
        ),
    )
    manifest = Blob(
        MANIFEST_TYPE,
        _canonical(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
                "annotations": labels,
            }
        ),
    )
    return Image(ref, layer, diff_id, config, manifest)


def write_layout(image: Image, directory: Path) -> Path:
    """Write ``image`` as an OCI image layout at ``directory`` (the tag as its
    ``org.opencontainers.image.ref.name``), the form ``skopeo copy oci:`` reads."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for blob in (image.layer, image.config, image.manifest):
        (blobs / blob.digest.removeprefix("sha256:")).write_bytes(blob.data)
    (directory / "oci-layout").write_bytes(_canonical({"imageLayoutVersion": "1.0.0"}))
    entry = {
        **image.manifest.descriptor(),
        "annotations": {"org.opencontainers.image.ref.name": image.ref.tag},
    }
    (directory / "index.json").write_bytes(_canonical({"schemaVersion": 2, "manifests": [entry]}))
    return directory
