#!/bin/bash
# Proves: `chaos report RUN` re-renders a stored run's report, and `chaos serve`
# serves the index, a report and a zip over loopback while refusing paths
# outside the store (/../../etc/passwd and its encoded forms get 403 or 404).
# usage: cli_serve_test.sh CHAOS REPORTS_FIXTURES WORKDIR
set -euo pipefail
chaos=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
store=$work/store
timeout 120 "$fixtures" "$store" 2000 > /dev/null
run=$store/knossos-bad-analysis/20261128T213000
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

rm "$run/report.html"
"$chaos" report "$run" > "$work/report.out"
grep -q 'data-verdict="invalid"' "$run/report.html" && ok "chaos report rewrote report.html" || bad "chaos report"
"$chaos" report "$store/none" 2> /dev/null && bad "chaos report of a missing run succeeded" || ok "missing run refused"

"$chaos" serve --store "$store" --port 0 > "$work/serve.out" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true' EXIT
port=
for _ in $(seq 1 100); do  # at most 10 s for the server to say where it listens
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.out" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { bad "chaos serve did not start: $(cat "$work/serve.out")"; exit 1; }
base=http://127.0.0.1:$port
get() { curl -s --max-time 10 --path-as-is -o "$work/body" -w '%{http_code}' "$base$1"; }
[ "$(get /)" = 200 ] && grep -q 'knossos-bad-analysis/20261128T213000/report.html' "$work/body" \
  && ok "index" || bad "index"
[ "$(get /knossos-bad-analysis/20261128T213000/report.html)" = 200 ] \
  && grep -q 'data-verdict="invalid"' "$work/body" && ok "report" || bad "report"
[ "$(get /zip/knossos-bad-analysis/20261128T213000)" = 200 ] && unzip -tq "$work/body" > /dev/null \
  && ok "zip" || bad "zip"
for p in /../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /..%2f..%2fetc%2fpasswd; do
  code=$(get "$p")
  case $code in 403|404|400) ok "$p -> $code" ;; *) bad "$p -> $code" ;; esac
  grep -q 'root:' "$work/body" && bad "$p leaked /etc/passwd"
done
kill $pid
wait $pid 2> /dev/null || true
trap - EXIT
exit $fail
