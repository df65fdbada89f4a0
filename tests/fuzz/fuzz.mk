# libFuzzer targets (docs/fuzzing.md), included from the top Makefile. They
# are always clang ASan+UBSan builds in build/fuzz, whatever SAN= says; the
# library sources are compiled again with clang into build/fuzz/obj.
#   make fuzz-build        build every target (build-tests does it too)
#   make fuzz              run each target FUZZ_TIME seconds (default 300)
# A target is tests/fuzz/<name>.c plus one line below naming the sources it
# links: FUZZ_SRC_<name> := src/lib/x.c ...
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 300
FUZZ_O      := build/fuzz
FUZZ_SANFL  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 $(WARN) $(FUZZ_SANFL) -fsanitize=fuzzer-no-link -D_GNU_SOURCE \
               -Isrc/lib -I$(FUZZ_O)/gen $(shell pkg-config --cflags $(PKGS))
FUZZ_LDLIBS := $(LDLIBS) -lz
FUZZ_HAVE   := $(shell command -v $(FUZZ_CC) 2>/dev/null)

# Sources shared by nearly every target.
FUZZ_BASE   := src/lib/buf.c src/lib/err.c src/lib/util.c
FUZZ_TOML   := src/lib/toml.c src/lib/toml_scalar.c src/lib/quote.c $(FUZZ_BASE)
FUZZ_JSON   := src/lib/json.c src/lib/json_order.c $(FUZZ_BASE)
# The whole server but main(): the router cannot be linked alone.
FUZZ_SERVER := $(filter-out src/server/main.c,$(SERVER_SRC)) $(LIB_SRC)

FUZZ_CRON   := src/lib/cron.c src/lib/cron_next.c src/lib/cron_tz.c src/lib/cron_format.c
FUZZ_TOWERFILE := src/lib/towerfile.c src/lib/towerfile_limits.c src/lib/towerfile_schedule.c \
                  src/lib/slug.c $(FUZZ_CRON)

FUZZ_SRC_fuzz_toml      := $(FUZZ_TOML)
FUZZ_SRC_fuzz_towerfile := $(FUZZ_TOWERFILE) src/lib/schema.c $(FUZZ_JSON) $(FUZZ_TOML)
FUZZ_SRC_fuzz_schema    := src/lib/schema.c $(FUZZ_JSON)
FUZZ_SRC_fuzz_archive   := src/lib/archive.c $(FUZZ_TOWERFILE) src/lib/glob.c $(FUZZ_JSON) $(FUZZ_TOML)
FUZZ_SRC_fuzz_routes    := $(FUZZ_SERVER)
FUZZ_SRC_fuzz_json      := $(FUZZ_JSON)
FUZZ_SRC_fuzz_linesplit := src/runner/linesplit.c
FUZZ_SRC_fuzz_multipart := src/server/upload.c src/lib/crypto.c $(FUZZ_BASE)
FUZZ_SRC_fuzz_cron      := $(FUZZ_CRON) $(FUZZ_BASE)
FUZZ_SRC_fuzz_sse       := src/lib/sse.c src/lib/client.c src/server/encode.c src/server/encode_run.c \
                           $(FUZZ_JSON)

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(addprefix $(FUZZ_O)/,$(FUZZ_TARGETS))
fuzzobj       = $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(1))

$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
# Harnesses reach server and runner headers; the sources themselves must not
# (src/runner/limits.h would shadow <limits.h>).
$(FUZZ_O)/obj/tests/fuzz/%.o: FUZZ_CFLAGS += -Isrc/server -Isrc/runner
$(FUZZ_O)/gen/migrations.h: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
$(FUZZ_O)/obj/src/server/db.o: $(FUZZ_O)/gen/migrations.h

define fuzz_link
$(FUZZ_O)/$(1): $(call fuzzobj,tests/fuzz/$(1).c $(sort $(FUZZ_SRC_$(1))))
	$$(FUZZ_CC) $(FUZZ_SANFL) -fsanitize=fuzzer -o $$@ $$^ $(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_link,$(t))))

# Without clang there is nothing to build; the fuzz suite then says SKIP.
fuzz-build: $(if $(FUZZ_HAVE),$(FUZZ_BINS))
build-tests: fuzz-build

fuzz: fuzz-build
	MT_FUZZ=$(abspath $(FUZZ_O)) sh tests/fuzz/run.sh -t $(FUZZ_TIME) \
	    -s $(abspath $(FUZZ_O))/corpus $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build
