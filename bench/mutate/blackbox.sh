#!/usr/bin/env bash
# Runs mutants that the simulator killed black-box: each one's chaos-register
# is built, uploaded to the docker cluster in place of the correct one
# (--adapter-option binary=...), and tested under the default schedule by
# `chaos test-all`. The question: of the mutants the simulator finds, how
# many does a user's run find, knowing nothing about them?
#
# usage: bench/mutate/blackbox.sh --from DIR [--count 20] [--only 3,17]
#                                 [--seeds 2] [--seed 1] [--time-limit 120] [--out DIR2]
#                                 [--store DIR3] [--build-only]
#
# --from DIR    the output folder of a run.sh run (its tree, listing and
#               results); the mutants are its first COUNT rows the simulator
#               killed, in the listing's order (or the ids of --only)
# --store DIR3  where test-all keeps its runs and the page goes (default
#               DIR2/store; `chaos serve --store DIR3` lists the page)
# --build-only  build the binaries and write the matrix, run nothing
#
# Needs a running cluster (./chaos cluster up) and this checkout's build/
# (the controller and chaos-lazyfs). Output in DIR2 (default DIR/blackbox):
# tree/ (its own copy), bin/ID/chaos-register, matrix.json, summary.md (the
# cluster's rows); in the
# store, test-all's runs and mutate/<time>/summary.html (every mutant of the
# run.sh run, with the cluster's verdicts and links to the runs' reports).
set -euo pipefail

from="" count=20 only="" seeds=2 seed=1 time_limit=120 out="" store="" build_only=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --from) from=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --time-limit) time_limit=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    *) echo "blackbox.sh: unknown argument $1" >&2; exit 3 ;;
  esac
done
root=$(cd "$(dirname "$0")/../.." && pwd)
log() { echo "blackbox: $*" >&2; }
[[ -n "$from" && -f "$from/results.tsv" && -d "$from/tree" ]] ||
  { log "--from must name a run.sh output folder (results.tsv, tree/)"; exit 3; }
from=$(cd "$from" && pwd)
out=${out:-$from/blackbox}
mkdir -p "$out/bin" "$out/logs"
out=$(cd "$out" && pwd)
store=${store:-$out/store}
mkdir -p "$store"
store=$(cd "$store" && pwd)
# A tree of its own, a copy of run.sh's with the pristine core, so run.sh
# may go on mutating its own meanwhile.
tree="$out/tree"
if [[ ! -d "$tree" ]]; then
  mkdir -p "$tree"
  tar -C "$from/tree" --exclude=./build --exclude=./build-server -c . | tar -x -C "$tree"
fi
tool="$root/build/bench/chaos_mutate"
ninja -C "$root/build" chaos_mutate chaos >/dev/null || { log "cannot build chaos"; exit 3; }

# The chosen rows of results.tsv: killed by the simulator (column 12).
mapfile -t ids < <(awk -F'\t' -v only="$only" -v count="$count" '
  NR == 1 { next }
  only != "" { if (index("," only ",", "," $1 ",")) print $1; next }
  $12 == "killed" && n < count { print $1; n++ }' "$from/results.tsv")
((${#ids[@]} > 0)) || { log "no simulator-killed mutant in $from/results.tsv"; exit 3; }
log "${#ids[@]} mutants: ${ids[*]}"

# The server needs the whole build (gRPC, protobuf); warnings are not
# errors, as in run.sh's.
build="$tree/build"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$tree" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAOS_WERROR=OFF \
    >"$out/logs/configure.log" 2>&1 || { log "configure failed: $out/logs/configure.log"; exit 3; }
fi
export CCACHE_BASEDIR="$tree" CCACHE_NOHASHDIR=true
files=$(cut -f2 "$from/mutants.tsv" | sort -u)
restore() { for f in $files; do cp "$from/pristine/$f" "$tree/$f"; done; }
restore
timeout 3600 ninja -C "$build" chaos-register >"$out/logs/baseline.build.log" 2>&1 ||
  { log "the unmutated server does not build: $out/logs/baseline.build.log"; exit 3; }
mkdir -p "$out/bin/unmutated"
cp "$build/target/server/chaos-register" "$out/bin/unmutated/chaos-register"

built=()
for id in "${ids[@]}"; do
  row=$(awk -F'\t' -v id="$id" '$1 == id' "$from/mutants.tsv")
  restore
  if [[ -f "$out/bin/$id/chaos-register" ]]; then built+=("$id"); continue; fi
  "$tool" apply "$tree" <<<"$row" 2>"$out/logs/$id.apply.log" || { log "mutant $id: cannot apply"; continue; }
  if ! timeout 900 ninja -C "$build" chaos-register >"$out/logs/$id.build.log" 2>&1; then
    log "mutant $id: the server does not build ($out/logs/$id.build.log)"; continue
  fi
  mkdir -p "$out/bin/$id"
  cp "$build/target/server/chaos-register" "$out/bin/$id/chaos-register"
  built+=("$id")
  log "mutant $id: built"
done
restore

# One cell per mutant, the default schedule and nothing else: two-minute
# runs, the seeds from --seed, the cell ends at its first invalid run. The
# first cell is the unmutated tree's server, the control: it must be valid.
{
  printf '{"seeds": %d, "seed": %d, "time_limit": %s, "nemesis": "all", "expect": "invalid",\n' \
    "$seeds" "$seed" "$time_limit"
  printf ' "until_found": true, "stop_on_invalid": true, "cells": [\n'
  printf '  {"name": "unmutated", "expect": "valid", "until_found": false,\n'
  printf '   "adapter_options": {"binary": "%s"}}' "$out/bin/unmutated/chaos-register"
  sep=$',\n'
  for id in "${built[@]}"; do
    printf '%s  {"name": "mutant-%s", "adapter_options": {"binary": "%s"}}' "$sep" "$id" \
      "$out/bin/$id/chaos-register"
    sep=$',\n'
  done
  printf '\n]}\n'
} >"$out/matrix.json"
log "matrix: $out/matrix.json (${#built[@]} cells)"
((build_only)) && exit 0

rc=0
"$root/build/chaos" test-all --matrix "$out/matrix.json" --store "$store" \
  >"$out/logs/test-all.log" 2>&1 || rc=$?
summary=$(sed -n 's|^  summary: \(.*\)/summary.html$|\1/summary.json|p' "$out/logs/test-all.log")
[[ -f "$summary" ]] || { log "test-all wrote no summary (exit $rc): $out/logs/test-all.log"; exit 3; }

# The page under the store (beside test-all's runs, listed by `chaos serve`)
# and the cluster's rows as markdown.
page="$store/mutate/$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$page"
cp "$from/results.tsv" "$from/mutants.tsv" "$out/matrix.json" "$page/"
"$tool" page --results "$from/results.tsv" --blackbox "$summary" --out "$page/summary.html" \
  --markdown "$out/summary.md" --title "mutants of target/core on the cluster, default schedule"
cat "$out/summary.md"
log "page: $page/summary.html"
