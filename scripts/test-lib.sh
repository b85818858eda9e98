# Sourced by the shell tests: `check WHAT COMMAND...` runs the command, prints
# "ok   WHAT" or "FAIL WHAT", and counts failures in $fails; end a test with
# `finish`, which prints the count and exits non-zero if any check failed.
fails=0
check() {
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
finish() {
  echo "$fails failed"
  exit $((fails > 0))
}

# For docker-labelled tests (needs $chaos): exits 0 with "skipped" when the
# engine is missing and CHAOS_SKIP_DOCKER=1, fails clearly when it is missing
# otherwise; sets $tmp (removed at exit), $store, and $cluster (this
# checkout's test cluster, chaos-test<CHAOS_TEST_SLOT>), and takes that
# cluster down at exit.
docker_test_begin() {
  if ! docker info >/dev/null 2>&1; then
    if [[ ${CHAOS_SKIP_DOCKER:-} == 1 ]]; then
      echo "skipped: CHAOS_SKIP_DOCKER=1"
      exit 0
    fi
    echo "FAIL: the docker engine is not reachable (set CHAOS_SKIP_DOCKER=1 to skip)"
    exit 1
  fi
  tmp=$(mktemp -d)
  store=$tmp/store
  cluster=chaos-test${CHAOS_TEST_SLOT:-}
  trap '"$chaos" cluster down --test-cluster >/dev/null 2>&1; rm -rf "$tmp"' EXIT
}

# For the membership nemesis's docker tests, on history $1 of a run on
# $2 nodes: prints the first changes, and checks that changes were recorded
# with the mode, the node and the voters before and after, that one removed
# a voter, and that the last stop left every node a voter.
membership_history_checks() {
  local h=$1 nodes=$2 last voters
  grep '"f":"start-membership"' "$h" | grep '"voters_before"' | head -3 | cut -c1-300 |
    sed 's/^/     /'
  check "membership changes recorded with mode, node and voters" bash -c \
    "grep '\"f\":\"start-membership\"' '$h' | grep '\"voters_before\"' | grep '\"node\"' |
     grep -q '\"voters_after\"'"
  check "some change removed a voter" bash -c \
    "grep '\"f\":\"start-membership\"' '$h' | grep -q '\"steps\":\\[\"remove '"
  last=$(grep '"f":"stop-membership"' "$h" | grep '"voters_after"' | tail -1)
  voters=$(echo "$last" | grep -o '"voters_after":\[[^]]*\]' | grep -o '"n[0-9]*"' | wc -l)
  check "the last stop left $nodes voters (got $voters)" test "$voters" -eq "$nodes"
}
