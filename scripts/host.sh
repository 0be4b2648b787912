#!/bin/sh
# make host-run: start b2c-sim on loopback, run each host program given as an
# argument (examples/host/host.c built as C and as C++) against it, stop the
# sim. Fails unless every host printed an acknowledgement and exited 0.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 HOST_PROGRAM..." >&2; exit 2; }
work=$(mktemp -d)
lua5.4 bin/b2c-sim --port 0 --callback-attempts 1 >"$work/sim.log" 2>&1 &
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
url=$(echo "$ready" | sed -E 's/.*listening on (http:[^ ]+).*/\1/')
cert=$(echo "$ready" | sed -E 's/.*certificate=([^ ]+).*/\1/')

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
