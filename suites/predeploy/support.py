"""Helpers the pre-deployment and staging checks share."""

from __future__ import annotations

import pytest
from gonogo.checks import SecretRef, Target


def not_applicable(target: Target, system: str, environment: str) -> None:
    """Skip a check whose system the target says does not exist here
    (``environments.<env>.absent``, or no section for it in the target)."""
    if target.is_absent(system, environment):
        pytest.skip(f"not applicable: the target has no {system} for {environment}")


def token(ref: SecretRef | None, what: str) -> str | None:
    """The value behind a credential reference; fails naming the variable when
    the reference is given but has no value here."""
    if ref is None:
        return None
    value = ref.resolve_env()
    if not value:
        pytest.fail(f"{what}: credential not available; set {ref.describe()}", pytrace=False)
    return str(value)
