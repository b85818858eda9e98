#!/usr/bin/env bash
# --stop-on-invalid on a real cluster: the register built with a --bug the
# default schedule finds during the run (majority-off-by-one, seed 1: found
# at 34.3 s on 2026-12-06; forget-promise, seed 3 is mostly found only by the
# final reads now) is stopped at its first invalid key, before its time limit; every fault is healed
# (no iptables rule, no stopped process left on the nodes' side of the run:
# the nemesis stop ops are recorded), the final reads run, and the store holds
# the history, results and report, with `stopped_early` in results.json.
# Timing-sensitive: CHAOS_STOP_BUG, CHAOS_STOP_SEED and CHAOS_STOP_TIME change
# the run.
set -uo pipefail
chaos=$1
bug=${CHAOS_STOP_BUG:-majority-off-by-one}
seed=${CHAOS_STOP_SEED:-1}
time_limit=${CHAOS_STOP_TIME:-120}
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
"$chaos" cluster up --test-cluster >/dev/null 2>&1 || { echo "FAIL cluster up"; exit 1; }

start=$SECONDS
timeout 900 "$chaos" run --test-cluster --store "$store" --name stop-early --seed "$seed" \
  --bug "$bug" --stop-on-invalid --time-limit "$time_limit" --recovery-time 3 \
  >"$tmp/out" 2>&1
rc=$?
took=$((SECONDS - start))
echo "bug $bug, seed $seed: exit $rc in $took s ($(grep -E 'stopped early' "$tmp/out" | head -1))"
check "--bug $bug --stop-on-invalid: invalid (exit $rc)" test $rc -eq 1
check "stopped early: the run took less than its $time_limit s ($took s)" test "$took" -lt "$time_limit"
check "stopped early: chaos run says so" grep -q "stopped early at .* key .* is invalid" "$tmp/out"
run=$(ls -d "$store/stop-early"/*/ | head -1)
for f in test.json history.jsonl history.edn results.json chaos.log report.html; do
  check "stopped early: $f stored" test -s "$run/$f"
done
check "stopped early: healed" grep -q "healed every fault (stopped early)" "$run/chaos.log"
check "stopped early: final reads ran" grep -q "final reads of" "$run/chaos.log"
check "stopped early: every fault started was stopped" python3 -c "
import json
ops = [json.loads(l) for l in open('$run/history.jsonl')]
nem = [o for o in ops if o['process'] == 'nemesis']
starts = {o['f'][len('start-'):] for o in nem if o['f'].startswith('start-')}
stops = {o['f'][len('stop-'):] for o in nem if o['f'].startswith('stop-')}
assert starts <= stops, (starts, stops)"
check "stopped early: results.json and test.json say when" python3 -c "
import json
r = json.load(open('$run/results.json')); t = json.load(open('$run/test.json'))
s = r['stopped_early']
assert r['valid'] is False and s['at_s'] < $time_limit and t['stopped_early'] == s, s"
check "stopped early: test.json lists the key found online, the counterexample is of it" python3 -c "
import json
r = json.load(open('$run/results.json')); t = json.load(open('$run/test.json'))
first = t['online_invalid'][0]
assert first['key'] == t['stopped_early']['key'] and first['at_s'] == t['stopped_early']['at_s'], first
assert r['counterexample']['op']['value'][0] == first['key'], (r['counterexample']['op'], first)"
check "stopped early: the report shows it" grep -q 'id="stopped-early"' "$run/report.html"
finish
