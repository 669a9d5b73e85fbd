"""Manual items: a checklist item that needs a human passes only on a recorded
sign-off for this release and environment, looked up before the test's
fixtures run and settled before its body does."""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass

import pytest

from gonogo.engine.evidence import evidence_for
from gonogo.engine.markers import BINDING_KEY
from gonogo.engine.run import SIGNOFFS_KEY, TARGETS_KEY
from gonogo.engine.settings import get_settings
from gonogo.engine.verdict import SIGNOFF_PROPERTY
from gonogo.model.signoffs import SignOff, find_signoff


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Look up a manual item's sign-off before its fixtures run, so the
    ``signoff`` fixture can hand it to the test."""
    if item.get_closest_marker("manual") is not None and BINDING_KEY in item.stash:
        item.stash[SIGNOFF_KEY] = _lookup_signoff(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A manual item's test body runs only once its sign-off is settled."""
    check = item.stash.get(SIGNOFF_KEY, None)
    if check is not None:
        _settle_signoff(item, check)
    return (yield)


@dataclass
class SignoffCheck:
    """The outcome of looking up a manual item's sign-off."""

    title: str
    entry: SignOff | None
    failure: str | None
    """Why the item fails; None when it may pass."""
    note: str


SIGNOFF_KEY = pytest.StashKey[SignoffCheck]()


def _lookup_signoff(item: pytest.Item) -> SignoffCheck:
    config = item.config
    settings = get_settings(config)
    binding = item.stash[BINDING_KEY]
    title = binding.item.title
    targets = config.stash[TARGETS_KEY]
    target = targets.get(binding.target_id)
    if target is None and len(targets) > 1:
        return SignoffCheck(
            title,
            None,
            (
                f"{title!r} needs a human sign-off for one target's release, and this run "
                f"checks {len(targets)}: add target to the check's arguments"
            ),
            "",
        )
    if target is None or settings.environment is None:
        return SignoffCheck(
            title,
            None,
            (
                f"{title!r} needs a human sign-off, checked against a release and an "
                "environment: pass --target FILE and --env NAME"
            ),
            "",
        )
    env = settings.environment
    approval = target.environment(env).approval
    entry, refused = find_signoff(config.stash[SIGNOFFS_KEY], title, target.release, env)
    if entry is not None and approval.required and not approval.self_approval:
        failure = four_eyes_failure(entry, settings.operator)
        if failure is not None:
            return SignoffCheck(title, entry, f"{title!r}: {failure}", "")
    if entry is not None:
        return SignoffCheck(
            title,
            entry,
            None,
            (f"{title}: signed off by {entry.summary()}, valid until {entry.expires.isoformat()}"),
        )
    if not approval.required:
        return SignoffCheck(
            title, None, None, f"{title}: no sign-off recorded; {env} needs none ({approval.role})"
        )
    source = settings.signoffs or "a sign-off file (--signoffs FILE)"
    why = f" (refused: {'; '.join(refused)})" if refused else ""
    return SignoffCheck(
        title,
        None,
        (
            f"no valid sign-off for {title!r} (release {target.release}, {env}){why}; "
            f"{env} requires {approval.role} approval: add an entry to {source} with item, who, "
            "role, when, release, environment and ticket"
        ),
        "",
    )


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def four_eyes_failure(entry: SignOff, operator: str | None) -> str | None:
    """Why ``entry`` cannot approve a release run by ``operator``, or None.

    An unknown operator fails closed: the sign-off might be their own."""
    if operator is None:
        return (
            f"signed off by {entry.who}, but who runs the release cannot be told (no "
            "--operator, $GONOGO_OPERATOR, CI actor or OS user), so four eyes cannot be "
            "checked: pass --operator NAME"
        )
    if _same_person(entry.who, operator):
        return (
            f"the person who runs the release cannot approve it (four eyes): {entry.who} "
            f"signed off (line {entry.line}) and {operator} runs the release; another "
            "approver records it with gonogo signoff --who NAME ..."
        )
    return None


def _settle_signoff(item: pytest.Item, check: SignoffCheck) -> None:
    __tracebackhide__ = True
    if check.failure is not None:
        pytest.fail(check.failure, pytrace=False)
    if check.entry is not None:
        record = {**check.entry.to_dict(), "operator": get_settings(item.config).operator}
        item.user_properties.append((SIGNOFF_PROPERTY, json.dumps(record)))
    evidence_for(item).note("sign-off", check.note)
