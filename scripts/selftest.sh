#!/usr/bin/env bash
# The test command (./chaos selftest), run as is by CI (.ci/run):
#   1. clang-format check of every C++ file we wrote;
#   2. the release build (build/) and every ctest test but docker and fuzz;
#   3. the asan-ubsan build (build-asan/, clang): unit tests (but those
#      labelled heavy) and the libFuzzer targets, 30 s each;
#   4. docker-labelled tests against a real cluster (they fail with a clear
#      message when the engine is missing, unless CHAOS_SKIP_DOCKER=1).
# Ends with one line: "selftest: N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
passed=0
failed=0
failures=()

stage() { printf '\n=== %s\n' "$*"; }
record() {  # record NAME PASSED FAILED
  passed=$((passed + $2))
  failed=$((failed + $3))
  if (($3 > 0)); then failures+=("$1"); fi
}

# Runs ctest and adds its counts to the totals.
run_ctest() {
  local name=$1
  shift
  local log
  log=$(mktemp)
  ctest "$@" --output-on-failure 2>&1 | tee "$log"
  local line
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [[ -z "$line" ]]; then
    if grep -q "No tests were found" "$log"; then
      echo "($name: no tests)"
    else
      record "$name (ctest did not finish)" 0 1
    fi
  else
    local failed_n total_n
    failed_n=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total_n=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
    record "$name" $((total_n - failed_n)) "$failed_n"
  fi
  rm -f "$log"
}

stage "format: clang-format --dry-run on our C++ files"
mapfile -t sources < <(git ls-files '*.cc' '*.h' | grep -v '^third_party/')
if clang-format --dry-run --Werror "${sources[@]}" 2>/tmp/chaos-format.log; then
  record format 1 0
  echo "format ok (${#sources[@]} files)"
else
  head -40 /tmp/chaos-format.log
  record format 0 1
fi

stage "release build (build/)"
if [[ ! -f build/build.ninja ]]; then cmake --preset release >/dev/null || record "configure release" 0 1; fi
if ninja -C build; then
  stage "release tests (all labels but docker and fuzz)"
  run_ctest release --test-dir build -LE 'docker|fuzz' -j2
else
  record "release build" 0 1
fi

stage "asan-ubsan build (build-asan/, clang)"
if [[ ! -f build-asan/build.ninja ]]; then cmake --preset asan-ubsan >/dev/null || record "configure asan" 0 1; fi
if ninja -C build-asan; then
  stage "asan-ubsan unit tests and fuzzers"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest asan-ubsan --test-dir build-asan -L 'unit|fuzz' -LE heavy -j2
else
  record "asan-ubsan build" 0 1
fi

stage "docker tests"
if [[ "${CHAOS_SKIP_DOCKER:-}" == 1 ]]; then
  echo "CHAOS_SKIP_DOCKER=1: docker-labelled tests skipped"
elif ! docker info >/dev/null 2>&1; then
  echo "chaos: the Docker engine is not reachable (docker info failed); docker-labelled tests"
  echo "       need it. Start it, or set CHAOS_SKIP_DOCKER=1 to skip them explicitly."
  record "docker (engine missing)" 0 1
else
  run_ctest docker --test-dir build -L docker
fi

echo
if ((${#failures[@]} > 0)); then echo "failed stages: ${failures[*]}"; fi
echo "selftest: $passed passed, $failed failed"
((failed == 0))
