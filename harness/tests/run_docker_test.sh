#!/usr/bin/env bash
# Proves chaos run end to end against the docker test cluster: for each of
# partition, kill, pause and the three composed, a short run of the correct
# register is valid; faults started and stopped appear in the history; every
# fault is healed afterwards (no rule left in our chain, no stopped process);
# the history passes validation; chaos analyze gives the same verdict.
# Then a controller killed with SIGKILL mid-run leaves an analysable history,
# and the next run heals what it left behind.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
# The test cluster of this checkout (CHAOS_TEST_SLOT=k: chaos-test<k>, as docker/cluster.h says).
nodes() { docker ps --filter "label=chaos.cluster=chaos-test${CHAOS_TEST_SLOT:-}" --format '{{.Names}}'; }
healed() {
  local n
  [[ -n "$(nodes)" ]] || { echo "  no node of the test cluster is running"; return 1; }
  for n in $(nodes); do
    if docker exec "$n" iptables -w -S CHAOS 2>/dev/null | grep -q -- '-A CHAOS'; then
      echo "  $n: rules left in CHAOS"
      return 1
    fi
    if docker exec "$n" sh -c "ps -eo stat,args | grep chaos-register | grep -v grep | grep -q '^T'"; then
      echo "  $n: a stopped process"
      return 1
    fi
  done
}

seed=100
for nemesis in partition kill pause partition,kill,pause; do
  seed=$((seed + 1))
  out=$tmp/out-$seed
  # Composed faults take turns (overlapping by half an interval): a shorter
  # interval gives each its window.
  interval=4
  [[ $nemesis == *,* ]] && interval=1.5
  timeout 400 "$chaos" run --test-cluster --store "$store" --nemesis "$nemesis" \
    --time-limit 20 --nemesis-interval "$interval" --recovery-time 3 --seed "$seed" >"$out" 2>&1
  rc=$?
  run=$(readlink -f "$store/latest")
  check "$nemesis: valid, exit 0 (got $rc; $(tail -1 "$out"))" test $rc -eq 0
  for f in test.json history.jsonl history.edn results.json chaos.log report.html; do
    check "$nemesis: store has $f" test -s "$run/$f"
  done
  for kind in ${nemesis//,/ }; do
    check "$nemesis: history starts and stops $kind" bash -c \
      "grep -q '\"f\":\"start-$kind\"' '$run/history.jsonl' && grep -q '\"f\":\"stop-$kind\"' '$run/history.jsonl'"
  done
  check "$nemesis: ok ops recorded" grep -q '"type":"ok"' "$run/history.jsonl"
  check "$nemesis: every fault healed" healed
  "$chaos" history stats "$run/history.jsonl" >/dev/null
  check "$nemesis: history validates" test $? -eq 0
  "$chaos" analyze "$run" >/dev/null
  check "$nemesis: analyze agrees (valid)" test $? -eq 0
done
check "kill: info ops recorded (a killed node leaves ops indeterminate)" bash -c \
  "grep -l 'start-kill' $store/*/*/history.jsonl | xargs grep -q '\"type\":\"info\",\"f\":\"\\(read\\|write\\|cas\\)\"'"

# SIGKILL of the controller itself (not a wrapper) mid-run, during a fault.
# `latest` still names the run before until this one has made its folder:
# wait for a new one (under load, setup takes longer than the first poll).
before=$(readlink -f "$store/latest")
"$chaos" run --test-cluster --store "$store" --nemesis partition,pause \
  --time-limit 60 --nemesis-interval 2 --seed 7 >"$tmp/killed.out" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  sleep 1
  now=$(readlink -f "$store/latest")
  [ "$now" != "$before" ] &&
    grep -q "start-partition\|start-pause" "$now/history.jsonl" 2>/dev/null &&
    grep -q '"stop-' "$now/history.jsonl" 2>/dev/null && break
done
sleep 3
kill -9 $pid
wait $pid 2>/dev/null
run=$(readlink -f "$store/latest")
check "killed controller: history on disk" test -s "$run/history.jsonl"
"$chaos" analyze "$run" >/dev/null
rc=$?
check "killed controller: analyze checks it (exit $rc)" test $rc -le 2
timeout 400 "$chaos" run --test-cluster --store "$store" --nemesis none --time-limit 5 \
  --seed 8 >"$tmp/after.out" 2>&1
rc=$?
check "next run heals leftovers and is valid (exit $rc)" test $rc -eq 0
check "nothing left partitioned or paused" healed

finish
