#!/usr/bin/env bash
# The seed's own rollback commands over the same Deployments: `kubectl rollout
# undo` for each, then `kubectl rollout status` for each. Nothing else: no
# order by dependency, no configuration restore, no stability window.
# Usage: kubectl_rollback.sh NAMESPACE DEPLOYMENT...
set -u
ns=$1; shift
failed=0
for deployment in "$@"; do
  kubectl rollout undo "deployment/$deployment" -n "$ns" >/dev/null || failed=1
done
for deployment in "$@"; do
  kubectl rollout status "deployment/$deployment" -n "$ns" --timeout=300s >/dev/null || failed=1
done
exit $failed
