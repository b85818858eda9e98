#!/usr/bin/env bash
# Canary for the clock nemesis: the register built with --bug
# stale-lease-read (leases that ignore the clock-drift bound), reading by
# lease, must be caught when the leader's wall clock runs slow (x0.4, drift
# mode, aimed at the leader) while a partition cuts the leader off: its
# stretched lease lets it serve reads after the majority has elected a new
# leader and written. Up to CHAOS_CANARY_ATTEMPTS runs (default 4), each seed
# printed; passes at the first invalid verdict.
#
# Timing: election-ticks 300 (3 s) so that a loaded machine's scheduling
# delays are small against the election timeout; the partition lasts 8 s.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
"$chaos" cluster up --test-cluster >/dev/null 2>&1 || { echo "FAIL cluster up"; exit 1; }
attempts=${CHAOS_CANARY_ATTEMPTS:-4}
for seed in $(seq 701 $((700 + attempts))); do
  timeout 600 "$chaos" run --test-cluster --store "$tmp/store" --bug stale-lease-read \
    --read-mode lease --nemesis clock,partition --time-limit 60 --nemesis-interval 8 \
    --recovery-time 2 --seed "$seed" --adapter-option election-ticks=300 \
    --nemesis-spec 'clock={"mode":"drift","rate":0.4,"targets":"leader"}' \
    --nemesis-spec 'partition={"mode":"leader"}' >"$tmp/out" 2>&1
  rc=$?
  echo "seed $seed: exit $rc ($(grep -E '^test: ' "$tmp/out" | head -1))"
  if [[ $rc -eq 1 ]]; then
    echo "ok   stale-lease-read found (invalid) with seed $seed"
    exit 0
  fi
done
echo "FAIL stale-lease-read not found in $attempts attempts"
exit 1
