#!/bin/sh
# Runs each libFuzzer harness for SECONDS from a copy of its seed corpus and
# prints one line per harness plus the total executions.
# usage: scripts/fuzz.sh SECONDS NAME...
set -u
seconds=$1
shift
total=0
failed=""
mkdir -p build/fuzz/logs
for name in "$@"; do
  work=build/fuzz/corpus/$name
  rm -rf "$work"
  mkdir -p "$work"
  cp fuzz/corpus/"$name"/* "$work"/ 2>/dev/null
  log=build/fuzz/logs/$name.log
  if build/fuzz/"$name" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix=build/fuzz/"$name"- "$work" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed="$failed $name"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  printf 'fuzz %-13s %s: %s executions in %s s, corpus %s files\n' "$name" "$status" "$runs" \
    "$seconds" "$(ls "$work" | wc -l)"
  [ "$status" = ok ] || tail -40 "$log"
done
echo "fuzz total: $total executions"
[ -z "$failed" ] || { echo "fuzz: failed:$failed"; exit 1; }
