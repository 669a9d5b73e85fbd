"""The repository's conftest.py wires gonogo's own tests and leaves the gate alone.

pytest loads that file for every run in the checkout, the gate on suites/
included. These tests run the gate's real command from the repository root,
once as is and once with the root conftest cut off (``--confcutdir suites``
stops pytest looking for conftest files above suites/), and find the same
checks collected; and they hold the file to what it is for: the markers of
the tests registered, every test under tests/e2e/ marked ``e2e``."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.suite_runner import REPO, environment, run_pytest


def _load_root_conftest():  # type: ignore[no-untyped-def]
    """The repository's conftest.py as a module of its own (pytest's copy is
    registered under the name ``conftest``, which a pytester run may shadow)."""
    spec = importlib.util.spec_from_file_location("gonogo_root_conftest", REPO / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


root_conftest = _load_root_conftest()

GATE = ("-m", "predeploy", "--target", "targets/sandbox.yaml", "--env", "production")


def _collect(tmp_path: Path, *extra: str) -> tuple[list[str], str]:
    """The gate's collection (``pytest --co -q`` + GATE) from the repository root:
    (the ids and the closing line, the whole output)."""
    done = run_pytest(
        "--co",
        "-q",
        *GATE,
        *extra,
        cwd=REPO,
        env=environment({"KUBECONFIG": str(tmp_path / "no-kubeconfig"), "COLUMNS": "200"}),
        timeout=120,
    )
    assert done.returncode == 0, done.output[-3000:]
    lines = done.stdout.splitlines()
    ids = [line for line in lines if "::" in line]
    closing = [  # "18/85 tests collected (67 deselected)", without its timing
        re.sub(r" in [\d.]+s$", "", line) for line in lines if " collected" in line
    ]
    return [*ids, *closing], done.output


def test_a_gate_run_collects_the_same_checks_with_and_without_the_root_conftest(
    tmp_path: Path,
) -> None:
    with_root, output = _collect(tmp_path, "--trace-config")
    without_root, _ = _collect(tmp_path, "--confcutdir", "suites")
    assert f"from '{REPO / 'conftest.py'}'" in output, "the root conftest was not loaded"
    assert [i for i in with_root if "::" in i], output[-3000:]
    assert with_root == without_root
    assert not [i for i in with_root if i.startswith("tests/")], with_root


def test_the_root_conftest_defines_no_fixture_and_only_its_two_hooks() -> None:
    """Everything the file defines that pytest could pick up: the plugin list,
    the configure hook (markers) and the collection hook (scoped to tests/)."""
    defined = {
        name
        for name, value in vars(root_conftest).items()
        if getattr(value, "__module__", None) == root_conftest.__name__
    }
    assert defined == {"pytest_configure", "pytest_collection_modifyitems"}
    assert root_conftest.pytest_plugins == ("pytester",)


def test_the_tests_markers_are_registered(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":")[0].split("(")[0] for line in pytestconfig.getini("markers")}
    assert set(root_conftest.MARKERS) == {"e2e", "sandbox", "sandbox_lifecycle"}
    assert set(root_conftest.MARKERS) <= registered


@dataclass
class _Item:
    """What the collection hook reads of an item: its path and its markers."""

    path: Path
    marks: list[str] = field(default_factory=list)

    def add_marker(self, mark: pytest.MarkDecorator) -> None:
        self.marks.append(mark.name)


def test_only_items_under_tests_e2e_are_marked_e2e() -> None:
    e2e = _Item(REPO / "tests" / "e2e" / "test_rbac.py")
    unit = _Item(REPO / "tests" / "unit" / "test_plugin.py")
    check = _Item(REPO / "suites" / "predeploy" / "test_planning.py")
    root_conftest.pytest_collection_modifyitems([e2e, unit, check])  # type: ignore[list-item]
    assert (e2e.marks, unit.marks, check.marks) == (["e2e"], [], [])
