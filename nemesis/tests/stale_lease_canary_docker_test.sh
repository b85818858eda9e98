#!/usr/bin/env bash
# Canary for the clock nemesis: the register built with --bug
# stale-lease-read (leases that ignore the clock-drift bound), reading by
# lease, must be caught when the leader's wall clock runs slow (x0.4, drift
# mode, aimed at the leader: within the register's --max-clock-drift 0.45,
# so the correct lease stays safe) and the leader is cut off in a stall
# (partition mode leader with stall_ms: cut off, SIGSTOP as soon as its own rules
# are in place, SIGCONT 1.3 s later).
# Its timers wake where they stopped, so check-quorum does not depose it at
# once; its stretched lease lets it serve reads after the majority has
# elected a new leader and written. Up to CHAOS_CANARY_ATTEMPTS runs (default
# 4), each seed printed; passes at the first invalid verdict whose
# counterexample is a read served by the node that was cut off.
#
# Timing: election-ticks 100 (1 s): the lease the bug computes lasts 0.99 s of
# the slow clock (2.5 s real), the followers' promise 1 s, a new leader needs
# 1-2 s; op timeout 100 ms, so clients bound to the old leader keep coming back
# to it (a write there times out) instead of waiting a second per write.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
"$chaos" cluster up --test-cluster >/dev/null 2>&1 || { echo "FAIL cluster up"; exit 1; }
attempts=${CHAOS_CANARY_ATTEMPTS:-4}
for seed in $(seq 701 $((700 + attempts))); do
  timeout 600 "$chaos" run --test-cluster --store "$tmp/store" --bug stale-lease-read \
    --read-mode lease --nemesis clock,partition --time-limit 30 --nemesis-interval 5 \
    --recovery-time 2 --seed "$seed" --op-timeout 100 --concurrency 20 \
    --adapter-option election-ticks=100 \
    --nemesis-spec 'clock={"mode":"drift","rate":0.4,"targets":"leader"}' \
    --nemesis-spec 'partition={"mode":"leader","stall_ms":1300}' >"$tmp/out" 2>&1
  rc=$?
  echo "seed $seed: exit $rc ($(grep -E '^test: ' "$tmp/out" | head -1))"
  if [[ $rc -eq 1 ]]; then
    run=$(readlink -f "$tmp/store/latest")
    check "the stale read was served by a node the partition cut off and stalled" python3 -c "
import json
ops = [json.loads(l) for l in open('$run/history.jsonl')]
stalled = set()
for o in ops:
    v = o.get('value')
    if o['process'] == 'nemesis' and o['f'] == 'start-partition' and isinstance(v, dict):
        stalled |= set(v.get('stalled', []))
bad = json.load(open('$run/results.json'))['counterexample']['op']
op = next(o for o in ops if o['index'] == bad['index'])
print('counterexample:', op['f'], op['value'], 'served by', op.get('served_by'), 'stalled', sorted(stalled))
assert op['f'] == 'read' and op.get('served_by') in stalled, op
"
    check "the report's counterexample names the node that served it" \
      grep -q "served by n[0-9]" "$run/report.html"
    echo "ok   stale-lease-read found (invalid) with seed $seed"
    finish
  fi
done
echo "FAIL stale-lease-read not found in $attempts attempts"
exit 1
