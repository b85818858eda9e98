#!/usr/bin/env bash
# Proves the disk nemeses against the docker test cluster:
#  - lose-unsynced: a short run of the correct register (data dir on
#    chaos-lazyfs), each crash after 1.5 s without writeback, stays valid,
#    and every crash really lost data: each node it
#    hit reports its unsynced canary gone and the lazy file system's log on
#    the node records the drop;
#  - corrupt: a short run stays valid, and the register's own log says it
#    found the damage (a refused start or a cut torn tail);
#  - slow-disk: a short run with the leader's disk slowed stays valid, and
#    the lazy file systems under both the data and the log directory logged
#    the slow disk and its end;
#  - with --bug no-fsync (acknowledges before its WAL is durable), a run with
#    lose-unsynced ends invalid (up to 4 attempts; each seed is printed);
#  - with --bug promise-geq, the minority-swap partition with the old
#    leader's disk slowed as it campaigns ends invalid (up to 3 attempts).
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
run() {  # run SEED INTERVAL ARGS... -> exit status; the run's directory in $run_dir
  local seed=$1 interval=$2
  shift 2
  timeout 600 "$chaos" run --test-cluster --store "$store" --time-limit 25 \
    --nemesis-interval "$interval" --recovery-time 3 --seed "$seed" "$@" >"$tmp/out-$seed" 2>&1
  local rc=$?
  run_dir=$(readlink -f "$store/latest")
  echo "     seed $seed: exit $rc: $(tail -1 "$tmp/out-$seed")"
  return $rc
}

# --- lose-unsynced, correct build -------------------------------------------------
run 201 4 --nemesis lose-unsynced --nemesis-spec 'lose-unsynced={"hold_ms":1500}'
rc=$?
check "lose-unsynced: valid, exit 0 (got $rc)" test $rc -eq 0
h=$run_dir/history.jsonl
check "lose-unsynced: crashes recorded" bash -c "grep '\"f\":\"start-lose-unsynced\"' '$h' | grep -q '\"dropped\"'"
check "lose-unsynced: each crash held writeback 1.5 s first" bash -c \
  "grep '\"f\":\"start-lose-unsynced\"' '$h' | grep '\"dropped\"' | grep -q '\"hold_ms\":1500'"
check "lose-unsynced: every crashed node lost its unsynced canary" bash -c \
  "grep -q '\"canary_lost\":true' '$h' && ! grep -q '\"canary_lost\":false' '$h'"
check "lose-unsynced: the systems were started again" grep -q '"f":"stop-lose-unsynced"' "$h"
check "lose-unsynced: the node's lazyfs log records the drop" bash -c \
  "cat '$run_dir'/nodes/*/lazyfs-chaos-register.log | grep -q '\"command\":\"drop\"'"
check "lose-unsynced: the register recovered after the crash" bash -c \
  "cat '$run_dir'/nodes/*/register.log | grep -c 'recovered:' | awk '{exit !(\$1 > 5)}'"
"$chaos" analyze "$run_dir" >/dev/null
check "lose-unsynced: analyze agrees (valid)" test $? -eq 0

# --- corrupt, correct build -----------------------------------------------------
run 202 3 --nemesis corrupt
rc=$?
check "corrupt: valid, exit 0 (got $rc)" test $rc -eq 0
h=$run_dir/history.jsonl
check "corrupt: damage recorded" bash -c "grep '\"f\":\"start-corrupt\"' '$h' | grep -q '\"corrupted\"'"
grep -ho 'refusing to start: [^"]*\|WAL recovery cut [^"]*' "$run_dir"/nodes/*/register.log |
  head -3 | sed 's/^/     register log: /'
check "corrupt: the register's log says it found the damage" bash -c \
  "cat '$run_dir'/nodes/*/register.log | grep -q 'refusing to start: \|WAL recovery cut '"
check "corrupt: every stop restarted its nodes without error" bash -c \
  "grep -q '\"f\":\"stop-corrupt\"' '$h' && ! grep '\"f\":\"stop-corrupt\"' '$h' | grep -q '\"error\"'"
served_after_refusal() {  # every log that says "refusing to start" says "serving on" later
  local log
  for log in "$run_dir"/nodes/*/register.log; do
    awk '/refusing to start/ {r = NR} /serving on/ {s = NR} END {exit !(r == 0 || s > r)}' "$log" ||
      return 1
  done
}
check "corrupt: a node that refused was wiped and served again" served_after_refusal
# A wiped node counts in no quorum until it is added again; a stop that wiped
# nodes must have re-added each as a voter (a restore that asked before the
# node answered once left two wiped nodes out for the rest of a run).
readded_every_wiped() {
  local stops
  stops=$(jq -c 'select(.f == "stop-corrupt" and .value != null and (.value.wiped | length) > 0)
                 | .value' "$h") || return 1
  [ -n "$stops" ] || { echo "     no stop wiped a node"; return 1; }
  echo "$stops" | jq -e '[.wiped[] as $n | (.readded // []) | index("promote " + $n)] | all' \
    >/dev/null
}
check "corrupt: every node a stop wiped was re-added as a voter" readded_every_wiped

# --- slow-disk, correct build -----------------------------------------------------
run 203 3 --nemesis slow-disk --nemesis-spec 'slow-disk={"mode":"leader","delay_ms":200}'
rc=$?
check "slow-disk: valid, exit 0 (got $rc)" test $rc -eq 0
h=$run_dir/history.jsonl
check "slow-disk: the start ops record the delay" bash -c \
  "grep '\"f\":\"start-slow-disk\"' '$h' | grep -q '\"delay_ms\":200'"
for fs in lazyfs-chaos-register lazyfs-register; do
  check "slow-disk: $fs.log records the slow disk and its end" bash -c \
    "cat '$run_dir'/nodes/*/$fs.log | grep -q 'every write and sync waits 200 ms' &&
     cat '$run_dir'/nodes/*/$fs.log | grep -q 'slow disk: off'"
done

# --- no-fsync must be caught -------------------------------------------------------
caught=0
for seed in 301 302 303 304; do
  run "$seed" 3 --bug no-fsync --nemesis lose-unsynced
  rc=$?
  if [ $rc -eq 1 ]; then
    caught=1
    break
  fi
done
check "no-fsync + lose-unsynced: invalid within 4 attempts (last exit $rc)" test $caught -eq 1

# --- promise-geq must be caught: the old leader's own promise waits on its
# slow disk (and on the log line it flushes as it becomes a candidate) while
# the others' promises elect it at the ballot it led with.
caught=0
for seed in 311 312 313; do
  run "$seed" 1.5 --bug promise-geq --nemesis partition:minority-swap --op-timeout 100 \
    --concurrency 20 --nemesis-spec 'partition={"restart":"others","slow_ms":50}'
  rc=$?
  if [ $rc -eq 1 ]; then
    caught=1
    break
  fi
done
grep -h 'not its own' "$run_dir"/nodes/*/register.log | head -2 | sed 's/^/     register log: /'
check "promise-geq + minority-swap with slow_ms: invalid within 3 attempts (last exit $rc)" \
  test $caught -eq 1

finish
