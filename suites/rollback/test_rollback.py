"""The rollback checklist, run for real with ``--execute`` (a server-side dry
run without it): pause, undo to the revision that ran the previous release,
verify, restore configuration from the pre-deployment backup, prove stable.
Every item is harmless when run again: there is then nothing left to undo.
The checks are gonogo's ready-made rollback checks, bound to the Sophia
checklist's titles."""

from __future__ import annotations

from gonogo.checks import (
    check,
    configuration_restored,
    rollback_verified,
    rolled_back_in_reverse_order,
    rolled_back_to_previous,
    rollouts_paused,
    system_stable,
)

test_stop_current_deployment = check("Stop current deployment", rollouts_paused)
test_rollback_to_previous_version = check("Rollback to previous version", rolled_back_to_previous)
test_verify_rollback_success = check("Verify rollback success", rollback_verified)
test_rollback_all_in_reverse_order = check(
    "Rollback all services in reverse dependency order", rolled_back_in_reverse_order
)
test_restore_previous_configuration = check(
    "Restore previous configuration", configuration_restored
)
test_verify_system_stability = check("Verify system stability", system_stable)
