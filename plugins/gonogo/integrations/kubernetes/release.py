"""The manifests a checklist item deploys, with the release's images set.

The seed documents each deploy item as ``kubectl apply -f
k8s-deploy/manifests/<file>`` and ``kubectl wait ... --timeout=<N>s
deployment/<name>``. gonogo reads those documented commands: the files come
from the target's ``manifests_dir`` (``.../secrets/`` from ``secrets_dir``), the
waits give the timeouts of Deployments the target does not describe (the
monitoring stack), and every Deployment of a service the release builds gets
``<repository_prefix>/<image>:<release>``. The checklist stays the one place
that says what each item applies.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from gonogo.errors import ConfigError

_TIMEOUT = re.compile(r"^--timeout=(\d+)s$")


def manifest_paths(
    commands: list[str], manifests_dir: Path | None, secrets_dir: Path | None
) -> list[Path]:
    """Files named by ``kubectl apply -f`` in ``commands``, mapped into the target."""
    paths: list[Path] = []
    for line in _lines(commands):
        words = shlex.split(line, comments=True)
        if words[:2] != ["kubectl", "apply"]:
            continue
        for index, word in enumerate(words):
            if word in ("-f", "--filename") and index + 1 < len(words):
                paths.append(_located(words[index + 1], manifests_dir, secrets_dir))
    return list(dict.fromkeys(paths))


def _lines(commands: list[str]) -> list[str]:
    return [line.strip() for block in commands for line in block.splitlines() if line.strip()]


def _located(written: str, manifests_dir: Path | None, secrets_dir: Path | None) -> Path:
    name = written.rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith((".yaml", ".yml")):
        if secrets_dir is None:
            raise ConfigError(f"the checklist applies the directory {written}; set secrets_dir")
        return secrets_dir
    if manifests_dir is None:
        raise ConfigError(f"the checklist applies {written}; set manifests_dir in the target")
    return manifests_dir / name


def wait_timeouts(commands: list[str]) -> dict[str, float]:
    """Deployment name -> seconds, from ``kubectl wait ... deployment/<name>``."""
    found: dict[str, float] = {}
    for line in _lines(commands):
        words = shlex.split(line, comments=True)
        if words[:2] != ["kubectl", "wait"]:
            continue
        seconds = next((float(m.group(1)) for w in words if (m := _TIMEOUT.match(w))), 300.0)
        for word in words:
            if word.startswith("deployment/"):
                found[word.split("/", 1)[1]] = seconds
    return found


def set_release_images(documents: list[dict[str, Any]], target: Any) -> list[str]:
    """Point every Deployment of a release service at the release's image, in
    place; returns ``deployment: old -> new`` for each image set."""
    services = {s.deployment_name: s for s in target.release_services()}
    changes: list[str] = []
    for doc in documents:
        if doc.get("kind") != "Deployment":
            continue
        service = services.get(doc["metadata"]["name"])
        if service is None:
            continue
        containers = doc["spec"]["template"]["spec"]["containers"]
        chosen = [c for c in containers if c["name"] == (service.container or c["name"])]
        if service.container is None and len(containers) > 1:
            chosen = [c for c in containers if c["name"] == service.name] or containers[:1]
        if not chosen:
            raise ConfigError(
                f"deployment/{service.deployment_name} has no container {service.container!r}; "
                "fix services[].container in the target"
            )
        image = target.image_ref(service)
        for container in chosen:
            if container["image"] != image:
                changes.append(f"{service.deployment_name}: {container['image']} -> {image}")
                container["image"] = image
    return changes


def deployments_in(documents: list[dict[str, Any]]) -> list[str]:
    return [d["metadata"]["name"] for d in documents if d.get("kind") == "Deployment"]


def images_in(documents: list[dict[str, Any]]) -> list[str]:
    """Every container image the documents' Deployments will run."""
    images: list[str] = []
    for doc in documents:
        if doc.get("kind") != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            images.append(str(container["image"]))
    return list(dict.fromkeys(images))
