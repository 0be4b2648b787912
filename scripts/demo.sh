#!/bin/sh
# make demo: start b2c-sim on loopback, run examples/payout.lua, stop the sim.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
lua5.4 bin/b2c-sim --port 0 --callback-delay 0.2 >"$work/sim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true; wait $sim 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM

i=0
until grep -q "listening on" "$work/sim.log"; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $sim 2>/dev/null; then
    echo "b2c-sim did not start:" >&2
    cat "$work/sim.log" >&2
    exit 1
  fi
  sleep 0.05
done
ready=$(grep -m1 "listening on" "$work/sim.log")
B2C_BASE_URL=$(echo "$ready" | sed -E 's/.*listening on (http:[^ ]+).*/\1/') \
B2C_CERTIFICATE=$(echo "$ready" | sed -E 's/.*certificate=([^ ]+).*/\1/') \
B2C_LEDGER="$work/ledger.tsv" \
LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;" \
  lua5.4 examples/payout.lua
