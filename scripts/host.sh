#!/bin/sh
# make host-run: start b2c-sim on loopback, run each host program given as an
# argument (examples/host/host.c built as C and as C++) against it, stop the
# sim. Fails unless every host printed an acknowledgement and exited 0.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 HOST_PROGRAM..." >&2; exit 2; }
work=$(mktemp -d)
. scripts/sim.sh
start_sim --callback-attempts 1
url=$SIM_URL
cert=$SIM_CERTIFICATE

for host in "$@"; do
  echo "== $host $url"
  if ! "$host" "$url" "$cert" . >"$work/out" 2>&1; then
    cat "$work/out"
    echo "$host failed" >&2
    exit 1
  fi
  cat "$work/out"
  grep -q "^ConversationID AG_" "$work/out" && grep -q "^OriginatorConversationID ." "$work/out" || {
    echo "$host printed no acknowledgement" >&2
    exit 1
  }
done
echo "host-run: every host paid out"
