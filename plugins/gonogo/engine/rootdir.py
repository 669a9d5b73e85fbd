"""The README's ``pytest --target FILE`` form, with FILE outside the project.

pytest picks its rootdir and ini file before it loads any plugin, so at that
moment ``--target`` is an unknown option and the FILE after it is taken for a
test path. With FILE outside the project the rootdir becomes a common ancestor
(often ``/``) and the project's ini file, which names the checklist, the
suites and the strictness gonogo runs with, is never read: the checks would
run against the wrong checklist, or none. pytest gives a plugin no way to
choose the rootdir again, so gonogo stops before anything runs and names the
two spellings that work (``--target=FILE``, or ``-c`` with the ini file)."""

from __future__ import annotations

import configparser
import itertools
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path

import pytest

INI_NAMES: tuple[str, ...] = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
"""pytest's own ini file names, in the order pytest looks for them."""


def _has_gonogo_settings(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if "gonogo_" not in text:
        return False
    try:
        if path.suffix == ".toml":
            table = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options", {})
            return any(str(key).startswith("gonogo_") for key in table)
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
    except (tomllib.TOMLDecodeError, configparser.Error):
        return False
    sections = ("pytest", "tool:pytest") if path.name != "pytest.ini" else ("pytest",)
    return any(
        key.startswith("gonogo_")
        for section in sections
        if parser.has_section(section)
        for key in parser[section]
    )


def project_ini(start: Path) -> Path | None:
    """The nearest ini file at or above ``start`` holding gonogo settings."""
    for folder in (start, *start.parents):
        for name in INI_NAMES:
            path = folder / name
            if path.is_file() and _has_gonogo_settings(path):
                return path
    return None


PATH_OPTIONS: tuple[str, ...] = ("--target", "--signoffs", "--checklist", "--reports-dir")
"""gonogo's options whose value is a path, which pytest may take for a test path."""


def _space_form_paths(args: Sequence[str]) -> list[tuple[str, str]]:
    """(option, value) of each ``--option VALUE``; ``--option=VALUE`` is read correctly."""
    return [(o, v) for o, v in itertools.pairwise(args) if o in PATH_OPTIONS]


def refuse_misread_paths(config: pytest.Config, args: Sequence[str]) -> None:
    """Stop when a ``--target FILE`` (or another path option) outside the project made pytest miss
    the project's ini file; do nothing when -c or --rootdir decided."""
    known = config.known_args_namespace
    if getattr(known, "inifilename", None) or getattr(known, "rootdir", None):
        return
    here = config.invocation_params.dir
    ini = project_ini(here)
    if ini is None or config.inipath == ini:
        return
    for option, value in _space_form_paths(args):
        path = Path(os.path.abspath(here / os.path.expanduser(value)))
        if path.exists() and not path.is_relative_to(ini.parent):
            raise pytest.UsageError(
                f"{option} {value}: pytest took this path for a test path when it chose "
                f"its rootdir ({config.rootpath}), so {ini} was not read; "
                f"write {option}={value} or add -c {ini}"
            )
