#!/usr/bin/env bash
# Proves, against the docker test cluster: after an invalid run each node's
# data directory is downloaded into the store (nodes/<n>/data.tar.gz, holding
# what the system wrote), and --leave-db-running leaves the system running on
# the nodes (the next run's setup stops it). The system is a declarative
# "register" that lies: writes go to files in its data directory, reads
# always answer 7, so any write of another value makes the history invalid.
# And --adapter-option binary=PATH puts that file on the register's nodes.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin

cat >"$tmp/liar.json" <<'JSON'
{"name": "liar", "nodes": "first",
 "setup": ["rm -rf {data_dir}", "mkdir -p {data_dir}"],
 "start": "sleep 86400", "process": "sleep", "data_dir": "/var/lib/chaos-liar",
 "faults": ["partition"],
 "client": {
   "read":  {"command": "echo 7", "outcomes": [{"stdout": "(7)", "type": "ok"}]},
   "write": {"command": "echo {value} > /var/lib/chaos-liar/{key}",
             "outcomes": [{"exit": 0, "type": "ok"}, {"type": "fail"}]},
   "cas":   {"command": "exit 1", "outcomes": [{"type": "fail"}]}}}
JSON
timeout 300 "$chaos" run --test-cluster --store "$store" --adapter "$tmp/liar.json" \
  --time-limit 4 --recovery-time 0 --concurrency 2 --seed 5 --leave-db-running \
  >"$tmp/liar.out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
check "liar: invalid, exit 1 (got $rc; $(grep -v '^chaos:' "$tmp/liar.out" | head -1))" test $rc -eq 1
check "liar: the data directory is in the store" test -s "$run/nodes/n1/data.tar.gz"
check "liar: it holds the written keys" bash -c \
  "tar -tzf '$run/nodes/n1/data.tar.gz' | grep -qE '^\./[0-9]+$'"
check "liar: chaos.log says what was downloaded" grep -q "data directory /var/lib/chaos-liar of n1: .* downloaded" \
  "$run/chaos.log"
check "liar: no data from nodes the system does not run on" test ! -e "$run/nodes/n2/data.tar.gz"
first=$cluster-n1
check "--leave-db-running: the daemon still runs on n1" docker exec "$first" pgrep -x sleep
check "--leave-db-running: said so" grep -q "leaving liar running on the nodes" "$tmp/liar.out"

# Without the flag the run tears the system down.
timeout 300 "$chaos" run --test-cluster --store "$store" --adapter "$tmp/liar.json" \
  --time-limit 2 --recovery-time 0 --concurrency 2 --seed 6 >"$tmp/liar2.out" 2>&1
check "without --leave-db-running: torn down" bash -c "! docker exec '$first' pgrep -x sleep"

# --adapter-option binary=PATH: the register's nodes run that file, not the
# build's (a copy made to differ by trailing bytes an ELF loader ignores).
mkdir -p "$tmp/other"
cp "$(dirname "$chaos")/target/server/chaos-register" "$tmp/other/chaos-register"
echo "another build" >>"$tmp/other/chaos-register"
timeout 300 "$chaos" run --test-cluster --store "$store" --nemesis none --time-limit 3 \
  --recovery-time 0 --concurrency 2 --seed 7 --adapter-option "binary=$tmp/other/chaos-register" \
  >"$tmp/binary.out" 2>&1
rc=$?
check "binary=PATH: valid, exit 0 (got $rc; $(grep -v '^chaos:' "$tmp/binary.out" | head -1))" \
  test $rc -eq 0
want=$(md5sum <"$tmp/other/chaos-register")
check "binary=PATH: the node runs the given file" \
  test "$(docker exec "$first" sh -c 'md5sum </opt/chaos/chaos-register')" == "$want"
check "binary=PATH: the test is one folder named after it" \
  test -d "$store/register-binary-other-chaos-register-none"

finish
