#!/usr/bin/env bash
# Runs a real program, sqlite3, on chaos-lazyfs and proves three things:
# commits made with synchronous=EXTRA all survive a drop; commits made with
# synchronous=OFF (never fsynced) are lost by a drop; and a sqlite3 (EXTRA) killed
# with SIGKILL in the middle of a stream of transactions, followed by a drop,
# leaves a database that passes integrity_check with its invariant intact
# (every transfer is all or nothing) and every transfer it reported committed.
set -uo pipefail
source "$(dirname "$0")/../../scripts/test-lib.sh"
lazyfs=$1
command -v sqlite3 >/dev/null || { echo "FAIL sqlite3 is not installed (apt-get install sqlite3)"; exit 1; }
tmp=$(mktemp -d /tmp/lazyfs-sqlite-XXXXXX)
mnt=$tmp/mnt
sock=$tmp/ctl.sock
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/backing" "$mnt"
"$lazyfs" "$tmp/backing" "$mnt" --control "$sock" --log-file "$tmp/lazyfs.log" || {
  echo "FAIL cannot mount chaos-lazyfs (is /dev/fuse there?)"
  exit 1
}
db=$mnt/test.db
sql() { timeout 60 sqlite3 "$db" "$@"; }

# 1. synchronous=EXTRA (journal deletion also dir-synced): every commit is durable.
sql "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
for i in $(seq 1 40); do
  sql "PRAGMA synchronous=EXTRA; INSERT INTO t(v) VALUES ('row $i');"
done
"$lazyfs" ctl "$sock" drop >"$tmp/drop1"
check "EXTRA: 40 committed rows survive a drop ($(sql 'SELECT count(*) FROM t'))" \
  test "$(sql 'SELECT count(*) FROM t')" = 40
check "EXTRA: integrity_check ok" test "$(sql 'PRAGMA integrity_check')" = ok

# 2. synchronous=OFF: sqlite never fsyncs, so a drop takes every one of them.
for i in $(seq 1 20); do
  sql "PRAGMA synchronous=OFF; INSERT INTO t(v) VALUES ('unsynced $i');"
done
check "OFF: 60 rows before the drop" test "$(sql 'SELECT count(*) FROM t')" = 60
"$lazyfs" ctl "$sock" drop >"$tmp/drop2"
check "OFF: the drop reports bytes lost ($(cat "$tmp/drop2"))" \
  grep -q '"write_bytes":[1-9]' "$tmp/drop2"
check "OFF: back to the 40 synced rows ($(sql 'SELECT count(*) FROM t'))" \
  test "$(sql 'SELECT count(*) FROM t')" = 40
check "OFF: integrity_check ok" test "$(sql 'PRAGMA integrity_check')" = ok

# 3. SIGKILL mid-stream (synchronous=EXTRA), then a drop: atomic transfers.
sql "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER);
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<10)
     INSERT INTO acct SELECT i, 100 FROM n;
     CREATE TABLE xfer(id INTEGER PRIMARY KEY);" >/dev/null
"$lazyfs" ctl "$sock" sync >/dev/null
{
  echo "PRAGMA synchronous=EXTRA;"
  for i in $(seq 1 3000); do
    a=$((i % 10 + 1)); b=$(((i * 7) % 10 + 1))
    echo "BEGIN; UPDATE acct SET bal=bal-3 WHERE id=$a; UPDATE acct SET bal=bal+3 WHERE id=$b;"
    echo "INSERT INTO xfer VALUES ($i); COMMIT; SELECT 'committed $i';"
  done
} >"$tmp/stream.sql"
stdbuf -oL sqlite3 "$db" <"$tmp/stream.sql" >"$tmp/stream.out" 2>&1 &
pid=$!
sleep 1.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
reported=$(grep -c '^committed' "$tmp/stream.out")
"$lazyfs" ctl "$sock" drop >"$tmp/drop3"
echo "     killed after $reported reported commits; drop: $(cat "$tmp/drop3")"
check "crash: integrity_check ok" test "$(sql 'PRAGMA integrity_check')" = ok
check "crash: the balances still sum to 1000 ($(sql 'SELECT sum(bal) FROM acct'))" \
  test "$(sql 'SELECT sum(bal) FROM acct')" = 1000
kept=$(sql 'SELECT count(*) FROM xfer')
check "crash: every reported commit survived ($kept kept >= $reported reported)" \
  test "$kept" -ge "$reported"
check "crash: some transfers ran before the kill" test "$kept" -gt 0

finish
