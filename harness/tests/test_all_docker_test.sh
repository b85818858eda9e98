#!/usr/bin/env bash
# A slice of the validation matrix against the docker test cluster, through
# `chaos test-all`: the correct register under every nemesis at once stays
# valid, also under the stale-leader scenario, and three --bug switches are
# found (invalid) within a few seeds. The
# summary page and JSON agree with the runs.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin

# A bug cell passes when any of its seeds finds the bug: test-all records each
# seed; the README's table (4 of 5 seeds) comes from the full matrix.
cat >"$tmp/matrix.json" <<'JSON'
{"time_limit": 25, "recovery_time": 3, "nemesis_interval": 2, "seeds": 1,
 "cells": [
   {"name": "correct-all", "nemesis": "all"},
   {"name": "correct-stale-leader", "nemesis": "partition:stale-leader", "nemesis_interval": 3,
    "op_timeout": 100, "concurrency": 20},
   {"nemesis": "partition", "bug": "majority-off-by-one", "seeds": 3, "until_found": true},
   {"nemesis": "lose-unsynced:majority/all", "bug": "no-fsync", "seeds": 3, "until_found": true},
   {"nemesis": "partition:stale-leader", "bug": "forget-promise", "nemesis_interval": 3,
    "op_timeout": 100, "concurrency": 20, "seeds": 3, "until_found": true}
 ]}
JSON
timeout 900 "$chaos" test-all --test-cluster --matrix "$tmp/matrix.json" --store "$tmp/store" \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out"
check "test-all ran (exit $rc: 0 valid or 1 invalid; $(tail -1 "$tmp/err"))" test "$rc" -le 1
summary=$(ls -d "$tmp"/store/test-all/*/ 2>/dev/null | head -1)
check "summary.json and summary.html written" test -s "$summary/summary.json" -a -s "$summary/summary.html"
for i in 0 1; do
  check "correct cell $i: valid (every nemesis; the stale-leader scenario)" python3 -c "
import json
c = json.load(open('$summary/summary.json'))['cells'][$i]
assert c['runs'] and all(r['verdict'] == 'valid' for r in c['runs']), c
"
done
check "the stale-leader scenario restarted quorum - 1 nodes around a stalled leader" python3 -c "
import json, glob
run = sorted(glob.glob('$tmp/store/correct-stale-leader/*/history.jsonl'))[0]
starts = [json.loads(l) for l in open(run)]
starts = [o['value'] for o in starts if o['process'] == 'nemesis' and o['f'] == 'start-partition'
          and isinstance(o['value'], dict) and 'restarted' in o['value']]
assert starts, 'no stale-leader start completed'
v = starts[0]
assert len(v['restarted']) == 2 and v['stalled'] == [v['leader']], v
assert sorted(v['groups'][0]) == sorted([v['leader']] + v['restarted']), v
"
for i in 2 3 4; do
  check "bug cell $i: found in at least one seed" python3 -c "
import json
c = json.load(open('$summary/summary.json'))['cells'][$i]
print('   ', c['name'], [(r['seed'], r['verdict']) for r in c['runs']])
assert any(r['verdict'] == 'invalid' for r in c['runs']), c
"
done
finish
