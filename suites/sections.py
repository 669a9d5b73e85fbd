"""A target's optional sections, for checks that cannot run without one.

A section the target leaves out (``github``, ``redis``, ``monitoring.loki``…)
is None in the model. A check either finds it not applicable (the system does
not exist here: skip) or relies on a fixture that already made sure it is
there; these helpers say which, and hand the section on as present."""

from __future__ import annotations

from typing import TypeVar

import pytest
from gonogo.checks import Target

from suites.predeploy.support import not_applicable

T = TypeVar("T")


def present(section: T | None, target: Target, system: str, environment: str) -> T:
    """``section`` of ``system``; the check is skipped as not applicable when the
    target says the system does not exist for ``environment``."""
    not_applicable(target, system, environment)
    if section is None:
        pytest.skip(f"not applicable: the target has no {system} for {environment}")
    return section


def required(section: T | None, name: str) -> T:
    """``section``, which a fixture of the check has already required; fails
    naming the section should the target lack it after all."""
    if section is None:
        pytest.fail(f"the target has no {name} section; add it to the target file", pytrace=False)
    return section
