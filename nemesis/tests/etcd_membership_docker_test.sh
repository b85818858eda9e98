#!/usr/bin/env bash
# Proves the membership nemesis against etcd on the docker test cluster: a
# 45 s run under membership, partition and kill with linearizable reads is
# valid; its history records membership changes made through etcd's own
# Cluster API (a voter removed, a node added as learner and promoted) and
# their undoing; etcd's logs show a learner added and promoted; and the run
# leaves a healthy cluster of 5 voters (each member's /health, and the
# member list through etcd's JSON gateway, after --leave-db-running).
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin

seed=2111
out=$tmp/out-$seed
timeout 600 "$chaos" run --test-cluster --store "$store" --adapter etcd \
  --nemesis membership,partition,kill --time-limit 45 --nemesis-interval 4 --recovery-time 3 \
  --seed "$seed" --leave-db-running >"$out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
h=$run/history.jsonl
echo "     seed $seed: exit $rc: $(tail -1 "$out")"
check "etcd membership,partition,kill: valid, exit 0 (got $rc)" test $rc -eq 0
made=$(grep '"f":"start-membership"' "$h" | grep -c '"voters_after"')
failed=$(grep '"f":"st[a-z]*-membership"' "$h" | grep -c '"error"')
echo "     start-membership: $made made; membership ops with an error: $failed"
membership_history_checks "$h" 5
check "some change added a learner and promoted it" bash -c \
  "grep '\"f\":\"st[a-z]*-membership\"' '$h' | grep -q '\"learner n[0-9]*\",\"promote n[0-9]*\"'"
# etcd 3.4's lines: raft's "switched to configuration voters=(...)
# learners=(<id>)" once a learner is added, "msg":"promote member" once it
# is promoted.
check "etcd applied a membership with a learner" bash -c \
  "cat '$run'/nodes/*/etcd.log | grep -q 'switched to configuration voters=([0-9 ]*) learners=([0-9]'"
check "etcd promoted a learner" bash -c \
  "cat '$run'/nodes/*/etcd.log | grep -q '\"msg\":\"promote member\"'"

# The cluster the run left (--leave-db-running): every member healthy, 5
# members and no learner, asked over HTTP (bash's /dev/tcp, no curl needed)
# at each node's published client port (docker/cluster.h: 43400 + 1000 *
# slot + i).
http() {  # port method path body
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" &&
    printf "%s %s HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" "$1" "$2" "${#3}" "$3" >&3 &&
    cat <&3' "$@"
}
base=$((43400 + 1000 * ${CHAOS_TEST_SLOT:-0}))
healthy=0
for i in 1 2 3 4 5; do
  if http $((base + i)) GET /health "" | grep -q '"health":"true"'; then
    healthy=$((healthy + 1))
  fi
done
check "5 members healthy after the run (got $healthy)" test "$healthy" -eq 5
list=$(http $((base + 1)) POST /v3/cluster/member/list '{}' | tail -1)
members=$(echo "$list" | grep -o '"peerURLs"' | wc -l)
check "etcd lists 5 members (got $members: $(echo "$list" | cut -c1-200))" test "$members" -eq 5
check "no member is a learner" bash -c "! echo '$list' | grep -q '\"isLearner\":true'"
"$chaos" analyze "$run" >/dev/null
check "analyze agrees (valid)" test $? -eq 0

finish
