#!/usr/bin/env bash
# Mutation testing of the Paxos core: builds and runs mutants of
# target/core/*.cc against the core's unit and scenario tests and against the
# simulator, and classifies each (bench/mutate/README.md).
#
#   bench/mutate/run.sh [--seed 1] [--count 100] [--runs3 200] [--runs5 100]
#                       [--runs-none 50] [--sim-seed 1] [--timeout 180] [--out DIR] [--only 3,17]
#                       [--store DIR]
#                       [--files "target/core/core.cc ..."]
#
# --count N   stop after N mutants that compile (the listing is walked in the
#             seed's order; mutants that do not compile are counted and skipped)
# --only IDS  run just these ids of the listing (replay)
# --store DIR also write the run's page to DIR/mutate/<time>/summary.html
#             (`chaos serve --store DIR` lists it)
# Writes DIR (default store/mutate/<seed>-<time>/): mutants.tsv (the whole
# listing), results.tsv (one row per mutant tried), summary.md, logs/<id>.*.
# Every step is bounded: the build, the tests and each simulator run by
# --timeout seconds (a simulator run past it is "timeout"). The mutated
# sources live in a copy of the repository's HEAD under DIR/tree; the
# working tree is never touched.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seed=1 count=100 runs3=200 runs5=100 runs_none=50 sim_seed=1 timeout_s=180 out="" only="" store=""
files="target/core/core.cc target/core/state_machine.cc target/core/types.cc"
while (($# > 0)); do
  case "$1" in
    --seed) seed=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --runs3) runs3=$2; shift 2 ;;
    --runs5) runs5=$2; shift 2 ;;
    --runs-none) runs_none=$2; shift 2 ;;
    --sim-seed) sim_seed=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    *) echo "mutate: unknown argument $1" >&2; exit 3 ;;
  esac
done
[[ -n "$out" ]] || out="$root/store/mutate/$seed-$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
log() { printf 'mutate: %s\n' "$*" >&2; }

# The tool that lists and applies mutants, from the repository's own build.
tool="$root/build/bench/chaos_mutate"
ninja -C "$root/build" chaos_mutate >/dev/null || { log "cannot build chaos_mutate"; exit 3; }

# A pristine copy of HEAD, and a build of just what the mutants need.
commit=$(git -C "$root" rev-parse HEAD)
tree="$out/tree"
if [[ ! -d "$tree" ]]; then
  mkdir -p "$tree"
  git -C "$root" archive "$commit" | tar -x -C "$tree"
fi
mkdir -p "$out/pristine"
for f in $files; do mkdir -p "$out/pristine/$(dirname "$f")"; cp "$tree/$f" "$out/pristine/$f"; done
(cd "$tree" && "$tool" list --seed "$seed" $files) >"$out/mutants.tsv"
log "commit $commit, $(wc -l <"$out/mutants.tsv") mutants listed (seed $seed) in $out"

# The build folder inside the tree, as build/ is in a checkout, so the
# compiler sees the paths it sees there and ccache serves the unmutated files.
build="$tree/build"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$tree" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCHAOS_UNIT_ONLY=ON -DCHAOS_WERROR=OFF -DCHAOS_FOLDERS="base;history;checker;target" \
    >"$out/logs/configure.log" 2>&1 ||
    { log "configure failed: $out/logs/configure.log"; exit 3; }
fi
targets=(chaos_sim_run core_test)
export CCACHE_BASEDIR="$tree" CCACHE_NOHASHDIR=true

restore() { for f in $files; do cp "$out/pristine/$f" "$tree/$f"; done; }
trap restore EXIT

# sim NODES RUNS LOG [FAULTS] -> prints killed | survived | timeout
sim() {
  local rc=0
  timeout "$timeout_s" "$build/target/sim/chaos_sim_run" "$sim_seed" "$2" "$1" "${4:-all}" - first \
    >"$3" 2>&1 || rc=$?
  case $rc in
    0) echo survived ;;
    124) echo timeout ;;
    *) echo killed ;;  # 1: a run failed (agreement, linearizability, liveness); else a CHECK or a crash
  esac
}
# tests LOG -> killed | survived | timeout
tests() {
  local rc=0
  # The scripted scenarios are read from the mutated tree, whatever the
  # caller's directory (CHAOS_SOURCE_DIR, else the working directory).
  CHAOS_SOURCE_DIR="$tree" timeout "$timeout_s" "$build/target/core/core_test" >"$1" 2>&1 || rc=$?
  case $rc in 0) echo survived ;; 124) echo timeout ;; *) echo killed ;; esac
}

# The unmutated core must build, pass its tests and pass the simulator, or
# no mutant's result means anything.
restore
timeout 1800 ninja -C "$build" "${targets[@]}" >"$out/logs/baseline.build.log" 2>&1 ||
  { log "the unmutated core does not build: $out/logs/baseline.build.log"; exit 3; }
[[ $(tests "$out/logs/baseline.tests.log") == survived ]] ||
  { log "the unmutated core fails its tests: $out/logs/baseline.tests.log"; exit 3; }
for n in 3 5; do
  runs=$runs3; [[ $n == 5 ]] && runs=$runs5
  [[ $(sim $n "$runs" "$out/logs/baseline.sim$n.log") == survived ]] ||
    { log "the unmutated core fails the simulator: $out/logs/baseline.sim$n.log"; exit 3; }
done
[[ $(sim 3 "$runs_none" "$out/logs/baseline.none.log" none) == survived ]] ||
  { log "the unmutated core fails the simulator without faults: $out/logs/baseline.none.log"; exit 3; }
log "baseline clean: tests pass, simulator $runs3 seeds x 3 nodes, $runs5 x 5 nodes, $runs_none without faults"

printf 'id\tfile\tline\top\toriginal\treplacement\tfunction\tcompiled\ttests\tsim3\tsim5\tverdict\tfirst_failure\tsim_none\n' \
  >"$out/results.tsv"
compiled=0
while IFS= read -r row; do
  id=${row%%$'\t'*}
  if [[ -n "$only" ]]; then
    [[ ",$only," == *",$id,"* ]] || continue
  elif ((compiled >= count)); then
    break
  fi
  # Split on every tab (read would merge the empty replacement of a deletion).
  mapfile -t field < <(tr '\t' '\n' <<<"$row")
  file=${field[1]} line=${field[2]} op=${field[4]} original=${field[5]}
  replacement=${field[6]} function=${field[7]}
  restore
  if ! "$tool" apply "$tree" <<<"$row" 2>"$out/logs/$id.apply.log"; then
    log "mutant $id: cannot apply"; continue
  fi
  t0=$SECONDS
  if ! timeout 900 ninja -C "$build" "${targets[@]}" >"$out/logs/$id.build.log" 2>&1; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tno\t-\t-\t-\tuncompiled\t\t-\n' "$id" "$file" "$line" "$op" \
      "$original" "$replacement" "$function" >>"$out/results.tsv"
    log "mutant $id ($file:$line $op): does not compile"
    continue
  fi
  rm -f "$out/logs/$id.build.log"
  compiled=$((compiled + 1))
  t=$(tests "$out/logs/$id.tests.log")
  s3=$(sim 3 "$runs3" "$out/logs/$id.sim3.log")
  s5=$(sim 5 "$runs5" "$out/logs/$id.sim5.log")
  s0=$(sim 3 "$runs_none" "$out/logs/$id.none.log" none)
  if [[ $s3 == killed || $s5 == killed || $s0 == killed ]]; then
    verdict=killed
  elif [[ $s3 == timeout || $s5 == timeout || $s0 == timeout ]]; then
    verdict=timeout
  else
    verdict=survived
  fi
  first=$(grep -h -m1 -E 'FAILED|CHECK|Assertion|terminate' "$out/logs/$id.sim3.log" \
    "$out/logs/$id.sim5.log" "$out/logs/$id.none.log" 2>/dev/null | head -1 | tr '\t' ' ' |
    cut -c1-200 || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tyes\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$file" "$line" "$op" \
    "$original" "$replacement" "$function" "$t" "$s3" "$s5" "$verdict" "$first" "$s0" \
    >>"$out/results.tsv"
  log "mutant $id ($file:$line $op '$original' -> '$replacement'): tests $t, sim3 $s3, sim5 $s5, none $s0" \
    "($((SECONDS - t0)) s)"
done <"$out/mutants.tsv"
restore

# The summary: counts, the score, survivors by function.
awk -F'\t' -v seed="$seed" -v commit="$commit" -v runs3="$runs3" -v runs5="$runs5" \
  -v sim_seed="$sim_seed" -v runs_none="$runs_none" '
  NR == 1 { next }
  $8 == "no" { uncompiled++; next }
  {
    n++
    if ($9 == "killed") tests++
    if ($12 == "killed") sim++
    if ($12 == "killed" && $9 != "killed") sim_only++
    if ($12 == "timeout") timeouts++
    if ($9 == "killed" || $12 == "killed") any++
    if ($12 == "survived") { survived++; by_fn[$7]++; if ($9 != "killed") unseen[$7]++ }
  }
  END {
    printf "# Mutation testing of target/core\n\n"
    printf "commit %s, mutant seed %d, simulator seeds %d.. (%d runs at 3 nodes, %d at 5, %d at 3 without faults)\n\n", commit, seed, sim_seed, runs3, runs5, runs_none
    printf "| mutants that compile | did not compile | killed by the unit and scenario tests | killed by the simulator | by the simulator only | killed by either | survived the simulator | timed out |\n"
    printf "|---|---|---|---|---|---|---|---|\n"
    printf "| %d | %d | %d | %d | %d | %d | %d | %d |\n\n", n, uncompiled, tests, sim, sim_only, any, survived, timeouts
    if (n > 0) printf "Simulator score: %.1f %% (killed / compiled); with the tests: %.1f %%.\n\n", 100 * sim / n, 100 * any / n
    printf "Survivors of the simulator by function (of which the tests do not kill either):\n\n"
    for (f in by_fn) printf "- %s: %d (%d)\n", (f == "" ? "(file scope)" : f), by_fn[f], unseen[f] + 0
  }' "$out/results.tsv" >"$out/summary.md"
cat "$out/summary.md"
if [[ -n "$store" ]]; then
  page="$store/mutate/$(date -u +%Y%m%dT%H%M%S)"
  mkdir -p "$page"
  cp "$out/results.tsv" "$out/mutants.tsv" "$out/summary.md" "$page/"
  "$tool" page --results "$out/results.tsv" --out "$page/summary.html" \
    --title "mutants of target/core at ${commit:0:12}, listing seed $seed"
  log "page: $page/summary.html"
fi
