#!/bin/sh
# Debian packages, in sets. Installs what is missing of the sets named
# (root or sudo needed only then):
#   sh scripts/deps.sh demo          what `make demo` needs: build and pay out
#   sh scripts/deps.sh test          the specs' toolchain (demo + other Luas,
#                                    nginx, hardening tools)
#   sh scripts/deps.sh check SET...  resolve SETs as apt would on a machine
#                                    where nothing is installed; fails if apt
#                                    could not install them there
# nginx's lua module depends on OpenResty's LuaJIT (libluajit2-5.1-2), which
# conflicts with Debian's luajit/libluajit-5.1-*: only OpenResty's is named.
set -eu

DEMO="build-essential pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev libssl-dev
openssl lua-cjson lua-socket lua-sql-sqlite3"
TEST="$DEMO lua-sec lua-busted lua-check luarocks socat lua5.3 liblua5.3-dev lua5.1
liblua5.1-0-dev luajit2 libluajit2-5.1-dev nginx libnginx-mod-http-lua
clang libclang-rt-14-dev valgrind cppcheck clang-tidy lua-sql-postgres postgresql-15
libhiredis-dev redis-server chromium nodejs npm"

packages_of() {
  case "$1" in
    demo) echo "$DEMO" ;;
    test) echo "$TEST" ;;
    *) echo "deps.sh: unknown set '$1' (demo, test)" >&2; exit 2 ;;
  esac
}

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if [ "${1:-}" = "check" ]; then
  shift
  [ $# -gt 0 ] || set -- test
  all=""
  for set in "$@"; do all="$all $(packages_of "$set")"; done
  # apt with an empty dpkg status: as if nothing at all were installed.
  empty=$(mktemp)
  trap 'rm -f "$empty"' EXIT
  # Package lists are needed to resolve anything: a machine that never ran
  # apt-get update has none, so a failed resolution is tried once more
  # after an update before it counts.
  resolve() {
    # shellcheck disable=SC2086
    apt-get -s -qq -o Dir::State::status="$empty" install --no-install-recommends $all \
      >"$empty.log" 2>&1
  }
  if ! resolve && ! { $SUDO apt-get update -qq && resolve; }; then
    cat "$empty.log" >&2
    rm -f "$empty.log"
    echo "deps.sh: these packages would not install on a fresh machine:$all" >&2
    exit 1
  fi
  echo "deps.sh: $(grep -c '^Inst ' "$empty.log") packages resolve on an empty system for: $*"
  rm -f "$empty.log"
  exit 0
fi

[ $# -gt 0 ] || set -- test
missing=""
for set in "$@"; do
  for p in $(packages_of "$set"); do
    # NodeSource's nodejs carries npm and conflicts with Debian's npm
    [ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
    dpkg -s "$p" >/dev/null 2>&1 || case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
  done
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
