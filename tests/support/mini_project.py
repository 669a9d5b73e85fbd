"""A small project for the plugin's own tests: a checklist with every stage,
a target of three services, and a deploy suite whose web service fails on its
error rate. Tests build it in a ``pytester`` directory (the ``project``
fixture of tests/unit/conftest.py) and run gonogo on it."""

from __future__ import annotations

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

DEPLOY_SUITE = """\
import pytest

@pytest.mark.item("Deploy services")
@pytest.mark.parametrize("service", ["db", "api", "web"])
def test_deploy(target, service, evidence):
    if service == "web":
        evidence.measure("error_rate", 0.2, limit=0.05, service="web")
        assert False, "web: 20% errors"

@pytest.mark.item("Service health checks")
def test_post(target):
    pass
"""
"""A deploy suite for the small project: ``Deploy services`` fails for web at
20 % errors, so a run triggers production's rollback."""
