#!/usr/bin/env bash
# The whole of `chaos run` without a cluster: the memory adapter (a
# linearizable store in the controller) under each workload gives valid, the
# store holds every file, `chaos analyze` agrees, and a nemesis the adapter
# cannot support is refused before anything runs, in one line.
set -uo pipefail
chaos=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../../scripts/test-lib.sh"

for workload in register set counter list-append rw-register; do
  "$chaos" run --adapter memory --workload "$workload" --time-limit 0.5 --recovery-time 0 \
    --concurrency 4 --seed 7 --store "$tmp/store" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  check "$workload: exit 0 (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 0
  check "$workload: prints valid" grep -q ": valid" "$tmp/out"
  # Without --name the verdict line names the test as the run resolved it.
  name=memory-none
  [ "$workload" = register ] || name=memory-$workload-none
  check "$workload: the verdict line names the test ($(head -1 "$tmp/out"))" \
    grep -q "^$name: valid  (seed 7)" "$tmp/out"
  run=$(readlink -f "$tmp/store/latest")
  for f in test.json history.jsonl history.edn results.json chaos.log report.html; do
    check "$workload: $f stored" test -s "$run/$f"
  done
  check "$workload: history validates" "$chaos" history stats "$run/history.jsonl"
  ops=$(grep -c '"type":"ok"' "$run/history.jsonl")
  check "$workload: ok ops recorded ($ops)" test "$ops" -gt 100
  "$chaos" analyze "$run" >"$tmp/analyze" 2>&1
  check "$workload: analyze agrees (exit $?)" grep -q "valid" "$tmp/analyze"
done

# By default every value a register run writes is unique per key and a cas
# expects a value an earlier ok op of its key showed; test.json says
# "unique".
"$chaos" run --adapter memory --time-limit 0.5 --recovery-time 0 \
  --concurrency 4 --seed 7 --name unique --store "$tmp/store" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "unique values: exit 0 (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 0
run=$(readlink -f "$tmp/store/latest")
check "unique values: each written once per key, cas from a value seen, in test.json" python3 -c "
import json
assert json.load(open('$run/test.json'))['value_max'] == 'unique'
written, seen, cas_ok = set(), set(), 0
for line in open('$run/history.jsonl'):
    o = json.loads(line)
    if o['process'] == 'nemesis' or not isinstance(o.get('value'), list): continue
    k, v = o['value']
    if o['type'] == 'invoke' and o['f'] in ('write', 'cas'):
        to = v if o['f'] == 'write' else v[1]
        assert (k, to) not in written, (k, to)
        written.add((k, to))
        if o['f'] == 'cas': assert (k, v[0]) in seen, (k, v)
    if o['type'] == 'ok' and o['f'] == 'read' and v is not None: seen.add((k, v))
    if o['type'] == 'ok' and o['f'] == 'write': seen.add((k, v))
    if o['type'] == 'ok' and o['f'] == 'cas': seen.add((k, v[1])); cas_ok += 1
assert written and cas_ok > 0, (len(written), cas_ok)
"

# --value-max: register values come from 0..N (writes and both sides of a
# cas), recorded in test.json.
"$chaos" run --adapter memory --value-max 40 --time-limit 0.5 --recovery-time 0 \
  --concurrency 4 --seed 7 --name values --store "$tmp/store" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "--value-max 40: exit 0 (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 0
run=$(readlink -f "$tmp/store/latest")
check "--value-max 40: values 0..40 written, some past 5, in test.json" python3 -c "
import json
assert json.load(open('$run/test.json'))['value_max'] == 40
vs = []
for line in open('$run/history.jsonl'):
    o = json.loads(line)
    if o['type'] == 'invoke' and o['f'] == 'write': vs.append(o['value'][1])
    if o['type'] == 'invoke' and o['f'] == 'cas': vs += o['value'][1]
assert vs and min(vs) >= 0 and max(vs) <= 40 and max(vs) > 5, (min(vs), max(vs))
"

# Online checking: the keys checked during the run give the verdict and
# per-key results a whole check gives (chaos analyze re-checks everything).
run=$(readlink -f "$tmp/store/memory-none/"*/ | head -1)
check "online: chaos.log counts the keys checked during the run" \
  grep -q "online check: [1-9][0-9]* keys checked during the run" "$run/chaos.log"
cp "$run/results.json" "$tmp/online.json"
"$chaos" analyze "$run" >/dev/null 2>&1
check "online: per_key and verdict equal the whole check's" python3 -c "
import json
a=json.load(open('$tmp/online.json')); b=json.load(open('$run/results.json'))
strip=lambda p:{k:{f:v for f,v in e.items() if f!='states'} for k,e in p.items()}
assert a['valid']==b['valid'] and strip(a['per_key'])==strip(b['per_key']), (a['valid'], b['valid'])
"

# --stop-on-invalid: a register that loses acknowledged writes (memory
# --bug lost-write) is found early; the run stops long before its 60 s,
# heals, reads finally and stores everything as usual.
start=$SECONDS
"$chaos" run --adapter memory --bug lost-write --stop-on-invalid --time-limit 60 \
  --recovery-time 0 --concurrency 4 --ops-per-key 20 --seed 3 --store "$tmp/stop" \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
check "stop-on-invalid: exit 1, invalid (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 1
check "stop-on-invalid: ended well before the time limit ($((SECONDS - start)) s)" \
  test $((SECONDS - start)) -lt 30
check "stop-on-invalid: says it stopped early" grep -q "stopped early at .* key .* is invalid" "$tmp/out"
run=$(readlink -f "$tmp/stop/latest")
for f in test.json history.jsonl history.edn results.json chaos.log report.html; do
  check "stop-on-invalid: $f stored" test -s "$run/$f"
done
check "stop-on-invalid: healed" grep -q "healed every fault (stopped early)" "$run/chaos.log"
check "stop-on-invalid: final reads ran" grep -q "final reads of" "$run/chaos.log"
check "stop-on-invalid: results.json and test.json say when" python3 -c "
import json
r=json.load(open('$run/results.json')); t=json.load(open('$run/test.json'))
assert r['valid'] is False and r['stopped_early']['at_s'] < 30, r.get('stopped_early')
assert t['stopped_early']==r['stopped_early'] and t['aborted'] is False
"
check "stop-on-invalid: the report shows it" grep -q 'id="stopped-early"' "$run/report.html"

# Transactions: the stored history re-checks valid with chaos check; each
# seeded transaction mistake of the memory store is found and named.
valid_run=$(ls -d "$tmp"/store/memory-list-append*/*/ | head -1)
"$chaos" check --model list-append --consistency strict-serializable "$valid_run/history.edn" \
  >"$tmp/out" 2>&1
rc=$?
check "list-append: chaos check on the stored EDN history is valid (exit $rc)" test "$rc" -eq 0
for bug in txn-split-apply txn-stale-read; do
  "$chaos" run --adapter memory --workload list-append --bug "$bug" --time-limit 1 \
    --recovery-time 0 --concurrency 5 --seed 7 --store "$tmp/store" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  check "$bug: exit 1, invalid (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 1
  run=$(readlink -f "$tmp/store/latest")
  check "$bug: an anomaly is named" python3 -c "
import json
c=json.load(open('$run/results.json'))['checkers']['list-append']
assert c['valid'] is False and c['forbidden'], c['anomaly_types']
"
  check "$bug: the report explains and draws a cycle" grep -q 'class="cycle"' "$run/report.html"
  "$chaos" check --model list-append --consistency strict-serializable "$run/history.edn" \
    >"$tmp/check" 2>&1
  rc=$?
  check "$bug: chaos check on the EDN history agrees (exit $rc)" test "$rc" -eq 1
  check "$bug: chaos check explains a contradiction" grep -q "a contradiction" "$tmp/check"
done

for bad in 0 many 5x; do
  "$chaos" run --adapter memory --value-max "$bad" --time-limit 0.5 --store "$tmp/store" \
    >/dev/null 2>"$tmp/err"
  rc=$?
  check "--value-max $bad: exit 3 (got $rc)" test "$rc" -eq 3
  check "--value-max $bad: one line saying what it takes" \
    test "$(grep -c 'must be "unique" or a whole number >= 1' "$tmp/err")" -eq 1
done
echo '{"cells": [{"value_max": "many"}]}' >"$tmp/bad-values.json"
"$chaos" test-all --matrix "$tmp/bad-values.json" --store "$tmp/all" >/dev/null 2>"$tmp/err"
rc=$?
check "matrix value_max many: exit 3 (got $rc)" test "$rc" -eq 3
check "matrix value_max many: names the field" grep -q "cells\[0\].value_max: value max must be" "$tmp/err"

"$chaos" run --adapter memory --nemesis partition --time-limit 2 --store "$tmp/store" \
  >/dev/null 2>"$tmp/err"
rc=$?
check "unsupported nemesis: exit 3 (got $rc)" test "$rc" -eq 3
check "unsupported nemesis: one line ($(head -c 200 "$tmp/err"))" test "$(wc -l <"$tmp/err")" -eq 1
check "unsupported nemesis: says which" grep -q "memory adapter does not support the partition" "$tmp/err"

for option in "binary=$tmp/no-such-register" "binary=$tmp"; do
  "$chaos" run --adapter register --adapter-option "$option" --time-limit 2 --store "$tmp/store" \
    >/dev/null 2>"$tmp/err"
  rc=$?
  check "$option: exit 3 before any node is touched (got $rc)" test "$rc" -eq 3
  check "$option: one line naming the path ($(head -c 200 "$tmp/err"))" \
    grep -q "adapter-option $option: no such file" "$tmp/err"
done
"$chaos" run --adapter memory --adapter-option "binary=$chaos" --time-limit 2 \
  --store "$tmp/store" >/dev/null 2>"$tmp/err"
check "binary on the memory adapter: exit 3 ($(head -c 200 "$tmp/err"))" \
  grep -q "binary is only for the register" "$tmp/err"

# test-all on a matrix file: two cells that hold and one whose expectation
# (a bug found) the linearizable memory store cannot meet.
cat >"$tmp/matrix.json" <<'JSON'
{"adapter": "memory", "time_limit": 0.5, "recovery_time": 0, "concurrency": 3, "seeds": 2,
 "cells": [{"workload": "register"}, {"workload": "set", "seeds": 1},
           {"name": "memory-expects-invalid", "expect": "invalid", "seeds": 1},
           {"name": "memory-lost-write", "bug": "lost-write", "stop_on_invalid": true,
            "time_limit": 60, "ops_per_key": 20, "seeds": 1}]}
JSON
"$chaos" test-all --matrix "$tmp/matrix.json" --store "$tmp/all" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "test-all: exit 1, the worst verdict: the lost-write cell (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 1
summary=$(ls -d "$tmp"/all/test-all/*/ | head -1)
check "test-all: summary.json and .html" test -s "$summary/summary.json" -a -s "$summary/summary.html"
check "test-all: 4 cells, 5 runs" python3 -c "
import json,sys
s=json.load(open('$summary/summary.json'))
c=s['cells']
assert len(c)==4 and [len(x['runs']) for x in c]==[2,1,1,1], c
assert c[0]['as_expected'] and c[1]['as_expected'] and not c[2]['as_expected'], c
assert c[3]['as_expected'] and c[3]['runs'][0]['verdict']=='invalid', c[3]
assert s['as_expected'] is False
assert all(r['verdict']=='valid' for x in c[:3] for r in x['runs'])
"
check "test-all: says not as expected" grep -q "NOT as expected" "$tmp/out"
first=$(python3 -c "import json;print(json.load(open('$summary/summary.json'))['cells'][0]['runs'][0]['report'])")
check "test-all: report links resolve ($first)" test -s "$summary/$first"
echo '{"cells": [{"bug": 3}]}' >"$tmp/bad.json"
"$chaos" test-all --matrix "$tmp/bad.json" --store "$tmp/all" >/dev/null 2>"$tmp/err"
rc=$?
check "bad matrix: exit 3 (got $rc)" test "$rc" -eq 3
check "bad matrix: one line naming the field ($(head -c 200 "$tmp/err"))" \
  grep -q 'bad.json: cells\[0\].bug: must be a string' "$tmp/err"

echo '{"cells": [{"adapter_options": {"tick-ms": [1]}}]}' >"$tmp/bad.json"
"$chaos" test-all --matrix "$tmp/bad.json" --store "$tmp/all" >/dev/null 2>"$tmp/err"
check "bad matrix: adapter option must be a string or number ($(head -c 200 "$tmp/err"))" \
  grep -q 'cells\[0\].adapter_options.tick-ms: must be a string or a number' "$tmp/err"

# The validation matrix (bench/matrices/default.json, what test-all runs
# without --matrix), listed without running: the correct build and every
# --bug switch, each under the default schedule with nothing tuned per cell.
"$chaos" test-all --list >"$tmp/list" 2>"$tmp/err"
check "test-all --list: exit 0 ($(head -c 200 "$tmp/err"))" test $? -eq 0
for bug in no-fsync forget-promise promise-geq majority-off-by-one skip-phase1-on-retry \
  count-duplicate-acks stale-lease-read; do
  check "test-all --list: a cell for $bug" grep -q "expect invalid, .*bug $bug" "$tmp/list"
done
check "test-all --list: stale-lease-read with lease reads" \
  grep -q 'bug stale-lease-read, lease reads' "$tmp/list"
check "test-all --list: 8 cells, all under the default schedule, 5 seeds x 120 s" \
  test "$(grep -c ': nemesis all, 5 seeds x 120 s, .*expect ' "$tmp/list")" -eq 8
check "test-all --list: nothing tuned per cell" \
  test "$(grep -cE 'stall_ms|op timeout|clients|election' "$tmp/list")" -eq 0
check "test-all --list --seeds 2 --time-limit 30 overrides the file" \
  test "$("$chaos" test-all --list --seeds 2 --time-limit 30 | grep -c ': nemesis all, 2 seeds x 30 s')" -eq 8

# Checker "logs": a node log line holding one of the adapter's fatal patterns
# (kept in test.json) makes the run invalid, and analyze says where. The run
# is the memory adapter's (no nodes): its folder gets a register-like log.
run=$(ls -d "$tmp"/store/memory-none/*/ | head -1)
python3 - "$run/test.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["fatal_log_patterns"] = ["stopping: replica diverged"]
json.dump(t, open(sys.argv[1], "w"))
PY
mkdir -p "$run/nodes/n2"
printf '2026-11-29T03:00:00.000001Z INFO started\n' >"$run/nodes/n2/register.log"
"$chaos" analyze "$run" >"$tmp/analyze" 2>&1
rc=$?
check "logs: a clean log stays valid (exit $rc)" test "$rc" -eq 0
printf '2026-11-29T03:00:01.5Z ERROR stopping: replica diverged: node 2: slot 7\n' \
  >>"$run/nodes/n2/register.log"
"$chaos" analyze "$run" >"$tmp/analyze" 2>&1
rc=$?
check "logs: a fatal line makes the run invalid (exit $rc)" test "$rc" -eq 1
check "logs: results.json names file and line" python3 -c "
import json
r=json.load(open('$run/results.json'))
l=r['checkers']['logs']
assert r['valid'] is False and l['valid'] is False and l['count']==1, l
m=l['matches'][0]
assert m['file']=='nodes/n2/register.log' and m['line']==2, m
assert 'nodes/n2/register.log:2: ' in l['cause'], l['cause']
"
check "logs: the report shows the cause" grep -q "reported a safety violation itself" \
  "$run/report.html"

finish
