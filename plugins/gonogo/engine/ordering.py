"""Put tests in the order a release lives through its checklist.

Order, from most to least significant: the target (each target's timeline is
kept together, in the order the targets were given), the stage's place on the
timeline, the phase within the stage, the item within the phase (document
order), the service's place in the target's dependency order, then the
original collection order.

Tests bound to no checklist item keep their relative order and run before the
timeline, so plain helper tests are not held behind gates.

Under pytest-xdist every worker collects and sorts the same items the same
way, and the plugin puts each target's tests in one ``xdist_group`` (with
``--dist loadgroup``), so one worker runs a whole timeline in this order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from gonogo.engine.markers import BINDING_KEY
from gonogo.model.checklist import Checklist


def timeline_order(
    items: list[pytest.Item],
    checklist: Checklist | None,
    *,
    stage_order: Sequence[str] = (),
    target_order: Sequence[str] = (),
    dependency_rank: Mapping[str, Mapping[str, int]] | None = None,
) -> list[pytest.Item]:
    """``items`` sorted along the checklist's timeline; a stable sort.

    ``dependency_rank`` maps target id -> service name -> position in that
    target's dependency order."""
    if checklist is None or not any(BINDING_KEY in i.stash for i in items):
        return list(items)
    stage_rank = {
        id(stage): n for n, stage in enumerate(checklist.timeline(list(stage_order) or None))
    }
    target_rank = {t: n for n, t in enumerate(target_order)}
    deps = dependency_rank or {}

    def key(pair: tuple[int, pytest.Item]) -> tuple[int, ...]:
        position, item = pair
        binding = item.stash.get(BINDING_KEY, None)
        if binding is None:
            return (0, position)
        ci = binding.item
        phase = ci.phase
        assert phase is not None
        service_rank = deps.get(binding.target_id, {}).get(binding.service or "", -1)
        return (
            1,
            target_rank.get(binding.target_id, len(target_rank)),
            stage_rank[id(ci.stage)],
            phase.index,
            ci.index,
            service_rank,
            position,
        )

    return [item for _, item in sorted(enumerate(items), key=key)]
