#!/bin/sh
# Installs the Debian packages that building, testing and the demo need,
# when any is missing. Needs root (or sudo) only when something is missing.
# nginx + libnginx-mod-http-lua (LuaJIT) and the LuaJIT headers are for the
# OpenResty specs (spec/nginx), which start their own nginx: the system
# service is never used.
set -eu

PACKAGES="build-essential pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev libssl-dev
openssl lua-cjson lua-socket lua-sec lua-busted lua-check luarocks socat
lua5.3 liblua5.3-dev lua5.1 liblua5.1-0-dev nginx libnginx-mod-http-lua"

# LuaJIT 2.1: Debian's (luajit, libluajit-5.1-dev) or OpenResty's fork
# (luajit2, libluajit2-5.1-dev, which nginx's lua module may have brought).
# The two conflict: keep the one already there.
if dpkg -s libluajit2-5.1-2 >/dev/null 2>&1; then
  PACKAGES="$PACKAGES luajit2 libluajit2-5.1-dev"
else
  PACKAGES="$PACKAGES luajit libluajit-5.1-dev"
fi

# Hardening (make asan, valgrind, fuzz, static): clang with its sanitizer
# and libFuzzer runtimes, valgrind, cppcheck, clang-tidy.
PACKAGES="$PACKAGES clang libclang-rt-14-dev valgrind cppcheck clang-tidy"

missing=""
for p in $PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
