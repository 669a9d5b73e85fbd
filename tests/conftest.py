"""Shared fixtures of gonogo's own tests."""

from __future__ import annotations

import textwrap

import pytest

MINI_CHECKLIST = """\
# Shop release checklist

## Pre-Deployment Checklist
### Planning
- [ ] **Change approval** - Obtain approval
- [ ] **Backup verification** - Backups tested
### Readiness
- [ ] **Cluster healthy**
- [ ] **Performance testing** - Load results meet criteria

## Production Deployment Checklist
### Phase 1: Validate (T-30 minutes)
- [ ] **System health check**
### Phase 2: Deploy (T-10 minutes)
- [ ] **Deploy services**
  ```bash
  kubectl apply -f manifests/
  ```

## Staging Deployment Checklist
### Staging Testing
- [ ] **Performance testing** - Load within limits

## Rollback Checklist
### Immediate Rollback
- [ ] **Rollback to previous version**

## Post-Deployment Validation
### Immediate Validation (T+10 minutes)
- [ ] **Service health checks**

## Emergency Procedures
### Critical System Failure
1. **Immediate Response**
   ```bash
   kubectl rollout pause deployment/x
   ```
"""

MINI_TARGET = """\
name: shop
release: v2.0.0
previous_release: v1.0.0
namespaces: {production: shop, staging: shop-staging, development: shop-dev}
services:
  - {name: db, tier: data}
  - {name: api, depends_on: [db]}
  - {name: web, depends_on: [api]}
environments:
  production:
    approval: {required: true, role: change-management}
    rollback: {automatic: true, error_rate_max: 0.05, mean_response_max_s: 2.0,
               on_functional_failure: true}
  staging:
    approval: {required: true, role: technical-lead}
    rollback: {automatic: true, on_functional_failure: true}
  development:
    approval: {required: false, role: self-service}
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory with a small checklist, a target and an ini file.

    The target names no cluster, so its runs would use whatever kubeconfig the
    environment points at (the sandbox's, once the end-to-end tests set it):
    point it at none, so a unit test never plans a rollback from a real cluster."""
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setenv("KUBECONFIG", str(pytester.path / "no-kubeconfig"))
    pytester.makefile(".md", checklist=MINI_CHECKLIST)
    pytester.makefile(".yaml", target=MINI_TARGET)
    pytester.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = checklist.md
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    return pytester
