"""Helpers the pre-deployment and staging checks share."""

from __future__ import annotations

import pytest
from gonogo.checks import SecretRef, SecretResolver, SecretUnavailable, Target


def not_applicable(target: Target, system: str, environment: str) -> None:
    """Skip a check whose system the target says does not exist here
    (``environments.<env>.absent``, or no section for it in the target)."""
    if target.is_absent(system, environment):
        pytest.skip(f"not applicable: the target has no {system} for {environment}")


def token(secrets: SecretResolver, ref: SecretRef | None, what: str) -> str | None:
    """The value behind a credential reference; fails naming where it was
    looked for and the fix when the reference is given but cannot be read."""
    if ref is None:
        return None
    try:
        return secrets.resolve(ref)
    except SecretUnavailable as e:
        pytest.fail(f"{what}: credential not available: {e}", pytrace=False)
