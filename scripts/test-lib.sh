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
