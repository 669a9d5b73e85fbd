"""The code ``gonogo init`` writes, and what it reads back from a project.

Kept apart from the command so that what a scaffold looks like can be read
(and tested) without files, prompts or the ready-made checks: every function
here takes the checklist model and strings, and returns strings or findings.

Three kinds of test come out of an item:

* bound to a ready-made check: ``test_x = check("Title", cluster_healthy)``;
* a sign-off check for an item a person does (an approval, someone on call, a
  message sent): ``@pytest.mark.manual``, passing only on a recorded sign-off;
* anything else fails with ``not automated yet: <title>`` and the commands the
  checklist documents under the item, so the first run is an honest NO-GO
  listing what is left to write.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gonogo.model.checklist import Checklist, Item, Stage

READY = "ready"
SIGNOFF = "signoff"
TODO = "todo"

# An item is a person's job when its title says so. The words are few on
# purpose: a check wrongly turned into a sign-off would pass on a signature
# where a probe was possible, so a doubtful item stays "not automated yet".
_MANUAL_TITLE = re.compile(
    r"\b(?:approv(?:al|als|e|ed|er|ers)|sign[- ]?offs?|signed[- ]off|"
    r"confirm(?:s|ed|ation)?|on[- ]call|communicat(?:e|ed|ion|ions)|stakeholders?)\b",
    re.I,
)
# "availability" alone is also said of storage or services: only with people.
_AVAILABILITY = re.compile(r"\bavailab", re.I)
_PEOPLE = re.compile(r"\b(?:team|personnel|staff|people|engineers?|owners?|on[- ]call)\b", re.I)
# In a description only an explicit sign-off counts ("Business stakeholder
# sign-off"); "approved" there usually describes what a check can read.
_MANUAL_DESCRIPTION = re.compile(r"\b(?:sign[- ]?off|signed[- ]off|on[- ]call)\b", re.I)


def is_manual(item: Item) -> bool:
    """Whether the item is a person's sign-off rather than something to probe."""
    if _MANUAL_TITLE.search(item.title) or _MANUAL_DESCRIPTION.search(item.description):
        return True
    return bool(
        _AVAILABILITY.search(item.title) and _PEOPLE.search(f"{item.title} {item.description}")
    )


def stage_marker(stage: Stage) -> str:
    """The stage's pytest marker, which names its module."""
    return stage.marker


def module_path(stage: Stage) -> str:
    """Where a stage's tests go, relative to the project."""
    return f"tests/test_{stage_marker(stage)}.py"


def binding_kwargs(checklist: Checklist, item: Item) -> dict[str, str]:
    """What ``item(...)`` needs besides the title to name this one item: nothing
    when the title is unique, else the phase, else the stage and the phase."""
    if len(checklist.find(item.title)) == 1:
        return {}
    phase = item.phase
    assert phase is not None
    if len(checklist.find(item.title, phase=phase.title)) == 1:
        return {"phase": phase.title}
    return {"stage": item.stage.title, "phase": phase.title}


def test_name(title: str, taken: set[str]) -> str:
    """A test function name from an item title, not yet in ``taken`` (which it joins)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.casefold())
    base = "test_" + ("_".join(words)[:60].rstrip("_") or "item")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def literal(text: str) -> str:
    """A Python string literal of ``text``: JSON's escapes are Python's, and
    single quotes where that spares escaping double ones, as formatters write it."""
    quoted = json.dumps(text, ensure_ascii=False)
    if text.count('"') > text.count("'"):
        return "'" + quoted[1:-1].replace('\\"', '"').replace("'", "\\'") + "'"
    return quoted


@dataclass
class Planned:
    """One test to write."""

    item: Item
    kind: str
    """READY, SIGNOFF or TODO."""
    ready: str | None = None
    """The ready-made check bound (READY) or suggested but not bound (TODO, SIGNOFF)."""
    purpose: str = ""
    """The ready-made check's declared purpose, shown beside it."""
    with_target: bool = False
    """Whether every run has a target (init was given one): only then can a
    ready-made check that needs one be bound, since a test that asks for
    ``target`` makes a run without one a usage error. (A sign-off check takes
    no target: in a run of one, gonogo ties it to that target's release.)"""


def _item_call(title: str, kwargs: dict[str, str]) -> str:
    args = [literal(title), *(f"{k}={literal(v)}" for k, v in kwargs.items())]
    return ", ".join(args)


def ready_line(name: str, item: Item, kwargs: dict[str, str], ready: str) -> str:
    """The statement that binds a ready-made check (by its name in gonogo.checks)
    to an item: one line, or the call's arguments on a line of their own when long."""
    arguments = f"{_item_call(item.title, kwargs)}, {ready}"
    line = f"{name} = check({arguments})"
    return line if len(line) <= 88 else f"{name} = check(\n    {arguments}\n)"


def _docstring(text: str) -> str:
    """A function's docstring (indented four spaces), wrapped when long."""
    flat = " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')
    if len(flat) <= 78:
        return f'"""{flat}"""'
    body = textwrap.wrap(flat, 78, break_long_words=False, break_on_hyphens=False)
    return '"""' + "\n    ".join(body) + '\n    """'


def render_test(planned: Planned, name: str, kwargs: dict[str, str]) -> str:
    """The source of one test, ending with a newline."""
    item = planned.item
    what = f"{item.title}: {item.description}" if item.description else item.title
    if planned.kind == READY:
        assert planned.ready is not None
        about = f"Ready-made check {planned.ready}: {planned.purpose}"
        lines = [f"# {line}" for line in textwrap.wrap(about, 86)]
        lines.append(ready_line(name, item, kwargs, planned.ready))
        return "\n".join(lines) + "\n"
    lines = []
    if planned.ready is not None:
        advice = (
            f"The ready-made check {planned.ready} may fit: {planned.purpose} To use it, "
            f"import check and {planned.ready} from gonogo.checks and replace this test with:"
        )
        lines += [f"# {line}" for line in textwrap.wrap(advice, 86)]
        lines += [f"# {line}" for line in ready_line(name, item, kwargs, planned.ready).split("\n")]
    if planned.kind == SIGNOFF:
        pieces = [
            literal(f"no sign-off recorded for {item.title!r}; record one with"),
            literal(f" gonogo signoff --signoffs FILE --item {_shell_quote(item.title)}"),
            literal(" --who NAME --role ROLE --release TAG --environment ENV --ticket ID,"),
            literal(" then run with --signoffs FILE --target FILE --env NAME"),
        ]
        lines += [
            "@pytest.mark.manual",
            f"@pytest.mark.item({_item_call(item.title, kwargs)})",
            f"def {name}(signoff: SignOff | None) -> None:",
            f"    {_docstring(what + ' (a person signs this off)')}",
            "    if signoff is None:",
            "        pytest.fail(",
            *(f"            {piece}" for piece in pieces[:-1]),
            f"            {pieces[-1]},",
            "            pytrace=False,",
            "        )",
        ]
        return "\n".join(lines) + "\n"
    pieces = [literal(f"not automated yet: {item.title}")]
    command_lines = [line for command in item.commands for line in command.splitlines()]
    if command_lines:
        pieces.append(literal("\ncommands documented in the checklist:"))
        pieces += [literal(f"\n    {line}") for line in command_lines]
    lines += [
        f"@pytest.mark.item({_item_call(item.title, kwargs)})",
        f"def {name}() -> None:",
        f"    {_docstring(what + ' (not automated yet)')}",
        "    pytest.fail(",
        *(f"        {piece}" for piece in pieces[:-1]),
        f"        {pieces[-1]},",
        "        pytrace=False,",
        "    )",
    ]
    return "\n".join(lines) + "\n"


def _shell_quote(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", text):
        return text
    return (
        '"'
        + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
        + '"'
    )


def needed_imports(planned: Iterable[Planned]) -> tuple[bool, set[str]]:
    """Whether the tests need ``pytest``, and the names they take from gonogo.checks."""
    needs_pytest, names = False, set[str]()
    for p in planned:
        if p.kind == READY:
            assert p.ready is not None
            names.update(("check", p.ready))
        else:
            needs_pytest = True
            if p.kind == SIGNOFF:
                names.add("SignOff")
    return needs_pytest, names


def import_lines(needs_pytest: bool, names: set[str]) -> list[str]:
    """The imports, as isort orders them (pytest and gonogo are both a
    project's third-party packages), wrapped one name a line when long."""
    lines = ["import pytest"] if needs_pytest else []
    if names:
        line = f"from gonogo.checks import {', '.join(sorted(names))}"
        if len(line) > 88:
            line = (
                "from gonogo.checks import (\n"
                + "".join(f"    {name},\n" for name in sorted(names))
                + ")"
            )
        lines.append(line)
    return lines


def render_module(stage: Stage, checklist_ref: str, tests: list[str], imports: list[str]) -> str:
    """A new stage module: what it is, how re-running init treats it, its tests."""
    title = " ".join(stage.title.split()).replace("\\", "/").replace('"', "'")
    about = f'Checks of the stage "{title}" of {checklist_ref}, one test per item.'
    header = [
        '"""' + "\n".join(textwrap.wrap(about, 85, break_on_hyphens=False)),
        "",
        "Written by gonogo init; edit freely. Running gonogo init again only appends",
        "tests for items that have none yet and leaves everything here as it is.",
        'Replace a "not automated yet" body with the real check (gonogo\'s',
        "docs/writing-checks.md); a sign-off check passes on a sign-off recorded",
        'with "gonogo signoff" and given with --signoffs FILE.',
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *imports,
    ]
    # isort's spacing: two blank lines before a decorated function, one before
    # an assignment or a comment.
    code = [line for line in (tests[0] if tests else "").split("\n") if not line.startswith("#")]
    gap = "\n\n\n" if code and code[0].startswith(("@", "def ")) else "\n\n"
    return "\n".join(header) + gap + "\n\n".join(tests)


def render_appendix(tests: list[str], imports: list[str], date: str) -> str:
    """Tests appended to an existing module, after what is there."""
    lines = [f"# Added by gonogo init on {date}: items new in the checklist."]
    for line in imports:
        first, newline, rest = line.partition("\n")
        lines.append(f"{first}  # noqa: E402{newline}{rest}")
    return "\n\n" + "\n".join(lines) + "\n\n\n" + "\n\n".join(tests)


@dataclass
class FoundBinding:
    """An ``item(...)`` marker or ``check(...)`` call found in a project's module."""

    title: str
    stage: str | None
    phase: str | None
    line: int


@dataclass
class ModuleFacts:
    """What ``gonogo init`` needs to know of a module before appending to it."""

    bindings: list[FoundBinding] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    """Names defined at its top level (tests, helpers, imports)."""
    imports_pytest: bool = False
    from_checks: set[str] = field(default_factory=set)
    """Names imported from gonogo.checks."""


def _str_arg(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_item_marker(func: ast.expr) -> bool:
    """``pytest.mark.item`` or ``mark.item``."""
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "item"
        and (
            (isinstance(func.value, ast.Attribute) and func.value.attr == "mark")
            or (isinstance(func.value, ast.Name) and func.value.id == "mark")
        )
    )


def _is_check_call(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "check") or (
        isinstance(func, ast.Attribute) and func.attr == "check"
    )


def read_module(source: str, file: str) -> ModuleFacts:
    """The bindings and top-level names of a module; SyntaxError propagates."""
    tree = ast.parse(source, filename=file)
    facts = ModuleFacts()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        title = _str_arg(node.args[0])
        if title is None:
            continue
        if _is_item_marker(node.func) or (_is_check_call(node.func) and len(node.args) >= 2):
            kw = {k.arg: _str_arg(k.value) for k in node.keywords if k.arg in ("stage", "phase")}
            facts.bindings.append(
                FoundBinding(title, kw.get("stage"), kw.get("phase"), node.lineno)
            )
    for top in tree.body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            facts.names.add(top.name)
        elif isinstance(top, ast.Assign | ast.AnnAssign):
            targets = top.targets if isinstance(top, ast.Assign) else [top.target]
            facts.names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(top, ast.Import):
            for alias in top.names:
                facts.names.add(alias.asname or alias.name.split(".")[0])
                if alias.name == "pytest" and alias.asname is None:
                    facts.imports_pytest = True
        elif isinstance(top, ast.ImportFrom):
            for alias in top.names:
                facts.names.add(alias.asname or alias.name)
                if top.module == "gonogo.checks" and alias.asname is None:
                    facts.from_checks.add(alias.name)
    return facts


_SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"}


def project_modules(root: Path) -> list[Path]:
    """The project's Python files where bindings may live, hidden folders and
    virtual environments left out."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts):
            continue
        found.append(path)
    return found
