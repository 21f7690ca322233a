# make fuzz: builds every fuzz target with clang, libFuzzer, ASan and UBSan
# and runs each for FUZZ_SECONDS (default 60). A target is
#   tests/fuzz/fuzz_NAME.c   a C entry point (LLVMFuzzerTestOneInput), or
#   tests/fuzz/fuzz_NAME.lua a Lua module returning function(data), run by
#                            tests/fuzz/lua_target.c in a Lua state made as
#                            opro-lua makes it (see tests/fuzz/fuzz_lua.h).
# Both link build/fuzz/libopro.a: src/*.c and the embedded lua/ (plus the
# tests/fuzz/*.lua modules) compiled with the sanitizers and the coverage
# instrumentation. Seeds: tests/fuzz/corpus/NAME/ (committed, small), with
# tests/fuzz/NAME.dict when it exists; new inputs go to
# build/fuzz/corpus/NAME/, the output to build/fuzz/NAME.log. A finding
# stops the run and leaves build/fuzz/NAME-crash-* (or -leak-*, -timeout-*,
# -oom-*) to reproduce with `build/fuzz/NAME FILE`; `make fuzz` fails while
# such a file is there (remove it once the bug is fixed). make fuzz FUZZ=fuzz_NAME runs one target;
# FUZZ_FLAGS adds libFuzzer options (e.g. FUZZ_FLAGS=-runs=10000000).
# Lua targets run with -detect_leaks=0: the Lua heap grows and shrinks
# between inputs, so libFuzzer's leak check after every input would scan
# the heap a thousand times and then give up by itself; LeakSanitizer still
# checks the whole process when the run ends.
# Nothing here is needed by `make` or `make test`: only `make fuzz` needs clang.
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_FLAGS ?=
FUZZ_CC ?= clang
FUZZ_OUT = build/fuzz
FUZZ_C_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_LUA_SRC := $(wildcard tests/fuzz/fuzz_*.lua)
FUZZ_ALL := $(sort $(FUZZ_C_SRC:tests/fuzz/%.c=%) $(FUZZ_LUA_SRC:tests/fuzz/%.lua=%))
FUZZ ?= $(FUZZ_ALL)
FUZZ_BASE = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -DOPRO_VERSION=\"$(VERSION)\" -g -O1 \
  -fno-omit-frame-pointer -fno-sanitize-recover=undefined -iquote src -I$(FUZZ_OUT) \
  $(shell $(PKG_CONFIG) --cflags $(HOST_PKGS) 2>/dev/null)
FUZZ_LIB_CFLAGS = $(FUZZ_BASE) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_CFLAGS = $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -iquote tests/fuzz
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs $(HOST_PKGS) 2>/dev/null) -lm
FUZZ_OBJ = $(HOST_SRC:src/%.c=$(FUZZ_OUT)/obj/%.o) $(FUZZ_OUT)/obj/embedded_lua.o

$(FUZZ_OUT)/modules.h: $(HOST_SRC) scripts/gen-modules
	@mkdir -p $(dir $@)
	sh scripts/gen-modules $(HOST_SRC) > $@.tmp && mv $@.tmp $@
$(FUZZ_OUT)/embedded_lua.c: $(LUA_FILES) $(FUZZ_LUA_SRC) tests/fuzz/harness.lua $(OUT)/lua-files.list scripts/embed-lua
	@mkdir -p $(dir $@)
	sh scripts/embed-lua $(LUA_FILES) $(FUZZ_LUA_SRC) tests/fuzz/harness.lua > $@.tmp && mv $@.tmp $@
$(FUZZ_OUT)/obj/%.o: src/%.c $(FUZZ_OUT)/modules.h mk/fuzz.mk | check-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_LIB_CFLAGS) -MMD -MP -c -o $@ $<
$(FUZZ_OUT)/obj/embedded_lua.o: $(FUZZ_OUT)/embedded_lua.c
	$(FUZZ_CC) $(FUZZ_LIB_CFLAGS) -c -o $@ $<
$(FUZZ_OUT)/libopro.a: $(FUZZ_OBJ)
	@rm -f $@; ar rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OUT)/libopro.a $(wildcard tests/fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OUT)/libopro.a $(FUZZ_LIBS)
$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.lua tests/fuzz/lua_target.c $(FUZZ_OUT)/libopro.a $(wildcard tests/fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_MODULE=\"tests.fuzz.fuzz_$*\" -o $@ tests/fuzz/lua_target.c \
	  $(FUZZ_OUT)/libopro.a $(FUZZ_LIBS)

fuzz-build: $(FUZZ:%=$(FUZZ_OUT)/%)

fuzz: fuzz-build
	@for n in $(FUZZ); do \
	  mkdir -p tests/fuzz/corpus/$$n $(FUZZ_OUT)/corpus/$$n; \
	  dict=""; [ -f tests/fuzz/$$n.dict ] && dict="-dict=../../tests/fuzz/$$n.dict"; \
	  leaks=""; [ -f tests/fuzz/$$n.lua ] && leaks="-detect_leaks=0"; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  ( cd $(FUZZ_OUT) && ./$$n -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 \
	      -artifact_prefix=$$n- $$leaks $$dict $(FUZZ_FLAGS) corpus/$$n ../../tests/fuzz/corpus/$$n ) >$(FUZZ_OUT)/$$n.log 2>&1; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|INFO: (Loaded|Done)|==[0-9]+==|SUMMARY|#[0-9]+.*DONE)|[Cc]rash|ERROR|artifact|fuzz_lua:' \
	    $(FUZZ_OUT)/$$n.log; \
	  status=$$(ls $(FUZZ_OUT)/$$n-crash-* $(FUZZ_OUT)/$$n-leak-* $(FUZZ_OUT)/$$n-timeout-* $(FUZZ_OUT)/$$n-oom-* 2>/dev/null | head -1); \
	  if [ -n "$$status" ]; then echo "fuzz: $$n FAILED: $$status (log: $(FUZZ_OUT)/$$n.log)"; exit 1; fi; \
	done

-include $(wildcard $(FUZZ_OUT)/obj/*.d)

.PHONY: fuzz-build
