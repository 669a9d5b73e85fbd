"""YAML streams read and written with libyaml when PyYAML has it.

Backups of a large system are big YAML files: the pure-Python loader takes
tens of seconds over the objects of five hundred services, libyaml a small
fraction of that. The safe loader and dumper either way; same results."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

try:
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader, _Dumper = yaml.SafeLoader, yaml.SafeDumper

YAMLError = yaml.YAMLError


def load_all(text: str) -> list[Any]:
    """Every document of ``text``, empty ones left out."""
    return [d for d in yaml.load_all(text, Loader=_Loader) if d]


def dump_all(documents: Iterable[Any]) -> str:
    """Documents in the order given, keys in their own order."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False)
