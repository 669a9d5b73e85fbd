#!/usr/bin/env bash
# Build the sandbox's control plane from the Go module proxy: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, kwokctl and
# metrics-server. The binaries land in ~/.cache/gonogo/<versions>/bin and are
# reused when every one of them is already there. Prints that directory last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.env"
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_metrics-server-${METRICS_SERVER_VERSION}"
cache="${GONOGO_CACHE:-$HOME/.cache/gonogo}/$key"
bin="$cache/bin"
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl metrics-server)

have_all() { for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done; }
if have_all; then
  echo "sandbox binaries already built: $bin" >&2
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build failed: 'go' is not on PATH; install Go 1.24 or newer" >&2; exit 1; }
mkdir -p "$bin"
export GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=mod -trimpath -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
start=$SECONDS
n=0; total=${#binaries[@]}
step() {  # step NAME COMMAND... : run one build step with progress and a named failure
  local name=$1; shift
  n=$((n + 1))
  if [ -x "$bin/$name" ]; then echo "[$n/$total] $name: cached" >&2; return 0; fi
  local t=$SECONDS
  echo "[$n/$total] building $name ..." >&2
  if ! "$@" >&2; then
    echo "build failed at step '$name' (after $((SECONDS - start)) s). Try: rerun '$0' (downloads resume);" \
         "check that the Go module proxy is reachable ('go env GOPROXY'); with an older Go, set GOTOOLCHAIN=auto." >&2
    exit 1
  fi
  echo "[$n/$total] $name built in $((SECONDS - t)) s" >&2
}
cd "$here"
step kube-apiserver go build -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
step kube-controller-manager go build -ldflags "$ldflags" -o "$bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
step kube-scheduler go build -ldflags "$ldflags" -o "$bin/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler
step kubectl go build -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl
step etcd go build -ldflags "-s -w" -o "$bin/etcd" ./etcd
# kwok and metrics-server are installed at their own pinned module versions,
# with their own go.mod, exactly as their authors release them.
step kwok env GOBIN="$bin" GOFLAGS="-trimpath -buildvcs=false" go install "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
step kwokctl env GOBIN="$bin" GOFLAGS="-trimpath -buildvcs=false" go install "sigs.k8s.io/kwok/cmd/kwokctl@${KWOK_VERSION}"
step metrics-server env GOBIN="$bin" GOFLAGS="-trimpath -buildvcs=false" go install "sigs.k8s.io/metrics-server/cmd/metrics-server@${METRICS_SERVER_VERSION}"
echo "sandbox binaries built in $((SECONDS - start)) s: $bin" >&2
echo "$bin"
