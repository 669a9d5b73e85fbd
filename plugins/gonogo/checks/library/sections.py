"""What ready-made checks do with a target's optional parts: a system the
target says is absent here makes the check not applicable (a skip), and a
credential it references but cannot be read fails the check naming the fix."""

from __future__ import annotations

from typing import TypeVar

import pytest

from gonogo.integrations.secrets import SecretResolver, SecretUnavailable
from gonogo.model.target import SecretRef, Target

T = TypeVar("T")


def not_applicable(target: Target, system: str, environment: str) -> None:
    """Skip a check whose system the target says does not exist here
    (``environments.<env>.absent``, or no section for it in the target)."""
    if target.is_absent(system, environment):
        pytest.skip(f"not applicable: the target has no {system} for {environment}")


def present(section: T | None, target: Target, system: str, environment: str) -> T:
    """``section`` of ``system``; the check is skipped as not applicable when the
    target says the system does not exist for ``environment``."""
    not_applicable(target, system, environment)
    if section is None:
        pytest.skip(f"not applicable: the target has no {system} for {environment}")
    return section


def credential(secrets: SecretResolver, ref: SecretRef | None, what: str) -> str | None:
    """The value behind a credential reference; fails naming where it was
    looked for and the fix when the reference is given but cannot be read."""
    if ref is None:
        return None
    try:
        return secrets.resolve(ref)
    except SecretUnavailable as e:
        pytest.fail(f"{what}: credential not available: {e}", pytrace=False)


__all__ = ["credential", "not_applicable", "present"]
