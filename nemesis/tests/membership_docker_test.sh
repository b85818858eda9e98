#!/usr/bin/env bash
# Proves the membership nemesis against the docker test cluster: a 45 s run
# of the correct register under membership, partition and kill is valid; its
# history records membership changes (the mode, the node, the voters before
# and after) and their undoing; the register's own logs show the membership
# it applied change; and the run ends with every node a voter again.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin

seed=2101
out=$tmp/out-$seed
timeout 600 "$chaos" run --test-cluster --store "$store" --nemesis membership,partition,kill \
  --time-limit 45 --nemesis-interval 4 --recovery-time 3 --seed "$seed" >"$out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
h=$run/history.jsonl
echo "     seed $seed: exit $rc: $(tail -1 "$out")"
check "membership,partition,kill: valid, exit 0 (got $rc)" test $rc -eq 0
membership_history_checks "$h" 5
check "membership changes were undone" bash -c \
  "grep '\"f\":\"stop-membership\"' '$h' | grep -q '\"steps\":\\[\"learner '"
# Its log lines read "membership: voters=[0@inc 1@inc 2@inc 3@inc] learners=[4]".
check "the register applied a membership with fewer than 5 voters" bash -c \
  "cat '$run'/nodes/*/register.log | grep -o 'membership: voters=\\[[^]]*\\]' |
   awk '{ if (NF < 6) found = 1 } END { exit !found }'"
check "the register applied a membership with a learner" bash -c \
  "cat '$run'/nodes/*/register.log | grep -q 'membership: .*learners=\\[[0-9]'"
"$chaos" analyze "$run" >/dev/null
check "analyze agrees (valid)" test $? -eq 0

finish
