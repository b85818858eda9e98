# Sourced by the CLI test scripts: `check DESCRIPTION COMMAND...` prints
# "ok   ..." or "FAIL ..." and counts failures in $fails; `finish` prints the
# count and exits 1 if any check failed.
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
