"""gonogo's markers and the binding of a test to its checklist item.

``item("<title>")`` is the only marker a check needs: from the bound item the
plugin derives the stage marker (``predeploy``, ``deploy``…), the phase and the
test's place on the timeline, so nobody repeats them by hand."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import pytest

from gonogo.model.checklist import STAGE_KEYS, Checklist, Item

PROVIDED = "Provided by gonogo."

STAGE_HELP: dict[str, str] = {
    "predeploy": "a Pre-Deployment Checklist check",
    "deploy": "a Production Deployment phase (T-30 ... T+5) check",
    "staging": "a Staging Deployment Checklist check",
    "rollback": "a Rollback Checklist step",
    "postdeploy": "a Post-Deployment Validation check (T+10 ... T+60)",
    "emergency": "an Emergency Procedures step (runs only when selected with -m emergency)",
}

MARKERS: dict[str, str] = {
    "item": (
        "item(title, *, stage=None, phase=None): bind this test to the checklist item with "
        "that title; sets its stage marker, phase and order. Name the stage or phase when the "
        'title appears more than once. Example: @pytest.mark.item("Performance testing", '
        f'phase="Staging Testing Checklist"). {PROVIDED}'
    ),
    "env": (
        "env(*names): environments this check applies to (production, staging, development); "
        "with --env, tests for other environments are deselected. Example: "
        f'@pytest.mark.env("production", "staging"). {PROVIDED}'
    ),
    "mutating": (
        "mutating: the check changes the cluster; without --execute it runs as a server-side "
        f"dry run and reports what it would change. Example: @pytest.mark.mutating. {PROVIDED}"
    ),
    "manual": (
        "manual: the item needs a human; it passes with a valid recorded sign-off "
        "(--signoffs FILE) for this release and environment. Example: @pytest.mark.manual. "
        f"{PROVIDED}"
    ),
    **{
        key: f"{key}: {text}; set from the item(...) binding, select with -m {key}. {PROVIDED}"
        for key, text in STAGE_HELP.items()
    },
}


def register_markers(config: pytest.Config) -> None:
    for text in MARKERS.values():
        config.addinivalue_line("markers", text)


RESERVED_MARKERS: frozenset[str] = frozenset(
    {"item", "env", "mutating", "manual", "kube_access", "xdist_group"}
    | {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"}
    | {"tryfirst", "trylast", "allure_label", "allure_link", "allure_display_name"}
)
"""Markers with a meaning of their own: a stage named so would change every
test bound to it (a "## Manual" stage would make its checks need sign-offs)."""


def register_stage_markers(config: pytest.Config, checklist: Checklist) -> None:
    """Register each stage's own marker, so ``-m pre_flight`` selects it under
    ``--strict-markers``; a stage whose marker already means something else is
    a usage error naming the fix."""
    known = set(STAGE_KEYS)
    for stage in checklist.stages:
        if stage.marker in RESERVED_MARKERS:
            raise pytest.UsageError(
                f"{checklist.source}:{stage.line}: stage {stage.title!r} would be selected "
                f"with -m {stage.marker}, a marker that means something else; map it to "
                f"another marker with the ini option gonogo_stage_markers "
                f"('{stage.title} = <marker>')"
            )
        if stage.marker in known:
            continue
        known.add(stage.marker)
        config.addinivalue_line(
            "markers",
            f"{stage.marker}: the checklist stage {stage.title!r}; set from the item(...) "
            f"binding, select with -m {stage.marker}. {PROVIDED}",
        )


class BindingError(Exception):
    """An item(...) marker that names no checklist item, or more than one."""


@dataclass(frozen=True)
class Binding:
    """A test's place in the checklist."""

    item: Item
    target_id: str
    """The target whose timeline the test belongs to ("" when it uses no target)."""
    service: str | None
    """The service a parametrized check is about, when it has one."""

    @property
    def stage_key(self) -> str:
        """The stage's name in records and reports: its stage word, else its marker."""
        return self.item.stage.name

    @property
    def stage_markers(self) -> tuple[str, ...]:
        return self.item.stage.markers

    @property
    def remedial(self) -> bool:
        return self.item.stage.remedial

    def to_property(self) -> str:
        """What travels with each report, so the controller knows the binding under xdist."""
        phase = self.item.phase
        assert phase is not None
        return json.dumps(
            {
                "title": self.item.title,
                "parent": self.item.parent.title if self.item.parent else None,
                "index": self.item.index,
                "stage": self.item.stage.title,
                "stage_key": self.stage_key,
                "phase": phase.title,
                "phase_short": phase.short_name,
                "offset": phase.offset_minutes,
                "target": self.target_id,
                "service": self.service,
            }
        )


BINDING_KEY = pytest.StashKey[Binding]()
BINDING_PROPERTY = "gonogo.item"


def resolve(checklist: Checklist, mark: pytest.Mark) -> Item:
    """The checklist item an ``item(...)`` marker names; BindingError otherwise,
    listing the candidates."""
    if len(mark.args) != 1 or not isinstance(mark.args[0], str):
        raise BindingError(
            'item(...) takes one title, e.g. @pytest.mark.item("Backup verification")'
        )
    unknown = set(mark.kwargs) - {"stage", "phase"}
    if unknown:
        raise BindingError(f"item(...) accepts stage= and phase=, not {', '.join(sorted(unknown))}")
    title = mark.args[0]
    stage, phase = mark.kwargs.get("stage"), mark.kwargs.get("phase")
    found = checklist.find(title, stage=stage, phase=phase)
    if len(found) == 1:
        return found[0]
    where = f" in {stage or phase!r}" if (stage or phase) else ""
    if not found:
        titles = [i.title for i in checklist.all_items()]
        close = difflib.get_close_matches(title, titles, n=5, cutoff=0.5)
        hint = f"; did you mean: {', '.join(repr(c) for c in close)}" if close else ""
        raise BindingError(f"no checklist item titled {title!r}{where}{hint}")
    candidates = "; ".join(f"{i.path} (line {i.line})" for i in found)
    raise BindingError(
        f"checklist item {title!r}{where} is ambiguous: {candidates}. "
        "Name one with stage=... or phase=..."
    )


def service_of(item: pytest.Item) -> str | None:
    """The service a parametrized check is about: its ``service`` parameter
    (a name or an object with a ``name``)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or "service" not in callspec.params:
        return None
    value: Any = callspec.params["service"]
    return value if isinstance(value, str) else getattr(value, "name", str(value))


def target_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return ""
    value = callspec.params.get("target", "")
    return value if isinstance(value, str) else getattr(value, "name", str(value))


def environments_of(item: pytest.Item) -> set[str] | None:
    """Environments named by the test's env(...) markers, or None for all."""
    names: set[str] = set()
    marked = False
    for mark in item.iter_markers("env"):
        marked = True
        names.update(str(a) for a in mark.args)
    return names if marked else None


__all__ = [
    "BINDING_KEY",
    "BINDING_PROPERTY",
    "MARKERS",
    "STAGE_KEYS",
    "Binding",
    "BindingError",
    "environments_of",
    "register_markers",
    "register_stage_markers",
    "resolve",
    "service_of",
    "target_of",
]
