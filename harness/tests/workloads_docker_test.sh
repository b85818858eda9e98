#!/usr/bin/env bash
# Proves the set and counter workloads on real systems, against the docker
# test cluster: on the register and on etcd (set and counter as register ops,
# adapters/register_workloads.h) under partitions and kills, and on the
# declarative Redis examples that describe add and read (examples/redis-set.json,
# redis-counter.json), every run is valid with acknowledged adds and a final
# read; a workload an adapter does not carry is refused before the run, exit
# 3, in one line naming the adapter and the workload; and the declarative
# Redis adapter (one long-lived redis-cli per client) runs examples/redis.json at
# 10 clients, valid, printing its rate (the floor is low: the figure depends
# on the machine's load; bench/RESULTS.md has measured ones).
set -uo pipefail
chaos=$1
root=$2
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin

# run NAME EXPECTED_EXIT ARGS...: one chaos run into the store; sets $run.
run_one() {
  local name=$1
  shift
  timeout 600 "$chaos" run --test-cluster --store "$store" "$@" >"$tmp/$name.out" 2>&1
  rc=$?
  run=$(readlink -f "$store/latest")
}

for adapter in register etcd; do
  for workload in set counter; do
    name=$adapter-$workload
    run_one "$name" --adapter $adapter --workload $workload --nemesis partition,kill \
      --time-limit 20 --nemesis-interval 3 --recovery-time 3 --seed 41
    check "$name: valid, exit 0 (got $rc; $(grep -v '^chaos:' "$tmp/$name.out" | head -1))" \
      test $rc -eq 0
    check "$name: the verdict line names the test" grep -q "^$adapter-$workload-partition+kill: valid" \
      "$tmp/$name.out"
    check "$name: faults happened" grep -q '"f":"start-partition"' "$run/history.jsonl"
    check "$name: the $workload checker ran, adds acknowledged, a final read" python3 -c "
import json
r = json.load(open('$run/results.json'))
c = r['checkers']['$workload']
assert c['valid'] is True, c
if '$workload' == 'set':
    assert c['acknowledged_count'] > 50 and c['read_count'] >= 1, c
else:
    assert c['reads'] >= 1, c
s = r['checkers']['stats']['by_f']
assert s['add']['ok_count'] > 50, s
"
  done
done

# The declarative examples that describe add and read.
for workload in set counter; do
  run_one "redis-$workload" --adapter "$root/examples/redis-$workload.json" --workload $workload \
    --nemesis partition,kill --time-limit 15 --nemesis-interval 3 --recovery-time 2 --seed 42
  check "redis-$workload: valid, exit 0 (got $rc; $(tail -2 "$tmp/redis-$workload.out" | head -1))" \
    test $rc -eq 0
  check "redis-$workload: ok adds and an ok read" bash -c \
    "grep -q '\"type\":\"ok\",\"f\":\"add\"' '$run/history.jsonl' && grep -q '\"type\":\"ok\",\"f\":\"read\"' '$run/history.jsonl'"
done

# A workload the adapter does not carry: refused before the run.
before=$(find "$store" -name test.json | wc -l)
"$chaos" run --test-cluster --store "$store" --adapter "$root/examples/redis.json" \
  --workload set --time-limit 5 >"$tmp/refused.out" 2>&1
rc=$?
check "redis.json + set: exit 3 (got $rc)" test $rc -eq 3
check "redis.json + set: one line naming the adapter and the workload ($(cat "$tmp/refused.out"))" \
  bash -c "[[ \$(wc -l <'$tmp/refused.out') -eq 1 ]] && grep -q 'the redis adapter (.*examples/redis.json) does not support the set workload (it takes register)' '$tmp/refused.out'"
check "redis.json + set: nothing stored" test "$(find "$store" -name test.json | wc -l)" -eq "$before"

# Speed of the declarative adapter: 10 clients, no faults.
run_one redis-speed --adapter "$root/examples/redis.json" --concurrency 10 --nemesis none \
  --time-limit 15 --recovery-time 0 --seed 43
check "redis speed: valid (exit $rc)" test $rc -eq 0
rate=$(python3 -c "
import json
ops = [json.loads(l) for l in open('$run/history.jsonl')]
done = [o for o in ops if o['type'] != 'invoke' and o['process'] != 'nemesis']
t = [o['time'] for o in done]
span = (max(t) - min(t)) / 1e9
print(int(len(done) / span))
")
echo "redis.json, 10 clients: $rate ops/s"
# A redis-cli exec per op made 21-31 ops/s; one long-lived redis-cli per
# client 256-620 (at load 9-21): the floor catches a return to the first.
check "redis speed: over 100 ops/s at 10 clients (got $rate)" test "$rate" -gt 100

finish
