#!/bin/bash
# Proves: the reports work in a real browser with no network — Debian's
# headless chromium opens each stored run's report.html from file://, the
# page's own script raises no error, the verdict and the counterexample are in
# the rendered DOM, a screenshot is written, and the 1,000,000-op report is
# interactive (timeline drawn) within 10 s; the partition windows are labelled
# with the mode and groups the nemesis recorded. The store index is checked by
# reports_test (IndexNewestFirst); each chromium start costs seconds.
# usage: browser_test.sh REPORTS_FIXTURES CHROMIUM WORKDIR
set -euo pipefail
fixtures=$1 chromium=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
store=$work/store
lines=${CHAOS_REPORTS_LINES:-1000000}

start=$(date +%s.%N)
timeout 180 "$fixtures" "$store" "$lines" > "$work/reports.txt"
echo "fixtures and reports: $(echo "$(date +%s.%N) - $start" | bc) s"

fail=0
# Every flag that keeps the browser off the network and away from $HOME.
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions
  --disable-background-networking --disable-component-update --disable-sync
  --disable-default-apps --no-default-browser-check --disable-features=Translate,MediaRouter
  --proxy-server=socks5://127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND"
  --user-data-dir="$work/profile" --enable-logging=stderr --v=0 --window-size=1280,1800)

dom() {  # dom REPORT OUT: renders REPORT and writes its DOM to OUT; prints seconds
  local t0 t1
  t0=$(date +%s.%N)
  timeout 60 "$chromium" "${flags[@]}" --dump-dom "file://$1" > "$2" 2> "$2.stderr" || {
    echo "FAIL: chromium exited $? on $1"; cat "$2.stderr" | tail -5; fail=1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

check() {  # check FILE PATTERN WHAT
  if ! grep -q -- "$2" "$1"; then echo "FAIL: $3 ($2 not in $1)"; fail=1; else echo "ok: $3"; fi
}
check_clean() {  # the page's error trap stayed empty, chromium logged no console error
  check "$1" 'data-ready-ms="' "$2: timeline drawn"
  check "$1" '<pre id="chaos-errors" hidden=""></pre>' "$2: no script error in the page"
  if grep -E 'Uncaught|CONSOLE\(.*(Error|error)' "$1.stderr"; then
    echo "FAIL: $2: console error"; fail=1
  else echo "ok: $2: no console error"; fi
}

# The fault windows' labels as rendered: each names the mode and the groups
# the partition's completion recorded (two sides of the five nodes).
check_windows() {  # check_windows DOM NAME
  local labels
  labels=$(grep -oE '<g class="fault"><title>[^<]*</title>' "$1" | sed -E 's/<[^>]*>//g' || true)
  if [ -z "$labels" ]; then echo "FAIL: $2: no fault window"; fail=1; return; fi
  echo "$2: $(echo "$labels" | wc -l) fault windows, the first: $(echo "$labels" | head -1)"
  if echo "$labels" | grep -vqE '^partition halves( n[1-5]){1,4} \|( n[1-5]){1,4}$'; then
    echo "FAIL: $2: a window not labelled with its mode and groups:"
    echo "$labels" | grep -vE '^partition halves( n[1-5]){1,4} \|( n[1-5]){1,4}$' | head -3
    fail=1
  else echo "ok: $2: every window names its mode and groups"; fi
}

while read -r report; do
  name=$(basename "$(dirname "$(dirname "$report")")")
  out=$work/$name.dom.html
  secs=$(dom "$report" "$out")
  ready=$(grep -o 'data-ready-ms="[0-9]*"' "$out" | grep -o '[0-9]*' || echo none)
  echo "$name: loaded in ${secs}s, interactive after ${ready} ms, report $(du -h "$report" | cut -f1)"
  check_clean "$out" "$name"
  case $name in
    knossos-bad-analysis)
      check "$out" 'data-verdict="invalid">INVALID<' "$name: verdict"
      check "$out" '<section id="counterexample" data-op="14"' "$name: counterexample op 14"
      check "$out" 'read 2, but the register holds' "$name: why"
      timeout 60 "$chromium" "${flags[@]}" --screenshot="$work/report-invalid.png" \
        "file://$report" 2> "$work/screenshot.stderr" || true
      if [ -s "$work/report-invalid.png" ]; then echo "ok: screenshot $work/report-invalid.png"
      else echo "FAIL: no screenshot"; fail=1; fi ;;
    knossos-memstress3-0) check "$out" 'data-verdict="valid">VALID<' "$name: verdict" ;;
    register-unknown)
      check "$out" 'data-verdict="unknown">UNKNOWN<' "$name: verdict"
      check "$out" 'time-limit' "$name: cause"
      # 20,000 lines span about 16 s: one partition window, from 10 s.
      check_windows "$out" "$name" ;;
    register-partition)
      # A partition starts at 10 s: only long histories (the default) have one.
      if [ "$lines" -ge 200000 ]; then check_windows "$out" "$name"; fi
      if [ "$ready" = none ] || [ "$ready" -gt 10000 ]; then
        echo "FAIL: $name: not interactive within 10 s ($ready ms)"; fail=1
      else echo "ok: $name: interactive after $ready ms"; fi ;;
  esac
done < "$work/reports.txt"

exit $fail
