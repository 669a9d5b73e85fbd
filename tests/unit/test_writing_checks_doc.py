"""docs/writing-checks.md is how a team learns what a check can ask for: it
must name every fixture and marker gonogo provides, or a check author is left
reading the plugin's source (the page once listed 8 of 28 fixtures)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from gonogo.engine.markers import MARKERS
from gonogo.engine.rbac.access import MARKER as KUBE_ACCESS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "gonogo"
PAGE = (ROOT / "docs" / "writing-checks.md").read_text(encoding="utf-8")
SANDBOX_ONLY = ("sandbox", "demo")


def _fixtures() -> list[str]:
    """Every fixture the installed plugin defines (the sandbox and demo are not
    part of what a check may use)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(part in SANDBOX_ONLY for part in path.relative_to(PACKAGE).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                "fixture" in ast.unparse(d) for d in node.decorator_list
            ):
                names.append(node.name)
    return names


def test_the_plugin_defines_fixtures_to_document() -> None:
    assert {"target", "cluster", "kube", "evidence", "record_data"} <= set(_fixtures())


@pytest.mark.parametrize("fixture", _fixtures())
def test_every_fixture_is_documented(fixture: str) -> None:
    assert f"`{fixture}`" in PAGE, f"docs/writing-checks.md does not list the fixture {fixture!r}"


@pytest.mark.parametrize("marker", [*MARKERS, KUBE_ACCESS])
def test_every_marker_is_documented(marker: str) -> None:
    assert f"`{marker}" in PAGE, f"docs/writing-checks.md does not list the marker {marker!r}"
