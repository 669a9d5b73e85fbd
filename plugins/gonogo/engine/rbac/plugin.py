"""The pytest side of least privilege: the ``kube_access`` marker, the rule
that a check reaching Kubernetes declares it, and the preflight.

* Collection: a selected check whose fixtures reach the Kubernetes API and
  that declares no ``kube_access``, or declares one that does not parse, ends
  the run with exit 4 and one line per check naming the fix, so a declaration
  cannot silently be missing and ``gonogo rbac`` never prints too little.
* ``gonogo rbac`` collects with ``--collect-only`` and reads the access plan
  this plugin writes to the file named by ``GONOGO_RBAC_PLAN``.
* Preflight (``pytest_runtestloop``, first): the run's account is asked, for
  each permission of the plan, whether it has it; a missing one refuses the
  run with exit 4 before any check, and so any change, runs. Exit 4 and not
  a failed first gate: nothing about the release was judged, so there is no
  NO-GO to record, only a configuration to fix (the account's Roles), and the
  line says how. Under xdist a worker cannot end the run that way; there
  every check fails with the same line before its fixtures run (exit 1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gonogo.engine.rbac.access import MARKER_HELP
from gonogo.engine.rbac.plan import AccessPlan, build, undeclared
from gonogo.errors import ConfigError

PLAN_ENV = "GONOGO_RBAC_PLAN"
"""Where ``gonogo rbac``'s collection writes the access plan (JSON)."""

PLANS_KEY = pytest.StashKey[dict[str, AccessPlan]]()
REFUSAL_KEY = pytest.StashKey[str]()
"""On an xdist worker: why the run's account was refused."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


def _targets(config: pytest.Config) -> dict[str, Any]:
    from gonogo.engine.run import TARGETS_KEY

    empty: dict[str, Any] = {}
    return config.stash.get(TARGETS_KEY, empty)


def plans_for(config: pytest.Config, items: list[pytest.Item]) -> dict[str, AccessPlan]:
    """Each target's access plan for ``items`` under this run's --env and --rollback."""
    from gonogo.engine.markers import BINDING_KEY
    from gonogo.engine.settings import get_settings

    settings = get_settings(config)
    if settings.environment is None:
        return {}
    plans = {}
    for target_id, target in _targets(config).items():
        mine = [
            i
            for i in items
            if BINDING_KEY not in i.stash or i.stash[BINDING_KEY].target_id in ("", target_id)
        ]
        try:
            namespace = target.namespace_for(settings.environment)
            plans[target_id] = build(mine, target, namespace, settings.rollback)
        except ConfigError as e:
            raise pytest.UsageError(str(e)) from None
    return plans


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    problems = undeclared(session.items)
    if problems:
        raise pytest.UsageError("\n".join(problems))
    plans = plans_for(config, session.items)
    config.stash[PLANS_KEY] = plans
    out = os.environ.get(PLAN_ENV)
    if out and config.option.collectonly:
        Path(out).write_text(
            json.dumps({tid: p.to_json() for tid, p in plans.items()}), encoding="utf-8"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Refuse the run, before its first check, when its account lacks a permission."""
    config = session.config
    if config.option.collectonly or not session.items:
        return
    from gonogo.engine.settings import get_settings

    settings = get_settings(config)
    if settings.list_checklist or settings.environment is None:
        return
    from gonogo.engine.rbac import preflight

    targets = _targets(config)
    for target_id, plan in config.stash.get(PLANS_KEY, {}).items():
        denied = preflight.check(targets[target_id], settings.kube_context, plan)
        if denied is None:
            continue
        command = preflight.grant_command(
            [str(p) for p in settings.targets],
            settings.environment,
            _selection(config, session.items),
            preflight.service_account_of(denied.user, plan.namespace),
            settings.rollback,
        )
        line = denied.line(command)
        if hasattr(config, "workerinput"):
            # An xdist worker cannot end the run with a usage error (the
            # controller would report a crash and lose the line): each of its
            # checks fails before its fixtures, so nothing changes either.
            config.stash[REFUSAL_KEY] = line
            return
        raise pytest.UsageError(line)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under xdist, a refused run's checks fail before any fixture is set up."""
    refusal = item.config.stash.get(REFUSAL_KEY, None)
    if refusal is not None:
        pytest.fail(refusal, pytrace=False)


def _selection(config: pytest.Config, items: list[pytest.Item]) -> str:
    """The -m expression of this run, else the stages its checks belong to."""
    expression = str(config.option.markexpr or "")
    if expression:
        return expression
    from gonogo.engine.rbac.plan import stage_of

    stages = sorted({s for s in (stage_of(i) for i in items) if s})
    return " or ".join(stages)
