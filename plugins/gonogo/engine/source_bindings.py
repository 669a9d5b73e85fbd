"""The stages a test module's checks belong to, read from its source without
importing it (``ast``: nothing is executed).

A check's stage follows from its binding, ``@pytest.mark.item("<title>",
stage=…, phase=…)`` or ``test_x = check("<title>", ready_check)``. This reads
those where the source states them for sure: titles and ``stage=`` or
``phase=`` given as string literals or as module-level string constants, and
item marks inside ``parametrize`` (``pytest.param(…, marks=pytest.mark.item(
…))``), where a ``stage=`` literal is enough even if the title is computed.
Stage markers written by hand on a test or in ``pytestmark`` count too.

Anything else (a decorator that is not a mark, a test class, a test imported
from elsewhere, ``**kwargs``, a title that names no single item) makes the
answer "unknown" (None), and the module is imported as usual."""

from __future__ import annotations

import ast
from pathlib import Path

from gonogo.model.checklist import Checklist, Stage

StageMarkers = tuple[str, ...]


class _Unknown(Exception):
    """The source does not say for sure."""


def declared_stages(path: Path, checklist: Checklist) -> list[StageMarkers] | None:
    """The stage markers of each test (each item of a parametrized test) of
    the module, or None when any of them cannot be read for sure."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    try:
        return _Module(tree, checklist).stages() or None
    except _Unknown:
        return None


class _Module:
    def __init__(self, tree: ast.Module, checklist: Checklist) -> None:
        self.tree = tree
        self.checklist = checklist
        self.stage_markers = {m for s in checklist.stages for m in s.markers}
        self.constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        self.module_marks: set[str] = set()

    def stages(self) -> list[StageMarkers]:
        for node in self.tree.body:
            if _assigns(node, "pytestmark"):
                value = node.value  # type: ignore[attr-defined]
                marks = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
                for mark in marks:
                    self.module_marks |= self._mark_names(mark, allow_item=False)
        found: list[StageMarkers] = []
        for node in self.tree.body:
            found.extend(self._test_stages(node))
        return found

    def _test_stages(self, node: ast.stmt) -> list[StageMarkers]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if not node.name.startswith("test"):
                return []
            hand: set[str] = set(self.module_marks)
            for decorator in node.decorator_list:
                hand |= self._mark_names(decorator, allow_item=True)
            calls = [c for d in node.decorator_list for c in ast.walk(d) if _called(c) == "item"]
            if not calls:
                raise _Unknown
            return [self._with(self._stage_of(c), hand) for c in calls]
        if isinstance(node, ast.ClassDef):
            if node.name.startswith("Test"):
                raise _Unknown
            return []
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Name) and t.id.startswith("test") for t in targets):
                return []
            if not (isinstance(node.value, ast.Call) and _called(node.value) == "check"):
                raise _Unknown
            return [self._with(self._stage_of(node.value), set(self.module_marks))]
        imports = isinstance(node, ast.ImportFrom | ast.Import)
        if imports and any((a.asname or a.name).startswith("test") for a in node.names):  # type: ignore[attr-defined]
            raise _Unknown
        return []

    def _with(self, stage: Stage, hand: set[str]) -> StageMarkers:
        written = sorted(hand & self.stage_markers)
        return tuple(dict.fromkeys((*stage.markers, *written)))

    def _stage_of(self, call: ast.AST) -> Stage:
        """The stage of one item(...) or check(...) binding."""
        assert isinstance(call, ast.Call)
        where: dict[str, str | None] = {"stage": None, "phase": None}
        for keyword in call.keywords:
            if keyword.arg is None:
                raise _Unknown  # **kwargs could hold stage= or phase=
            if keyword.arg in where:
                where[keyword.arg] = self._text(keyword.value)
        title = self._text(call.args[0]) if call.args else None
        if title is None:
            if where["stage"] is None:
                raise _Unknown
            stages = [s for s in self.checklist.stages if _names(s, where["stage"])]
            if len(stages) != 1:
                raise _Unknown
            return stages[0]
        items = self.checklist.find(title, stage=where["stage"], phase=where["phase"])
        if len(items) != 1:
            raise _Unknown
        return items[0].stage

    def _text(self, node: ast.AST) -> str | None:
        """A string literal or a module-level string constant; None otherwise."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        return None

    def _mark_names(self, node: ast.AST, *, allow_item: bool) -> set[str]:
        """The mark a decorator applies (``pytest.mark.X`` or ``mark.X``,
        called or not); _Unknown for a decorator that is anything else."""
        target = node.func if isinstance(node, ast.Call) else node
        if not (
            isinstance(target, ast.Attribute)
            and (
                (isinstance(target.value, ast.Name) and target.value.id == "mark")
                or (
                    isinstance(target.value, ast.Attribute)
                    and target.value.attr == "mark"
                    and isinstance(target.value.value, ast.Name)
                    and target.value.value.id == "pytest"
                )
            )
        ):
            raise _Unknown
        if target.attr == "item" and not allow_item:
            raise _Unknown
        return {target.attr}


def _names(stage: Stage, name: str) -> bool:
    return " ".join(name.split()).casefold() == " ".join(stage.title.split()).casefold() or (
        name in stage.markers
    )


def _assigns(node: ast.stmt, name: str) -> bool:
    targets = (
        node.targets
        if isinstance(node, ast.Assign)
        else [node.target]
        if isinstance(node, ast.AnnAssign)
        else []
    )
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


def _called(node: ast.AST) -> str | None:
    """The last name of a call's function: "item" for ``pytest.mark.item(...)``."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None
