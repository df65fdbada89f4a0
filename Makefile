# MiniTower: three binaries on one small library.
#   make                 build bin/minitowerd, bin/minitower-runner, bin/minitower-cli
#   make check           build and run every test suite (prints "N passed, M failed")
#   make SAN=address check / make SAN=thread check   the same under sanitizers
#   make conformance     the TOML (toml-test) and JSON-Schema conformance suites
#   make ui              build the web UI into frontend/dist
#   make fuzz            run every libFuzzer target FUZZ_TIME seconds (docs/fuzzing.md)
#   make bench           MiniTower vs Celery/RQ and the benchmarks of docs/performance.md (~12 min; not part of check)
#   make soak            the soak of docs/soak.md (SOAK_MINUTES, default 30; not part of check)
CC      ?= cc
PKGS    := libmicrohttpd sqlite3 jansson libcurl libarchive libsodium icu-uc icu-i18n
SAN     ?=
V       := $(if $(SAN),$(SAN),plain)
O       := build/$(V)
BIN     := $(if $(SAN),$(O)/bin,bin)

WARN    := -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
           -Wvla -Wimplicit-fallthrough -Werror
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SANFL   := $(if $(SAN),-fsanitize=$(SAN) $(if $(filter address,$(SAN)),-fsanitize=undefined) -fno-sanitize-recover=all -fno-omit-frame-pointer)
CFLAGS  ?= -O2 -g
CFLAGS  += $(WARN) $(HARDEN) $(SANFL) -D_GNU_SOURCE -Isrc/lib -I$(O)/gen \
           $(shell pkg-config --cflags $(PKGS))
LDFLAGS += $(SANFL)
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lcrypt -lpthread -lm

LIB_SRC    := $(wildcard src/lib/*.c)
SERVER_SRC := $(wildcard src/server/*.c)
RUNNER_SRC := $(wildcard src/runner/*.c)
CLI_SRC    := $(wildcard src/cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)
MIGRATIONS := $(sort $(wildcard src/server/migrations/*.up.sql))

obj = $(patsubst %.c,$(O)/%.o,$(1))
LIB     := $(O)/libmt.a
PROGS   := $(BIN)/minitowerd $(if $(RUNNER_SRC),$(BIN)/minitower-runner $(BIN)/minitower-jobinit) $(if $(CLI_SRC),$(BIN)/minitower-cli)
UNITS   := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
TOOLS   := $(patsubst tests/tools/%.c,$(O)/tools/%,$(TOOL_SRC))

all: $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(call obj,$(LIB_SRC))
	$(AR) rcs $@ $^

# Migrations are embedded in minitowerd as a generated C table.
$(O)/gen/migrations.h: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(O)/src/server/db.o $(O)/tests/unit/test_db.o: $(O)/gen/migrations.h

$(BIN)/minitowerd: $(call obj,$(SERVER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/minitower-runner: $(call obj,$(RUNNER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# The job's PID 1 runs inside the sandbox, where only /usr is visible: it
# links libc alone and is built without sanitizers (docs/sandbox.md).
$(O)/src/jobinit/jobinit.o: src/jobinit/jobinit.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(HARDEN) -D_GNU_SOURCE -MMD -MP -c -o $@ $<
$(BIN)/minitower-jobinit: $(O)/src/jobinit/jobinit.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^
$(BIN)/minitower-cli: $(call obj,$(CLI_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(O)/tools/%: $(O)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test builds of the server and the runner with the fault seams compiled in
# (-DMT_FAULTS: store faults, runner crash points; docs/reliability.md). The
# shipped binaries above never contain them.
FO      := $(O)/faults
fobj     = $(patsubst %.c,$(FO)/%.o,$(1))
FPROGS  := $(FO)/bin/minitowerd $(FO)/bin/minitower-runner
$(FO)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMT_FAULTS -MMD -MP -c -o $@ $<
$(FO)/src/server/db.o: $(O)/gen/migrations.h
$(FO)/bin/minitowerd: $(call fobj,$(SERVER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(FO)/bin/minitower-runner: $(call fobj,$(RUNNER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build-tests: $(PROGS) $(UNITS) $(TOOLS) $(FPROGS)

check: build-tests
	MT_BIN=$(abspath $(BIN)) MT_BUILD=$(abspath $(O)) MT_SAN=$(SAN) sh tests/run-all.sh

conformance: $(TOOLS)
	MT_BUILD=$(abspath $(O)) sh tests/run-all.sh conformance

ui:
	npm --prefix frontend run build

clean:
	rm -rf build bin

# MiniTower vs Celery and RQ, runner latency, cancel, control plane and the
# disk in one run (issue 13, docs/performance.md); BENCH_ARGS e.g. --slots.
# The sandbox cost of issue 12 is `sh bench/runner_latency.sh sandbox`.
bench: all
	bash scripts/install-deps --bench
	/usr/bin/python3 bench/bench.py $(BENCH_ARGS)

# libFuzzer targets: make fuzz (docs/fuzzing.md); build-tests builds them.
include tests/fuzz/fuzz.mk

# 30 minutes of mixed traffic with runner and server kills (issue 19, docs/soak.md).
soak: all
	python3 tests/soak/soak.py

.PHONY: all check conformance build-tests ui clean bench soak
.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
