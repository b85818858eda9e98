#!/usr/bin/env bash
# `chaos bench` without a cluster, on the memory adapter: exit 0, one row per
# (op, concurrency) in the markdown table and in the JSON, each with ok
# completions and no fail or info, and the table's and the JSON's fields
# exactly as documented (their format is what bench/RESULTS.md and scripts read).
set -uo pipefail
chaos=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../../scripts/test-lib.sh"

"$chaos" bench --adapter memory --concurrency 1,4 --ops put,get,cas --time 0.3s --warmup 0 \
  --out "$tmp/bench.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "exit 0 (got $rc: $(tail -1 "$tmp/err"))" test "$rc" -eq 0
check "table header" grep -qx '| adapter | op | concurrency | ops/s | p50 ms | p99 ms | ok | fail | info |' "$tmp/out"
check "table alignment row" grep -qx '|---|---|---:|---:|---:|---:|---:|---:|---:|' "$tmp/out"
rows=$(grep -c '^| memory | ' "$tmp/out")
check "6 table rows (got $rows)" test "$rows" -eq 6
check "says where the JSON is" grep -q "written: $tmp/bench.json" "$tmp/out"
check "JSON: options, rows and their fields" python3 -c "
import json, sys
b = json.load(open('$tmp/bench.json'))
keys = {'adapters', 'concurrency', 'ops', 'seconds', 'warmup_s', 'op_timeout_ms',
        'adapter_options', 'read_mode', 'rows', 'command_line', 'nodes'}
assert set(b) == keys, sorted(set(b) ^ keys)
assert b['adapters'] == ['memory'] and b['concurrency'] == [1, 4], b
assert b['ops'] == ['put', 'get', 'cas'] and b['seconds'] == 0.3, b
rows = b['rows']
assert len(rows) == 6, len(rows)
fields = {'adapter', 'op', 'concurrency', 'ops_per_s', 'p50_ms', 'p99_ms', 'ok', 'fail', 'info'}
for r in rows:
    assert set(r) == fields, sorted(set(r) ^ fields)
    assert r['adapter'] == 'memory' and r['op'] in ('put', 'get', 'cas'), r
    assert r['ok'] > 0 and r['fail'] == 0 and r['info'] == 0, r
    assert r['ops_per_s'] > 0 and 0 <= r['p50_ms'] <= r['p99_ms'], r
assert sorted((r['op'], r['concurrency']) for r in rows) == sorted(
    (o, c) for o in ('put', 'get', 'cas') for c in (1, 4)), rows
"

"$chaos" bench --adapter memory --ops put,scan --time 1s >/dev/null 2>"$tmp/err"
rc=$?
check "unknown op: exit 3 (got $rc)" test "$rc" -eq 3
check "unknown op: one line naming it" grep -q "unknown op 'scan'" "$tmp/err"

finish
