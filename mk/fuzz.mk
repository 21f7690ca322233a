# make fuzz: builds every tests/fuzz/fuzz_NAME.c (a libFuzzer entry point)
# with clang, ASan and UBSan, together with the src/*.c it needs (src/X.c for
# each "X.h" it includes, transitively: scripts/fuzz-deps), and runs each for
# FUZZ_SECONDS (default 60). Seeds: tests/fuzz/corpus/NAME/ (committed, small);
# new inputs go to build/fuzz/corpus/NAME/. A crash stops the run and leaves
# build/fuzz/crash-* (or leak-*, timeout-*) to reproduce with
# `build/fuzz/fuzz_NAME FILE`. make fuzz FUZZ=fuzz_NAME runs one target.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_OUT = build/fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ ?= $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
  $(shell $(PKG_CONFIG) --cflags $(HOST_PKGS) 2>/dev/null)
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs $(HOST_PKGS) 2>/dev/null) -lm

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard src/*.c src/*.h) mk/fuzz.mk scripts/fuzz-deps
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $$(sh scripts/fuzz-deps $<) $(FUZZ_LIBS)

fuzz: $(FUZZ:%=$(FUZZ_OUT)/%)
	@for n in $(FUZZ); do \
	  mkdir -p tests/fuzz/corpus/$$n $(FUZZ_OUT)/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
	  ( cd $(FUZZ_OUT) && ./$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      corpus/$$n ../../tests/fuzz/corpus/$$n ) 2>&1 | \
	    grep -E '^(stat::|INFO: (Loaded|Done)|==[0-9]+==|SUMMARY|#[0-9]+.*DONE)|[Cc]rash|ERROR|artifact' ; \
	  status=$$(ls $(FUZZ_OUT)/crash-* $(FUZZ_OUT)/leak-* $(FUZZ_OUT)/timeout-* $(FUZZ_OUT)/oom-* 2>/dev/null | head -1); \
	  if [ -n "$$status" ]; then echo "fuzz: $$n FAILED: $$status"; exit 1; fi; \
	done
