"""``gonogo init``: start a gonogo project from a team's own checklist.

A team with a runbook should not have to learn the plugin before its first
run. This command writes the pytest configuration, a conftest and one test per
checklist item, so the first ``pytest`` is an honest NO-GO listing what is not
automated yet. Running it again after the checklist grew adds tests for the new
items only: what the team wrote is never rewritten."""

from __future__ import annotations

import argparse
import configparser
import os
import shlex
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from gonogo.cli import scaffold
from gonogo.cli.scaffold import READY, SIGNOFF, TODO, ModuleFacts, Planned
from gonogo.errors import ConfigError
from gonogo.model.checklist import Checklist, Item, load_checklist

ADDOPTS = "--strict-markers -p no:locust"
"""What every gonogo project runs with: markers are checked, and Locust's own
pytest plugin stays out of the process (load runs in one of its own)."""

DESCRIPTION = """\
Write a gonogo project for CHECKLIST.md into DIR: the pytest configuration
(pyproject.toml, or pytest.ini when DIR's pyproject.toml has no pytest
section; an existing pytest configuration is never changed), a conftest.py,
and tests/test_<stage>.py with one test per checklist item:

  - bound to a ready-made check when one fits and you accept it (asked on a
    terminal; --accept-ready accepts all, --no-ready none; without a terminal
    and without either flag none is bound and each suggestion is printed);
  - a sign-off check for an item a person does (approvals, on-call, messages
    sent): it passes only on a sign-off recorded with 'gonogo signoff';
  - else a test that fails with 'not automated yet: <title>' and the commands
    the checklist documents under the item.

The checklist is referenced where it is, not copied: it stays the one runbook
people edit. Run again after the checklist changed: tests are added for new
items, and nothing already in DIR is rewritten.

Example:
  gonogo init runbooks/release.md --into release-gate --target targets/prod.yaml
  cd release-gate && pytest
"""


class ReadyLike(Protocol):
    """What init reads of a ready-made check (``gonogo.checks.ReadyCheck``)."""

    name: str
    purpose: str
    needs_target: bool


Suggester = Callable[[Item], ReadyLike | None]
Asker = Callable[[str], bool]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "init",
        help="write a gonogo project (config, conftest, one test per item) for a checklist",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checklist", metavar="CHECKLIST.md", help="the team's Markdown checklist")
    p.add_argument("--into", required=True, metavar="DIR", help="the project directory")
    p.add_argument(
        "--target",
        metavar="FILE",
        help="the target file the project runs against (written into addopts); "
        "ready-made checks that need a target are bound only with it",
    )
    ready = p.add_mutually_exclusive_group()
    ready.add_argument(
        "--accept-ready", action="store_true", help="bind every suggested ready-made check"
    )
    ready.add_argument("--no-ready", action="store_true", help="bind no ready-made check")
    p.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    mode = "accept" if args.accept_ready else "none" if args.no_ready else None
    if mode is None:
        mode = "ask" if sys.stdin.isatty() and sys.stdout.isatty() else "list"
    report = run_init(
        Path(args.checklist),
        Path(args.into),
        target=Path(args.target) if args.target else None,
        mode=mode,
        suggest=None if mode == "none" else ready_suggester(),
        ask=ask_yes_no,
    )
    print(report.text(), end="")
    return 0


def ready_suggester() -> Suggester:
    """The ready-made check gonogo offers for an item, by its declared purpose."""
    from gonogo.checks import suggest_ready_check

    def suggest(item: Item) -> ReadyLike | None:
        return suggest_ready_check(item.title, item.description)

    return suggest


def ask_yes_no(question: str) -> bool:
    """Ask on the terminal until the answer is y or n; end of input is no."""
    *context, prompt = question.split("\n")
    if context:
        print("\n".join(context))
    while True:
        try:
            answer = input(f"{prompt} [y/n] ").strip().casefold()
        except EOFError:
            print()
            return False
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        print("answer y or n")


@dataclass
class Report:
    """What a run of init did, for the summary it prints."""

    into: Path
    checklist_ref: str
    items: int = 0
    written: list[str] = field(default_factory=list)
    """One line per file written or appended to."""
    kept: list[str] = field(default_factory=list)
    """One line per thing left as it was."""
    warnings: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    """Ready-made checks that fit an item but were not bound, with the remedy."""
    added: dict[str, int] = field(default_factory=lambda: {READY: 0, SIGNOFF: 0, TODO: 0})
    already: int = 0
    needs_target: bool = True
    """Whether the project's runs lack a target (sign-off checks need one)."""

    def text(self) -> str:
        lines = [f"gonogo init: {self.checklist_ref} -> {self.into} ({self.items} items)"]
        lines += [f"  {line}" for line in self.written + self.kept]
        for title, entries in (("warning", self.warnings), ("suggested", self.suggestions)):
            lines += [f"{title}: {entry}" for entry in entries]
        lines.append(
            f"{self.items} items: {self.added[READY]} bound to ready-made checks, "
            f"{self.added[SIGNOFF]} sign-off checks, {self.added[TODO]} not automated yet "
            f"(added by this run); {self.already} already had a test"
        )
        lines.append(
            f"next: cd {self.into} && pytest   (NO-GO until every item is automated or signed "
            "off; it stops at the first failed phase, pytest --no-gate shows every item left)"
        )
        if self.needs_target and self.added[SIGNOFF]:
            lines.append(
                "then: sign-off checks are looked up for a target's release: record them with "
                "gonogo signoff and run pytest --target=FILE --env NAME --signoffs=FILE "
                "(docs/init.md)"
            )
        elif self.added[SIGNOFF]:
            lines.append(
                "then: record sign-offs with gonogo signoff and run pytest --env NAME "
                "--signoffs=FILE"
            )
        return "\n".join(lines) + "\n"


def run_init(
    checklist_path: Path,
    into: Path,
    *,
    target: Path | None,
    mode: str,
    suggest: Suggester | None,
    ask: Asker,
) -> Report:
    """Write (or extend) the project; ``mode`` is how suggested ready-made checks
    are treated: "ask", "accept", "none" or "list" (printed, not bound)."""
    if not checklist_path.is_file():
        raise ConfigError(
            "no such checklist file; give the path of your Markdown checklist "
            "(gonogo init CHECKLIST.md --into DIR)",
            file=checklist_path,
        )
    checklist = load_checklist(checklist_path)
    if into.exists() and not into.is_dir():
        raise ConfigError("--into is a file, not a directory; name a directory", file=into)
    if target is not None and not target.is_file():
        raise ConfigError("--target: no such file; give the target file's path", file=target)
    into.mkdir(parents=True, exist_ok=True)
    report = Report(into=into, checklist_ref=_relative(checklist_path, into))
    items = list(checklist.all_items())
    report.items = len(items)

    facts = _read_project(into)
    bound = _bound_items(checklist, facts, into, report)
    report.already = len(bound)
    if bound:
        report.kept.append(f"already there: {len(bound)} items have a test")

    has_target = _every_run_has_a_target(into, target)
    report.needs_target = not has_target
    planned = [
        _plan(checklist, item, has_target, mode, suggest, ask, report)
        for item in items
        if item.index not in bound
    ]
    for p in planned:
        p.with_target = has_target
        report.added[p.kind] += 1
    date = datetime.now(UTC).date().isoformat()
    for stage in checklist.stages:
        ours = [p for p in planned if p.item.stage is stage]
        if ours:
            _write_module(checklist, ours, into, facts, report, date)
    _write_config(into, report.checklist_ref, target, report)
    _write_conftest(into, report)
    return report


def _every_run_has_a_target(into: Path, target: Path | None) -> bool:
    """Whether the project's runs all name a target: init was given one for a
    new configuration, or the configuration already there passes one."""
    existing = _existing_pytest_config(into)
    if existing is None:
        return target is not None
    return any(word == "--target" or word.startswith("--target=") for word in _addopts_of(existing))


def _addopts_of(config: Path) -> list[str]:
    """The ``addopts`` words of a pytest configuration file ([] when it has none)."""
    text = config.read_text(encoding="utf-8", errors="replace")
    value: object = ""
    if config.name == "pyproject.toml":
        try:
            options = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options", {})
        except tomllib.TOMLDecodeError:
            options = {}
        value = options.get("addopts", "")
    else:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error:
            return []
        section = "tool:pytest" if config.name == "setup.cfg" else "pytest"
        value = parser.get(section, "addopts", fallback="")
    if isinstance(value, list):
        return [str(word) for word in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return str(value).split()


def _relative(path: Path, start: Path) -> str:
    """``path`` as the project names it: relative to the project, so the two
    move together in a repository; absolute when they share no folder but the root."""
    path, start = path.resolve(), start.resolve()
    if Path(os.path.commonpath([path, start])) == Path(path.anchor):
        return path.as_posix()
    return Path(os.path.relpath(path, start)).as_posix()


def _read_project(into: Path) -> dict[Path, ModuleFacts]:
    facts = {}
    for path in scaffold.project_modules(into):
        try:
            facts[path] = scaffold.read_module(path.read_text(encoding="utf-8"), str(path))
        except SyntaxError as e:
            raise ConfigError(
                f"is not valid Python ({e.msg}); fix it and run gonogo init again: until "
                "then it cannot tell which items already have a test",
                file=path,
                line=e.lineno,
            ) from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"cannot be read ({e}); fix or remove it and run gonogo init again", file=path
            ) from e
    return facts


def _bound_items(
    checklist: Checklist, facts: dict[Path, ModuleFacts], into: Path, report: Report
) -> set[int]:
    """Indexes of the items some module already binds."""
    bound: set[int] = set()
    for path, module in facts.items():
        where = path.relative_to(into).as_posix()
        for b in module.bindings:
            found = checklist.find(b.title, stage=b.stage, phase=b.phase)
            if len(found) == 1:
                bound.add(found[0].index)
            elif not found:
                report.warnings.append(
                    f"{where}:{b.line}: binds {b.title!r}, which the checklist does not have; "
                    "pytest will refuse it until the title matches an item"
                )
            else:
                report.warnings.append(
                    f"{where}:{b.line}: binds {b.title!r}, which {len(found)} items have; "
                    "name one with stage=... or phase=..."
                )
    return bound


def _plan(
    checklist: Checklist,
    item: Item,
    has_target: bool,
    mode: str,
    suggest: Suggester | None,
    ask: Asker,
    report: Report,
) -> Planned:
    kind = SIGNOFF if scaffold.is_manual(item) else TODO
    ready = suggest(item) if suggest is not None and mode != "none" else None
    if ready is None:
        return Planned(item, kind)
    shown = f"{item.title!r} ({item.stage.title}) -> {ready.name}: {ready.purpose}"
    name = scaffold.test_name(item.title, set())
    binding = scaffold.ready_line(name, item, scaffold.binding_kwargs(checklist, item), ready.name)
    line = binding.replace("\n", "\n  ")
    if ready.needs_target and not has_target:
        report.suggestions.append(
            f"{shown}\n  not bound: it needs a target. To bind it, add --target=FILE to addopts, "
            f"and replace the item's test with (check and {ready.name} from gonogo.checks):\n"
            f"  {line}"
        )
        return Planned(item, kind, ready.name, ready.purpose)
    accepted = mode == "accept" or (mode == "ask" and ask(f"{shown}\nBind it?"))
    if accepted:
        return Planned(item, READY, ready.name, ready.purpose)
    if mode == "list":
        report.suggestions.append(
            f"{shown}\n  not bound (no terminal to ask on; --accept-ready binds every "
            "suggestion). To bind it now, replace the item's test with (check and "
            f"{ready.name} from gonogo.checks):\n  {line}"
        )
        return Planned(item, kind, ready.name, ready.purpose)
    return Planned(item, kind)


def _write_module(
    checklist: Checklist,
    planned: list[Planned],
    into: Path,
    facts: dict[Path, ModuleFacts],
    report: Report,
    date: str,
) -> None:
    first = planned[0].item
    relative = scaffold.module_path(first.stage)
    path = into / relative
    existing = facts.get(path)
    taken = set(existing.names) if existing else set()
    tests = []
    for p in planned:
        kwargs = scaffold.binding_kwargs(checklist, p.item)
        tests.append(scaffold.render_test(p, scaffold.test_name(p.item.title, taken), kwargs))
    needs_pytest, names = scaffold.needed_imports(planned)
    count = f"{len(tests)} test{'s' if len(tests) != 1 else ''}"
    if existing is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ref = _relative(checklist.source, into) if checklist.source else "the checklist"
        text = scaffold.render_module(
            first.stage, ref, tests, scaffold.import_lines(needs_pytest, names)
        )
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
        report.written.append(f"wrote {relative}: {count}")
        return
    imports = scaffold.import_lines(
        needs_pytest and not existing.imports_pytest, names - existing.from_checks
    )
    appendix = scaffold.render_appendix(tests, imports, date)
    if not path.read_bytes().endswith(b"\n"):
        appendix = "\n" + appendix
    with path.open("a", encoding="utf-8") as f:
        f.write(appendix)
    titles = ", ".join(repr(p.item.title) for p in planned)
    report.written.append(f"appended to {relative}: {count} ({titles})")


def _existing_pytest_config(into: Path) -> Path | None:
    """The file pytest would read its configuration from in ``into``, if any."""
    for name in ("pytest.ini", ".pytest.ini"):
        if (into / name).is_file():
            return into / name
    pyproject = into / "pyproject.toml"
    if pyproject.is_file() and _has_pytest_table(pyproject):
        return pyproject
    for name, section in (("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")):
        path = into / name
        if path.is_file() and section in path.read_text(encoding="utf-8", errors="replace"):
            return path
    return None


def _has_pytest_table(pyproject: Path) -> bool:
    text = pyproject.read_text(encoding="utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "[tool.pytest.ini_options]" in text
    return "ini_options" in data.get("tool", {}).get("pytest", {})


def _addopts(into: Path, target: Path | None) -> str:
    if target is None:
        return ADDOPTS
    return f"{ADDOPTS} --target={_quote(_relative(target, into))}"


def _quote(word: str) -> str:
    return shlex.quote(word)


def _write_config(into: Path, checklist_ref: str, target: Path | None, report: Report) -> None:
    addopts = _addopts(into, target)
    existing = _existing_pytest_config(into)
    if existing is not None:
        name = existing.name
        text = existing.read_text(encoding="utf-8", errors="replace")
        if "gonogo_checklist" in text:
            report.kept.append(f"kept {name} as it is")
            if target is not None and report.needs_target:
                report.warnings.append(
                    f"{name} is kept as it is and passes no --target; add "
                    f"--target={_quote(_relative(target, into))} to its addopts"
                )
            return
        report.warnings.append(
            f"{name} already configures pytest and is not changed; add to its pytest section: "
            f"gonogo_checklist = {checklist_ref}, testpaths = tests, addopts = {addopts}"
        )
        return
    if (into / "pyproject.toml").is_file():
        text = (
            "# Written by gonogo init: pytest reads this file before pyproject.toml,\n"
            "# whose own settings gonogo init does not change.\n"
            "[pytest]\n"
            "testpaths = tests\n"
            f"gonogo_checklist = {checklist_ref}\n"
            "# -p no:locust: load runs in a process of its own, never in pytest's.\n"
            f"addopts = {addopts}\n"
        )
        name = "pytest.ini"
    else:
        text = (
            "# Written by gonogo init: the checklist this project checks, and how it runs.\n"
            "[tool.pytest.ini_options]\n"
            'testpaths = ["tests"]\n'
            f"gonogo_checklist = {scaffold.literal(checklist_ref)}\n"
            "# -p no:locust: load runs in a process of its own, never in pytest's.\n"
            f"addopts = {scaffold.literal(addopts)}\n"
        )
        name = "pyproject.toml"
    with (into / name).open("x", encoding="utf-8") as f:
        f.write(text)
    report.written.append(f"wrote {name}: gonogo_checklist = {checklist_ref}, addopts = {addopts}")


CONFTEST = '''\
"""Fixtures this project's checks share.

gonogo's own fixtures (target, env_policy, cluster, evidence, signoff,
checklist_item, ...) come with the plugin: a check just names them as
arguments. Add here what your checks need beyond them, e.g. a client for a
system of yours:

    @pytest.fixture(scope="session")
    def billing_api(target):
        ...

A fixture only one stage uses can live in tests/conftest.py instead.
"""
'''


def _write_conftest(into: Path, report: Report) -> None:
    path = into / "conftest.py"
    if path.exists():
        report.kept.append("kept conftest.py as it is")
        return
    with path.open("x", encoding="utf-8") as f:
        f.write(CONFTEST)
    report.written.append("wrote conftest.py")
