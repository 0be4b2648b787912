#!/bin/sh
# make demo: start b2c-sim on loopback, run examples/payout.lua, stop the sim.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
. scripts/sim.sh
start_sim --callback-delay 0.2
B2C_BASE_URL="$SIM_URL" B2C_CERTIFICATE="$SIM_CERTIFICATE" \
B2C_LEDGER="$work/ledger.db" \
LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;" \
  lua5.4 examples/payout.lua
