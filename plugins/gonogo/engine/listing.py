"""``--gonogo-checklist``: the checklist in timeline order, each item with
the tests bound to it and each stage with its marker; nothing runs."""

from __future__ import annotations

import pytest

from gonogo.engine.markers import BINDING_KEY
from gonogo.engine.run import checklist_of
from gonogo.engine.settings import get_settings
from gonogo.model.checklist import format_offset


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """With --gonogo-checklist: print the checklist and what tests it has; run nothing."""
    if not get_settings(session.config).list_checklist:
        return None
    _print_checklist(session)
    return True


def _print_checklist(session: pytest.Session) -> None:
    config = session.config
    checklist = checklist_of(config)
    tests: dict[int, list[str]] = {}
    for item in session.items:
        binding = item.stash.get(BINDING_KEY, None)
        if binding is not None:
            tests.setdefault(id(binding.item), []).append(item.nodeid)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    write = tr.write_line if tr is not None else print
    settings = get_settings(config)
    write(f"checklist {checklist.source} (timeline order)")
    total = without = 0
    for stage in checklist.timeline(list(settings.stage_order) or None):
        write("")
        select = " or ".join(f"-m {m}" for m in stage.markers)
        remedial = ", remedial: never blocked" if stage.remedial else ""
        write(f"{stage.title}  [{select}{remedial}]")
        for phase in stage.phases:
            offset = (
                f"  {format_offset(phase.offset_minutes)}"
                if phase.offset_minutes is not None
                else ""
            )
            write(f"  {phase.title}{offset}")
            for entry in phase.all_items():
                total += 1
                bound = tests.get(id(entry), [])
                without += not bound
                indent = "      " if entry.parent else "    "
                mark = "[x]" if bound else "[ ]"
                prefix = "step " if entry.kind == "step" else ""
                write(f"{indent}{mark} {prefix}{entry.title}" + ("" if bound else "  -- no test"))
                for nodeid in bound:
                    write(f"{indent}      {nodeid}")
    checkboxes = sum(1 for i in checklist.all_items() if i.kind == "checkbox")
    steps = total - checkboxes
    write("")
    write(
        f"{checkboxes} checklist items, {steps} emergency steps; "
        f"{total - without} with tests, {without} without"
    )
