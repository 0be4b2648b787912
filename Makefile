# Builds the C core (build/b2c/core.so) and runs the specs.
# Every variable can be overridden: make LUA_VERSION=5.3, make CC=clang ...

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
LUA_INCDIR  ?= /usr/include/lua$(LUA_VERSION)
BUSTED      ?= busted

CC       ?= cc
CFLAGS   ?= -O2 -g
WARNINGS ?= -Wall -Wextra -Werror
LIBFLAG  ?= -shared
CURL_CFLAGS    ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS      ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
OPENSSL_CFLAGS ?= $(shell pkg-config --cflags libcrypto 2>/dev/null)
OPENSSL_LIBS   ?= $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

SOURCES := $(wildcard csrc/*.c)
HEADERS := $(wildcard csrc/*.h)
BUILD_DIR ?= build
MODULE  := $(BUILD_DIR)/b2c/core.so

ALL_CFLAGS = $(CFLAGS) $(WARNINGS) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC \
             -fvisibility=hidden -pthread -I$(LUA_INCDIR) $(CURL_CFLAGS) $(OPENSSL_CFLAGS)

.PHONY: all deps demo test lint clean

all: $(MODULE)

# Debian packages for building, the specs and the demo (installed if missing).
deps:
	@sh scripts/deps.sh

# The module is never linked against liblua: the host interpreter provides it.
$(MODULE): $(SOURCES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LIBFLAG) -o $@ $(SOURCES) $(CURL_LIBS) $(OPENSSL_LIBS) -pthread

# The first command of the README: a payout against the bundled simulator.
demo: deps
	@$(MAKE) --no-print-directory $(MODULE)
	@sh scripts/demo.sh

test: deps
	@$(MAKE) --no-print-directory $(MODULE)
	@# spec/nginx loads the core into nginx's LuaJIT: a build for its headers
	@$(MAKE) --no-print-directory BUILD_DIR=build/jit LUA_INCDIR=/usr/include/luajit-2.1 build/jit/b2c/core.so
	$(BUSTED) --lua=$(LUA) spec

lint: deps
	luacheck --std lua54 lua bin/b2c-sim
	luacheck --std lua54+busted spec

clean:
	rm -rf build
