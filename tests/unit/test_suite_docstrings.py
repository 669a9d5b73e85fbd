"""Every check says what it proves. The report, the checklist page and a
reviewer reading a failure start from the check's docstring; a check without
one leaves them reading its body to learn what passed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"


def _checks(root: Path) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(``path::name``, node) of every ``test_*`` function in the files under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                found.append((f"{path.relative_to(root.parent)}::{node.name}", node))
    return found


def _bound(root: Path) -> list[str]:
    """``path::name`` of every ``test_* = check(...)``: a ready-made check of
    gonogo.checks bound to an item, documented by the library's docstring."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "check"
            ):
                found += [
                    f"{path.relative_to(root.parent)}::{t.id}"
                    for t in node.targets
                    if isinstance(t, ast.Name) and t.id.startswith("test_")
                ]
    return found


def _undocumented(root: Path) -> list[str]:
    return [where for where, node in _checks(root) if not (ast.get_docstring(node) or "").strip()]


def test_the_suites_hold_checks() -> None:
    assert len(_checks(SUITES)) + len(_bound(SUITES)) >= 60


def test_every_check_has_a_docstring() -> None:
    missing = _undocumented(SUITES)
    assert not missing, (
        f"{len(missing)} checks without a docstring: {', '.join(missing)}; "
        "say in one or two sentences what each proves (not how)"
    )


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ('def test_a():\n    """Proves a."""\n', []),
        ("def test_a():\n    assert True\n", ["suites/test_x.py::test_a"]),
        ('async def test_a():\n    """ """\n', ["suites/test_x.py::test_a"]),
        ("def helper():\n    pass\n", []),
    ],
)
def test_the_collector_finds_a_check_without_one(
    tmp_path: Path, body: str, missing: list[str]
) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "test_x.py").write_text(body, encoding="utf-8")
    assert _undocumented(suites) == missing
