#!/usr/bin/env bash
# Installs the Debian packages that the sandbox and gonogo's tests need.
#
# Safe to run again: it installs only what is missing, runs 'apt-get update'
# only when a package is missing and the package lists are absent or older than
# a day, and never lets the packages' own services run. The sandbox starts its
# own redis-server, Prometheus, Alertmanager and registry on its own loopback
# ports (see sandbox/gonogo_sandbox/config.py); the Debian units started by
# these packages would otherwise hold the default ports (6379, 9090, 9093,
# 5000, 80) and write under /var/lib.
#
# Usage: bash sandbox/install-deps.sh        (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  redis-server            # Redis for the sandbox and the database checks
  prometheus              # scrapes the demo services, evaluates alert rules
  prometheus-alertmanager # receives the alerts, forwards them to the webhook fake
  docker-registry         # the local OCI registry holding the release images
  skopeo                  # pushes the locally built OCI layouts to the registry
  nginx                   # reverse proxy some checks and benchmarks use
  wrk                     # HTTP load generator for the load checks and benchmarks
  chromium                # the headless browser for the dashboard checks
  chromium-driver         # WebDriver for that browser (no browser download)
  fonts-liberation        # so the headless browser renders text in screenshots
  ca-certificates
)

# Debian service names of the packages above that start a daemon on install.
SERVICES=(redis-server prometheus prometheus-alertmanager docker-registry nginx)

say() { printf 'install-deps: %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    say "must run as root (or with sudo available) to install apt packages" >&2
    exit 1
  fi
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "all ${#PACKAGES[@]} packages already installed"
else
  say "missing: ${missing[*]}"
  lists=/var/lib/apt/lists
  if [ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    say "package lists absent or older than a day: apt-get update"
    $SUDO apt-get update -q
  else
    say "package lists are fresh: skipping apt-get update"
  fi

  # policy-rc.d answering 101 tells Debian's maintainer scripts not to start
  # services. Put one in place for the install unless one already exists.
  policy=/usr/sbin/policy-rc.d
  created_policy=""
  if [ ! -e "$policy" ]; then
    say "installing a temporary $policy so the packages' services do not start"
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 0755 "$policy"
    created_policy="yes"
  fi
  cleanup() { if [ -n "$created_policy" ]; then $SUDO rm -f "$policy"; fi; }
  trap cleanup EXIT

  say "apt-get install ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
  cleanup
  trap - EXIT
fi

# Whatever happened before (a policy-rc.d that was not there at an earlier
# install, a reboot with systemd), make sure the Debian services are stopped
# and will not start at boot.
for svc in "${SERVICES[@]}"; do
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl is-enabled --quiet "$svc" 2>/dev/null || systemctl is-active --quiet "$svc" 2>/dev/null; then
      say "systemd: disable --now $svc"
      $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  elif [ -x "/etc/init.d/$svc" ]; then
    if $SUDO "/etc/init.d/$svc" status >/dev/null 2>&1; then
      say "init.d: stop $svc"
      $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
      $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  fi
done

for bin in redis-server prometheus prometheus-alertmanager docker-registry skopeo nginx wrk \
  chromium chromedriver; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    say "expected $bin on PATH after the install; check the apt output above" >&2
    exit 1
  fi
done
say "ready: redis-server, prometheus, alertmanager, docker-registry, skopeo, nginx, wrk, chromium"
