#!/usr/bin/env bash
# The seed checklist's own way of checking a release, as a script: the
# commands its Phase 1 and T+10 items document, run over every service.
# Usage: shell_baseline.sh NAMESPACE BASE_URL SERVICE...
# Exits non-zero when any check fails, like a careful operator would stop.
set -u
ns=$1; base=$2; shift 2
failed=0
kubectl get pods -n "$ns" --sort-by='.status.phase' >/dev/null || failed=1
kubectl top pods -n "$ns" >/dev/null || failed=1
kubectl top nodes >/dev/null || failed=1
for service in "$@"; do
  curl -fsS --max-time 5 "$base/$service/health" >/dev/null || { echo "$service health check failed"; failed=1; }
done
for service in "$@"; do
  kubectl rollout status "deployment/$service" -n "$ns" --timeout=300s >/dev/null || failed=1
done
exit $failed
