#!/usr/bin/env bash
# Proves the history CLI: --help and version work, EDN <-> JSONL conversion
# keeps every op, and malformed input of every kind ends in exactly one line
# naming the file, the position and the problem, with exit status 3.
set -uo pipefail
chaos=$1
corpus=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../../scripts/test-lib.sh"

"$chaos" --help >/dev/null; check "--help exits 0" test $? -eq 0
check "version prints" bash -c "'$chaos' version | grep -q '^chaos '"

edn=$corpus/cas-register/bad/cas-failure.edn
"$chaos" history convert "$edn" "$tmp/a.jsonl" >/dev/null
check "convert edn -> jsonl" test $? -eq 0
"$chaos" history convert "$tmp/a.jsonl" "$tmp/b.edn" >/dev/null
check "convert jsonl -> edn" test $? -eq 0
check "590 ops survive the round trip" bash -c \
  "'$chaos' history stats --json '$tmp/b.edn' | grep -q '\"ops\": 590'"

# expect_bad NAME FILE PATTERN: exit 3, one stderr line, naming file and problem.
expect_bad() {
  local name=$1 file=$2 pattern=$3
  timeout 60 "$chaos" history stats "$file" >/dev/null 2>"$tmp/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/err")
  check "$name: exit 3 (got $rc)" test "$rc" -eq 3
  check "$name: one line (got $lines)" test "$lines" -eq 1
  check "$name: names file and problem ($(head -c 160 "$tmp/err"))" \
    grep -qE "$(basename "$file").*$pattern" "$tmp/err"
}
head -c 777 "$edn" >"$tmp/truncated.edn"
expect_bad "truncated edn" "$tmp/truncated.edn" "end of input|expected"
head -c 100000 /dev/urandom >"$tmp/random.edn"
expect_bad "random bytes edn" "$tmp/random.edn" ":[0-9]+:[0-9]+: "
head -c 100000 /dev/urandom >"$tmp/random.jsonl"
expect_bad "random bytes jsonl" "$tmp/random.jsonl" ":[0-9]+"
printf '[{:process 0, :type :invoke, :f :write, :value "abc}]\n' >"$tmp/unterminated.edn"
expect_bad "unterminated string" "$tmp/unterminated.edn" "1:.*unterminated string"
head -c 100000000 /dev/zero | tr '\0' 'x' | sed 's/^/{"process":0,"type":"invoke","value":"/' \
  >"$tmp/long.jsonl"
expect_bad "100 MB line" "$tmp/long.jsonl" "longer than 16 MiB"
python3 -c "print('[{:process 0, :type :invoke, :value ' + '[' * 100000)" >"$tmp/deep.edn"
expect_bad "nesting 100,000 deep edn" "$tmp/deep.edn" "nesting deeper than 1000"
python3 -c "print('[' * 100000)" >"$tmp/deep.jsonl"
expect_bad "nesting 100,000 deep jsonl" "$tmp/deep.jsonl" "nesting deeper than 1000"
expect_bad "missing file" "$tmp/nope.edn" "cannot open"
printf '{"process":0,"type":"ok","f":"read"}\n' >"$tmp/shape.jsonl"
expect_bad "completion without invocation" "$tmp/shape.jsonl" "no open invocation"

"$chaos" history stats --bogus-flag x 2>"$tmp/err" >/dev/null
rc=$?
check "a wrong flag: exit 3 (got $rc)" test $rc -eq 3
check "a wrong flag: one line" test "$(wc -l <"$tmp/err")" -eq 1

finish
