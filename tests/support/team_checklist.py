"""A small team runbook with its own stage names (no gonogo stage word):
shared by the tests of stage naming and of pruning."""

TEAM_CHECKLIST = """\
# Release runbook

## Pre-Flight
### Readiness
- [ ] **Cluster is fine** - nodes ready
- [ ] **Backups taken**
  ```bash
  ./backup.sh --verify
  ```

## Cut-over (T+0)
- [ ] **Switch traffic**
- [ ] **Smoke test**

## Back out
- [ ] **Undo the switch**
"""
