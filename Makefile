# Builds the C core (build/b2c/core.so) and runs the specs.
# Every variable can be overridden: make LUA_VERSION=5.3, make CC=clang ...
#
# Lua versions: LUA_VERSION=5.4 (the default), 5.3, 5.1 or jit (LuaJIT 2.1).
#   make                          build/b2c/core.so for Lua 5.4
#   make LUA_VERSION=5.1          build/5.1/b2c/core.so (any version named: build/<version>/)
#   make test LUA_VERSION=jit     the SDK's specs under luajit
#   make matrix                   the specs under every version

LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),jit)
LUA         ?= luajit
LUA_INCDIR  ?= /usr/include/luajit-2.1
else
LUA         ?= lua$(LUA_VERSION)
LUA_INCDIR  ?= /usr/include/lua$(LUA_VERSION)
endif
BUSTED      ?= busted
MATRIX      ?= 5.4 5.3 5.1 jit

# Specs for every version: the SDK's (unit, integration). The simulator is a
# Lua 5.4 program: its own specs (spec/sim) and those tagged #lua54 run under
# 5.4 only. Under another version the simulator still runs as lua5.4.
ifeq ($(LUA_VERSION),5.4)
SPECS       ?= spec
BUSTED_TAGS ?=
else
SPECS       ?= spec/unit spec/integration
BUSTED_TAGS ?= --exclude-tags=lua54
endif

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
# The default build stays in build/ (.busted, the demo and the README use it);
# a LUA_VERSION given on the command line or in the environment builds in
# build/<version>/.
ifeq ($(origin LUA_VERSION),file)
BUILD_DIR ?= build
else
BUILD_DIR ?= build/$(LUA_VERSION)
endif
MODULE  := $(BUILD_DIR)/b2c/core.so
# b2c.redis_core (the Redis token store's client) is its own module, built
# only where hiredis is installed (libhiredis-dev): the core never needs it.
HIREDIS_CFLAGS ?= $(shell pkg-config --cflags hiredis 2>/dev/null)
HIREDIS_LIBS   ?= $(shell pkg-config --libs hiredis 2>/dev/null)
REDIS_SOURCES  := csrc/redis/redis_core.c csrc/secret.c
REDIS_MODULE   := $(if $(HIREDIS_LIBS),$(BUILD_DIR)/b2c/redis_core.so)

ALL_CFLAGS = $(CFLAGS) $(WARNINGS) -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC \
             -fvisibility=hidden -pthread -I$(LUA_INCDIR) $(CURL_CFLAGS) $(OPENSSL_CFLAGS)

.PHONY: all deps deps-demo deps-check demo test matrix host host-run lint clean

all: $(MODULE) $(REDIS_MODULE)

# Debian packages (scripts/deps.sh), installed if missing: the demo's set
# (build and pay out) and the specs' toolchain. deps-check resolves both as
# apt would on a machine where nothing is installed.
# playwright-core (package-lock.json) drives Debian's chromium in
# spec/browser; it never downloads a browser of its own.
deps:
	@sh scripts/deps.sh test
	@[ -f node_modules/playwright-core/package.json ] || \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

deps-demo:
	@sh scripts/deps.sh demo

deps-check:
	@sh scripts/deps.sh check demo test

# The module is never linked against liblua: the host interpreter provides it.
$(MODULE): $(SOURCES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LIBFLAG) -o $@ $(SOURCES) $(CURL_LIBS) $(OPENSSL_LIBS) -pthread

$(BUILD_DIR)/b2c/redis_core.so: $(REDIS_SOURCES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HIREDIS_CFLAGS) $(LIBFLAG) -o $@ $(REDIS_SOURCES) $(HIREDIS_LIBS) $(OPENSSL_LIBS)

# The first command of the README: a payout against the bundled simulator.
demo: deps-demo
	@$(MAKE) --no-print-directory $(MODULE)
	@sh scripts/demo.sh

test: deps
	@$(MAKE) --no-print-directory all
	@# Whatever version is tested, the simulator, the CLI and the examples
	@# run as lua5.4 with build/b2c/core.so; spec/nginx loads the core into
	@# nginx's LuaJIT: a build for each.
	@$(MAKE) --no-print-directory BUILD_DIR=build LUA_VERSION=5.4 all
	@$(MAKE) --no-print-directory BUILD_DIR=build/jit LUA_VERSION=jit all
	$(BUSTED) --lua=$(LUA) --cpath='$(BUILD_DIR)/?.so' $(BUSTED_TAGS) $(SPECS)

# The specs under every version in MATRIX; goes on after a failing version
# and fails at the end. build/b2c/core.so is built first: the simulator
# (lua5.4) uses it.
matrix: deps
	@$(MAKE) --no-print-directory all
	@failed=""; for v in $(MATRIX); do \
	  echo "== Lua $$v"; \
	  $(MAKE) --no-print-directory test LUA_VERSION=$$v || failed="$$failed $$v"; \
	done; \
	if [ -n "$$failed" ]; then echo "matrix: failed under:$$failed"; exit 1; fi

# examples/host: a C program embedding Lua 5.4 (liblua5.4), built as C and as
# C++. It loads the Lua 5.4 module build/b2c/core.so, which `host` builds too.
HOST_LUA_CFLAGS ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
HOST_LUA_LIBS   ?= $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
HOST_BINS       := build/host/b2c-host build/host/b2c-host++

host: $(HOST_BINS)
	@$(MAKE) --no-print-directory BUILD_DIR=build LUA_VERSION=5.4 all

build/host/b2c-host: examples/host/host.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARNINGS) -std=c99 -pedantic $(HOST_LUA_CFLAGS) -o $@ $< $(HOST_LUA_LIBS)

build/host/b2c-host++: examples/host/host.c
	@mkdir -p $(dir $@)
	$(CXX) -x c++ $(CFLAGS) $(WARNINGS) -std=c++11 -pedantic $(HOST_LUA_CFLAGS) -o $@ $< \
	  -x none $(HOST_LUA_LIBS)

# Both host builds against a freshly started simulator.
host-run: deps
	@$(MAKE) --no-print-directory host
	@sh scripts/host.sh $(HOST_BINS)

# What runs under every version (the SDK and its specs) may use only what
# Lua 5.1 and LuaJIT have, and must parse as Lua 5.1. The simulator (sim/,
# its own package) is Lua 5.4 only.
PORTABLE_LUA   := $(shell find lua -name '*.lua')
PORTABLE_SPECS := $(wildcard spec/unit/*.lua spec/integration/*.lua spec/support/*.lua)

lint: deps
	luacheck --std lua54 lua bin/b2c sim/lua sim/bin/b2c-sim
	luacheck --std lua54+busted spec
	luacheck --std min $(PORTABLE_LUA)
	luacheck --std min+busted $(PORTABLE_SPECS)
	luac5.1 -p $(PORTABLE_LUA) $(PORTABLE_SPECS)

clean:
	rm -rf build

# Benchmarks (bench/, see docs/performance.md): b2c against
# nginx on 127.0.0.1 beside raw libcurl, cjson.decode and Node.js; prints a
# table and keeps it in build/bench/results.txt, drawn in results.svg; then
# the payout ledger's cost (bench/ledger.lua: SQLite, and a PostgreSQL it
# starts itself when installed). A few minutes; not part
# of test or CI (timings on a shared machine would flake).
# spec/support/nginx.lua, which starts the server, wants the LuaJIT core too.
.PHONY: bench
bench: deps build/bench/raw_libcurl
	@$(MAKE) --no-print-directory BUILD_DIR=build LUA_VERSION=5.4 all
	@$(MAKE) --no-print-directory LUA_VERSION=jit all
	LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/?.so;;' \
	  lua5.4 bench/run.lua
	lua5.4 bench/chart.lua $${BENCH_OUT:-build/bench/results.txt}
	LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/?.so;;' \
	  lua5.4 bench/ledger.lua
	lua5.4 bench/fleet.lua

build/bench/raw_libcurl: bench/raw_libcurl.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(WARNINGS) -std=c99 $(CURL_CFLAGS) -o $@ $< $(CURL_LIBS)

# ---------------------------------------------------------------------------
# Hardening: sanitizers, valgrind, fuzzing, static analysis (see docs/reliability.md,
# Reliability). clang + libclang-rt-14-dev (scripts/deps.sh installs them).
SAN_CC     ?= clang
SAN_FLAGS  ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# The interpreter is not instrumented: the sanitizer runtime is preloaded.
ASAN_RT    ?= $(shell $(SAN_CC) -print-file-name=libclang_rt.asan-x86_64.so)
ASAN_ENV   ?= LD_PRELOAD=$(ASAN_RT) \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_SPECS  ?= spec/unit spec/integration spec/sim
VALGRIND   ?= valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --track-origins=yes --suppressions=scripts/valgrind.supp
FUZZ_SECONDS ?= 20
FUZZ_TARGETS ?= json_scan oauth_answer certificate credential redact
FUZZ_BINS    := $(addprefix build/fuzz/,$(FUZZ_TARGETS))
CORE_C       := $(filter-out csrc/lua_%.c,$(SOURCES))

.PHONY: asan valgrind fuzz fuzz-build static

# The core built with ASan + UBSan (build/asan/), then the specs under Lua
# 5.4 with the runtime preloaded. Any report aborts the run.
asan: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD_DIR=build/asan CC=$(SAN_CC) CFLAGS="$(SAN_FLAGS)" all
	B2C_HOSTILE_CASES=$${B2C_HOSTILE_CASES:-20000} $(ASAN_ENV) $(BUSTED) --lua=lua5.4 --cpath='build/asan/?.so' $(SAN_SPECS)

# The specs under valgrind memcheck (the interpreter process; the simulator
# runs unwatched): no errors, no definite leaks.
# #fleet specs only orchestrate other processes (which valgrind does not
# trace) and time their phases; a process 20x slower makes that meaningless.
valgrind: deps
	@$(MAKE) --no-print-directory all
	B2C_HOSTILE_CASES=$${B2C_HOSTILE_CASES:-5000} $(VALGRIND) lua5.4 $$(command -v $(BUSTED)) --ignore-lua --cpath='build/?.so' \
	  --exclude-tags=fleet spec/unit spec/integration

# libFuzzer harnesses (fuzz/*.c), each run for FUZZ_SECONDS from its seed
# corpus (fuzz/corpus/<name>, copied: the seeds stay as committed).
build/fuzz/%: fuzz/%.c $(SOURCES) $(HEADERS)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer -std=c99 -D_POSIX_C_SOURCE=200809L -pthread \
	  -I$(LUA_INCDIR) $(CURL_CFLAGS) $(OPENSSL_CFLAGS) -o $@ $< \
	  $(CORE_C) $(CURL_LIBS) $(OPENSSL_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build LUA_INCDIR=/usr/include/lua5.4
	@sh scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Static analysis of the C core: cppcheck and clang-tidy (the clang static
# analyzer and bugprone checks), warnings fail. Left out: widening of
# constant products (64 * 1024) and sizeof(T *) for arrays of pointers,
# which are intended.
static: deps
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --inline-suppr --std=c99 -I csrc --suppress=missingIncludeSystem csrc csrc/redis fuzz
	clang-tidy --quiet --warnings-as-errors='*' \
	  --checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,-bugprone-implicit-widening-of-multiplication-result,-bugprone-sizeof-expression' \
	  csrc/*.c csrc/redis/*.c -- -std=c99 -D_POSIX_C_SOURCE=200809L -I$(LUA_INCDIR) $(CURL_CFLAGS) $(OPENSSL_CFLAGS)
