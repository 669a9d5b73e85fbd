#!/usr/bin/env bash
# Regenerate go.mod from the pinned Kubernetes version: k8s.io/kubernetes keeps
# its staging modules under ./staging with local replaces, which a module that
# depends on it cannot follow. Each is replaced here by its published v0.X.Y.
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env
export GOWORK=off GOFLAGS=-mod=mod
upstream=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
staging="v0.${KUBERNETES_VERSION#v1.}"
go_line=$(grep -m1 '^go ' "$upstream")
{
  printf 'module gonogo.dev/sandbox/cluster\n\n%s\n\n' "$go_line"
  printf 'require (\n\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\n' "$KUBERNETES_VERSION" "$ETCD_VERSION"
  printf 'replace (\n'
  sed -n '/^replace (/,/^)/p' "$upstream" | awk -v v="$staging" '/=> \.\/staging/ {printf "\t%s => %s %s\n", $1, $1, v}'
  printf ')\n'
} > go.mod
rm -f go.sum
go mod tidy
echo "go.mod regenerated for Kubernetes $KUBERNETES_VERSION (staging modules at $staging)"
