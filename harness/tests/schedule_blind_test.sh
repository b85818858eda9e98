#!/usr/bin/env bash
# Proves the fault schedules cannot know which --bug is set: no code (comments
# aside) in nemesis/ or generator/ mentions a bug, and harness/runner.cc reads
# options_.bugs only to name the test, to record it in test.json, and to hand
# it to the adapter (which starts the register with it). Any other read, e.g.
# a schedule that picked its faults by bug, fails this test.
set -uo pipefail
root=$1
. "$root/scripts/test-lib.sh"
code_mentions() {  # FILE... -> "file:line: code" for code (not comments) naming a bug
  python3 - "$@" <<'PY'
import re, sys
for path in sys.argv[1:]:
    text = open(path).read()
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group().count('\n'), text, flags=re.S)
    for n, line in enumerate(text.split('\n'), 1):
        code = re.sub(r'//.*', '', line)
        if re.search(r'bug', code, re.I):
            print(f"{path}:{n}: {line.strip()}")
PY
}
files=$(ls "$root"/nemesis/*.h "$root"/nemesis/*.cc "$root"/generator/*.h "$root"/generator/*.cc)
check "the folders to search exist ($(echo "$files" | wc -l) files)" test "$(echo "$files" | wc -l)" -ge 10
out=$(code_mentions $files)
[[ -n $out ]] && echo "$out"
check "nemesis/ and generator/ never mention a bug in code" test -z "$out"
reads=$(code_mentions "$root/harness/runner.cc")
echo "$reads"
allowed='test_name \+= "-bug-"|\{"bug", options_\.bugs|actx\.bugs = options_\.bugs;'
check "harness/runner.cc reads options_.bugs (found $(echo "$reads" | grep -c .))" \
  test "$(echo "$reads" | grep -c .)" -ge 1
check "harness/runner.cc reads it only to name, record and start the system" \
  test -z "$(echo "$reads" | grep -Ev "$allowed")"
finish
