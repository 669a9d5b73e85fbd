"""Copies of ``targets/sandbox.yaml`` for another release: the demo's
staging baseline (v1.0.0) and its faulty candidate (v1.2.0) are the same
system as the sandbox target with another ``release`` (and, for the
candidate, other manifests). The copy lives in the demo's reports folder, so
its file paths are made absolute."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml


def _absolute(value: str, base: Path) -> str:
    if value.startswith(("/", "~", "$")):
        return value
    return str((base / value).resolve())


def _absolute_paths(data: dict[str, Any], base: Path) -> None:
    """Make the target's file paths absolute (they are relative to the target
    file, and the copy lives elsewhere)."""
    for key in ("manifests_dir", "secrets_dir"):
        if isinstance(data.get(key), str):
            data[key] = _absolute(data[key], base)
    for section, key in (("release_notes", "path"), ("security_scan", "report")):
        if isinstance(data.get(section), dict) and isinstance(data[section].get(key), str):
            data[section][key] = _absolute(data[section][key], base)
    kube = data.get("kube") or {}
    if isinstance(kube.get("kubeconfig"), str):
        kube["kubeconfig"] = _absolute(kube["kubeconfig"], base)
    monitoring = data.get("monitoring") or {}
    if isinstance(monitoring.get("error_log_paths"), list):
        monitoring["error_log_paths"] = [
            _absolute(p, base) if isinstance(p, str) else p for p in monitoring["error_log_paths"]
        ]
    for host in (data.get("ingress") or {}).get("tls_hosts") or []:
        if isinstance(host, dict) and isinstance(host.get("ca_bundle"), str):
            host["ca_bundle"] = _absolute(host["ca_bundle"], base)


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    """Deep-merge ``changes`` into ``into``; a value of None removes the key."""
    for key, value in changes.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def load_copy(base_target: Path) -> dict[str, Any]:
    """``base_target``'s document with its file paths made absolute."""
    data: dict[str, Any] = yaml.safe_load(base_target.read_text())
    _absolute_paths(data, base_target.resolve().parent)
    return data


def write_copy(base_target: Path, path: Path, changes: dict[str, Any], why: str) -> Path:
    """Write ``base_target`` with ``changes`` merged in to ``path``, under a
    comment saying ``why`` the copy exists; returns ``path``."""
    data = load_copy(base_target)
    _merge(data, changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    comment = "".join(f"# {line}\n" for line in why.splitlines())
    path.write_text(
        f"# Written by 'gonogo demo' from {base_target}.\n{comment}"
        + yaml.safe_dump(data, sort_keys=False)
    )
    return path
