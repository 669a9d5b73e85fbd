"""How pytest-xdist hands tests to workers in a gonogo run.

A target's timeline must run on one worker, in order, or its gates mean
nothing; different targets (clusters, regions) may run in parallel. The
controller sees only node ids, so the scheduler recognises a test's target by
its parameter id (``test_deploy[shop-eu-db]`` belongs to target ``shop-eu``,
the longest target id that opens the bracket), and gives every test of one
target to one worker as one unit. Tests that check no target are grouped by
module, as xdist's ``loadscope`` does.

This is gonogo's own scheduler rather than xdist's ``loadgroup`` because the
latter relies on rewriting node ids on the workers, which current pytest no
longer lets a plugin do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from gonogo.engine.run import targets_of


def target_scope(nodeid: str, target_ids: Iterable[str]) -> str | None:
    """The target a node id belongs to, or None."""
    if "[" not in nodeid:
        return None
    params = nodeid[nodeid.index("[") + 1 :].rstrip("]")
    best = None
    for tid in target_ids:
        if (params == tid or params.startswith(tid + "-")) and (
            best is None or len(tid) > len(best)
        ):
            best = tid
    return best


class TimelineScheduling(LoadScopeScheduling):
    """loadscope, with one scope per target."""

    def __init__(self, config: pytest.Config, log: Any = None, *, target_ids: Iterable[str] = ()):
        super().__init__(config, log)
        self.target_ids = tuple(target_ids)

    def _split_scope(self, nodeid: str) -> str:
        tid = target_scope(nodeid, self.target_ids)
        if tid is None and len(self.target_ids) == 1:
            # With one target, a check that takes none is still on its
            # timeline (gonogo.engine.selection): same worker, same gates.
            tid = self.target_ids[0]
        return f"gonogo-target:{tid}" if tid is not None else super()._split_scope(nodeid)


SCHEDULED_DIST: tuple[str, ...] = ("load", "loadgroup", "loadscope")
"""--dist modes under which gonogo's own scheduler keeps each target on one worker."""


def refuse_foreign_scheduling(config: pytest.Config) -> None:
    dist = getattr(config.option, "dist", "no")
    if dist == "each":
        raise pytest.UsageError(
            "--dist each would run every target's timeline on every worker, against the "
            "same cluster (each rollout once per worker); use -n N alone "
            "(gonogo keeps each target on one worker)"
        )
    if dist not in ("no", *SCHEDULED_DIST):
        raise pytest.UsageError(
            f"--dist {dist} would split a target's timeline across workers; "
            "use -n N alone (gonogo keeps each target on one worker)"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """One worker per target timeline (see gonogo.engine.scheduling)."""
    if config.option.dist not in SCHEDULED_DIST:
        return None
    targets = targets_of(config)
    return TimelineScheduling(config, log, target_ids=list(targets))
