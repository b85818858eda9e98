#!/usr/bin/env bash
# Proves the etcd and declarative adapters end to end against the docker test
# cluster: an etcd run under partition, kill and pause with linearizable reads
# is valid, its node logs are downloaded and its report written; clock is
# refused for etcd with the reason; the shipped Redis example
# (examples/redis.json) runs under partitions to a verdict and a report, its
# clients' ops sharing one redis-cli each rather than one per op; a
# malformed adapter file is refused with one line naming the field.
set -uo pipefail
chaos=$1
root=$2
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
if ! docker info >/dev/null 2>&1; then
  if [[ ${CHAOS_SKIP_DOCKER:-} == 1 ]]; then echo "skipped: no docker engine"; exit 0; fi
  echo "FAIL: no docker engine (set CHAOS_SKIP_DOCKER=1 to skip the docker tests)"
  exit 1
fi

# etcd: composed faults, linearizable reads.
timeout 600 "$chaos" run --test-cluster --store "$store" --adapter etcd \
  --nemesis partition,kill,pause --time-limit 25 --nemesis-interval 2 --recovery-time 3 \
  --seed 31 >"$tmp/etcd.out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
check "etcd: valid, exit 0 (got $rc; $(tail -2 "$tmp/etcd.out" | head -1))" test $rc -eq 0
for f in test.json history.jsonl results.json report.html; do
  check "etcd: store has $f" test -s "$run/$f"
done
for n in n1 n2 n3 n4 n5; do
  check "etcd: $n's etcd.log downloaded" grep -q "etcdserver" "$run/nodes/$n/etcd.log"
done
check "etcd: a killed member's log keeps its earlier life (appended across restarts)" bash -c \
  "cat '$run'/nodes/n*/etcd.log | grep -c 'starting an etcd server' | awk '{exit !(\$1 > 5)}'"
for kind in partition kill pause; do
  check "etcd: history starts and stops $kind" bash -c \
    "grep -q '\"f\":\"start-$kind\"' '$run/history.jsonl' && grep -q '\"f\":\"stop-$kind\"' '$run/history.jsonl'"
done
check "etcd: ok cas and reads recorded" bash -c \
  "grep -q '\"type\":\"ok\",\"f\":\"cas\"' '$run/history.jsonl' && grep -q '\"type\":\"ok\",\"f\":\"read\"' '$run/history.jsonl'"
no_etcd() {
  local c
  for c in $(docker ps -q --filter "label=chaos.cluster=chaos-test${CHAOS_TEST_SLOT:-}"); do
    if docker exec "$c" pgrep -x etcd >/dev/null; then return 1; fi
  done
}
check "etcd: torn down, no etcd left running" no_etcd

# etcd cannot take clock skew: refused before anything runs, with the reason.
"$chaos" run --test-cluster --store "$store" --adapter etcd --nemesis clock --time-limit 5 \
  >"$tmp/clock.out" 2>&1
rc=$?
check "etcd clock: refused, exit 3 (got $rc)" test $rc -eq 3
check "etcd clock: the message says why ($(tail -1 "$tmp/clock.out"))" \
  grep -q "does not support the clock nemesis: etcd is a Go program" "$tmp/clock.out"

# The declarative Redis example, under partitions; redis logs each
# connection it accepts (verbose), to count them against the ops.
sed 's/--daemonize no/--daemonize no --loglevel verbose/' "$root/examples/redis.json" \
  >"$tmp/redis.json"
timeout 600 "$chaos" run --test-cluster --store "$store" --adapter "$tmp/redis.json" \
  --nemesis partition,kill --time-limit 20 --nemesis-interval 3 --recovery-time 2 \
  --seed 32 >"$tmp/redis.out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
check "redis: a verdict, valid (exit $rc; $(tail -2 "$tmp/redis.out" | head -1))" test $rc -eq 0
check "redis: report written" test -s "$run/report.html"
check "redis: test named after the file" bash -c "[[ '$run' == */redis-partition+kill/* ]]"
check "redis: n1's log downloaded" grep -q "Ready to accept connections" "$run/nodes/n1/redis.log"
check "redis: ok writes and cas recorded" bash -c \
  "grep -q '\"type\":\"ok\",\"f\":\"write\"' '$run/history.jsonl' && grep -q '\"type\":\"ok\",\"f\":\"cas\"' '$run/history.jsonl'"
check "redis: both outcomes of cas (fail = compare failed)" \
  grep -q '"type":"fail","f":"cas"' "$run/history.jsonl"
# Each client's ops go through one long-lived redis-cli (one connection),
# replaced only after an op that did not end at its marker: far fewer
# connections than ops, where a redis-cli per op would make one each.
accepted=$(grep -c ' - Accepted ' "$run/nodes/n1/redis.log")
oks=$(grep -c '"type":"ok"' "$run/history.jsonl")
check "redis: one redis-cli served many ops ($accepted connections, $oks ok ops)" \
  test $((accepted * 5)) -lt "$oks" -a "$accepted" -ge 10

# A malformed adapter file: one line naming the file and the field.
sed 's/"type": "fail"}/"type": "nope"}/' "$root/examples/redis.json" >"$tmp/bad.json"
"$chaos" run --test-cluster --store "$store" --adapter "$tmp/bad.json" --time-limit 5 \
  >"$tmp/bad.out" 2>&1
rc=$?
check "bad file: exit 3 (got $rc)" test $rc -eq 3
check "bad file: one line naming the field ($(cat "$tmp/bad.out"))" bash -c \
  "[[ \$(wc -l <'$tmp/bad.out') -eq 1 ]] && grep -q 'bad.json: client.read.outcomes\[1\].type: must be ok, fail or info' '$tmp/bad.out'"

finish
