"""A gate pays only for the stages it selects: with ``-m``, a test module
whose every check is bound to a stage the expression cannot select is never
imported, nor is a folder holding only such modules (nor its conftest).

pytest learns a test's markers only by importing its module, and importing a
suite module imports its client libraries; for ``-m predeploy`` that is the
deploy, post-deploy, rollback and emergency suites for nothing. So the
module's source is read instead (``ast``, nothing executed): its bindings are
the literal titles of ``@pytest.mark.item("…")`` decorators and of
``test_x = check("…", ready_check)`` assignments, resolved against the
checklist to their stages.

Pruning is only ever conservative. A module is kept (imported as usual)
when anything about it cannot be read for sure: a test that is not a plain
function or a ``check(...)`` assignment, a title that is not a literal or
that names no single item, a ``pytestmark``, a test class, a test imported
from elsewhere, an expression that uses marker arguments. Markers other than
stage markers may sit on a check in ways the source does not show (a ready
check's own marks), so the expression is tried with each of them both
present and absent: a module is pruned only if no combination selects it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gonogo.engine.run import CHECKLIST_KEY
from gonogo.engine.settings import get_settings
from gonogo.engine.source_bindings import declared_stages
from gonogo.model.checklist import Checklist

_UNKNOWN_LIMIT = 6
"""More non-stage markers than this in one expression: keep everything."""

_PRUNED_KEY = pytest.StashKey[dict[Path, bool]]()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """True for a test module (or a folder of them) that ``-m`` cannot select."""
    selection = _selection(config)
    if selection is None:
        return None
    verdicts = config.stash.setdefault(_PRUNED_KEY, {})
    if collection_path not in verdicts:
        verdicts[collection_path] = _prunable(collection_path, config, selection)
    return True if verdicts[collection_path] else None


class _Selection:
    """The ``-m`` expression, and the stage markers of the checklist."""

    def __init__(self, expression: object, checklist: Checklist) -> None:
        self.expression = expression
        self.checklist = checklist
        self.stage_markers = {m for s in checklist.stages for m in s.markers}
        idents = expression.idents()  # type: ignore[attr-defined]
        self.unknown = sorted(set(idents) - self.stage_markers)

    def may_select(self, stage_markers: tuple[str, ...]) -> bool:
        """Whether some test of a stage with these markers can match."""
        for values in itertools.product((False, True), repeat=len(self.unknown)):
            assumed = dict(zip(self.unknown, values, strict=True))
            if self.expression.evaluate(_Matcher(assumed, stage_markers)):  # type: ignore[attr-defined]
                return True
        return False


class _Matcher:
    """A test of one stage, with the other markers assumed present or not."""

    def __init__(self, assumed: dict[str, bool], stage_markers: tuple[str, ...]) -> None:
        self.assumed, self.stage_markers = assumed, stage_markers

    def __call__(self, name: str, /, **kwargs: object) -> bool:
        if name in self.assumed:
            return self.assumed[name]
        return name in self.stage_markers


_SELECTION_KEY = pytest.StashKey[_Selection | None]()


def _selection(config: pytest.Config) -> _Selection | None:
    if _SELECTION_KEY in config.stash:
        return config.stash[_SELECTION_KEY]
    config.stash[_SELECTION_KEY] = selection = _build_selection(config)
    return selection


def _build_selection(config: pytest.Config) -> _Selection | None:
    markexpr = config.getoption("markexpr", default="") or ""
    checklist = config.stash.get(CHECKLIST_KEY, None)
    if not markexpr or "(" in markexpr or checklist is None:
        return None
    if get_settings(config).list_checklist:
        return None  # the listing shows every test behind every item
    try:
        from _pytest.mark.expression import Expression

        expression = Expression.compile(markexpr)
    except (ImportError, SyntaxError):
        return None  # pytest reports a malformed expression itself
    selection = _Selection(expression, checklist)
    return None if len(selection.unknown) > _UNKNOWN_LIMIT else selection


def _prunable(path: Path, config: pytest.Config, selection: _Selection) -> bool:
    if path.is_dir():
        return _prunable_dir(path, config, selection)
    if not _is_test_module(path, config):
        return False
    stages = declared_stages(path, selection.checklist)
    return stages is not None and not any(selection.may_select(s) for s in stages)


def _prunable_dir(path: Path, config: pytest.Config, selection: _Selection) -> bool:
    """A folder goes only when it holds test modules and every one of them goes."""
    verdicts = config.stash.setdefault(_PRUNED_KEY, {})
    seen = False
    for module in _test_modules(path, config):
        seen = True
        if module not in verdicts:
            verdicts[module] = _prunable(module, config, selection)
        if not verdicts[module]:
            return False
    return seen


def _test_modules(path: Path, config: pytest.Config) -> Iterator[Path]:
    """Test modules under ``path``, hidden folders and caches left out."""
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        child = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _test_modules(child, config)
        elif _is_test_module(child, config):
            yield child


def _is_test_module(path: Path, config: pytest.Config) -> bool:
    if path.suffix != ".py" or path.name == "conftest.py":
        return False
    patterns = config.getini("python_files")
    return any(path.match(pattern) for pattern in patterns)
