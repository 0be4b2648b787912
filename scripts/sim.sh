# Sourced by scripts that need a simulator for one run (demo.sh, host.sh):
#   start_sim [b2c-sim options...]
# starts sim/bin/b2c-sim on a free loopback port, waits for its ready line, sets
# SIM_URL and SIM_CERTIFICATE, and stops it (and removes $work) on exit.
# The caller sets `work` to a temporary directory first.
start_sim() {
  lua5.4 sim/bin/b2c-sim --port 0 "$@" >"$work/sim.log" 2>&1 &
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
  SIM_URL=$(echo "$ready" | sed -E 's/.*listening on (http:[^ ]+).*/\1/')
  SIM_CERTIFICATE=$(echo "$ready" | sed -E 's/.*certificate=([^ ]+).*/\1/')
}
