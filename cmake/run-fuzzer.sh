#!/usr/bin/env bash
# Runs a libFuzzer target for a fixed time from a seed corpus (copied into a
# scratch corpus so the repository's seeds are never modified).
set -euo pipefail
binary=$1 seeds=$2 work=$3 seconds=$4
rm -rf "$work" && mkdir -p "$work"
cp -r "$seeds"/. "$work"/
exec "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 "$work"
