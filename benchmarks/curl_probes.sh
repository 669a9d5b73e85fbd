#!/usr/bin/env bash
# T+10's HTTP probes sent by curl, in parallel: for every service, the health
# endpoint SAMPLES times for the health check and SAMPLES times for the Redis
# check's round, and the version endpoint SAMPLES times (T+10 asks each
# version URL as often as it samples health); CONCURRENCY at a time
# (gonogo's HTTP probe default is 32). Exits non-zero when any probe fails.
# Usage: curl_probes.sh BASE_URL SAMPLES CONCURRENCY SERVICE...
set -u
base=$1; samples=$2; concurrency=$3; shift 3
for service in "$@"; do
  for _ in $(seq $((2 * samples))); do echo "$base/$service/health"; done
  for _ in $(seq "$samples"); do echo "$base/$service/version"; done
done | xargs -P "$concurrency" -n 1 curl -fsS --max-time 5 -o /dev/null
