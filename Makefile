# opro-lua — build, test, demo, bench, install.
# Dependencies come from Debian packages only; `make deps` installs them.

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
DATADIR   = $(PREFIX)/share/opro-lua
MANDIR    = $(PREFIX)/share/man/man1

CC       ?= cc
PKG_CONFIG ?= pkg-config
DEB_PKGS  = liblua5.4-dev lua-cjson-dev libcurl4-openssl-dev libpcre2-dev \
            libsqlite3-dev libmicrohttpd-dev pkg-config make gcc
# only for tests: an independent JSON Schema validator for the OpenAI spec checks,
# headless Chromium to render the HTML report, and NumPy to run the reference's
# own template code (tests/lua/template_reference_test.lua, when OPRO_REF or
# /tmp/opro-ref holds a google-deepmind/opro checkout)
TEST_PKGS = python3 python3-jsonschema python3-numpy curl chromium
HOST_PKGS = lua5.4 lua5.4-cjson libcurl libpcre2-8 sqlite3
SIM_PKGS  = lua5.4 lua5.4-cjson libmicrohttpd

ifeq ($(SANITIZE),1)
VARIANT   = sanitize
OPTFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN     = -fsanitize=address,undefined
else
VARIANT   = release
OPTFLAGS  = -O2 -g
LDSAN     =
endif

OUT      = build/$(VARIANT)
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS_ALL = -DOPRO_VERSION=\"$(VERSION)\" -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(OPTFLAGS) -MMD -MP -iquote src -I$(OUT)
HOST_CFLAGS = $(CFLAGS_ALL) $(shell $(PKG_CONFIG) --cflags $(HOST_PKGS) 2>/dev/null) $(CFLAGS)
HOST_LIBS   = $(shell $(PKG_CONFIG) --libs $(HOST_PKGS) 2>/dev/null) -lm $(LDSAN) $(LDFLAGS)
SIM_CFLAGS  = $(CFLAGS_ALL) $(shell $(PKG_CONFIG) --cflags $(SIM_PKGS) 2>/dev/null) $(CFLAGS)
SIM_LIBS    = $(shell $(PKG_CONFIG) --libs $(SIM_PKGS) 2>/dev/null) -lpthread -lm $(LDSAN) $(LDFLAGS)

VERSION := $(shell cat VERSION)

# Host: every src/*.c; main.c only in the binary, the rest also in unit tests.
HOST_SRC  = $(filter-out src/main.c,$(wildcard src/*.c))
HOST_OBJ  = $(HOST_SRC:src/%.c=$(OUT)/host/%.o) $(OUT)/host/embedded_lua.o
SIM_SRC   = $(wildcard src/sim/*.c)
SIM_OBJ   = $(SIM_SRC:src/sim/%.c=$(OUT)/sim/%.o) $(OUT)/sim/embedded_lua.o $(OUT)/sim/embed.o
CTEST_SRC = $(wildcard tests/c/test_*.c)
CTEST_BIN = $(CTEST_SRC:tests/c/%.c=$(OUT)/tests/%)
LUA_FILES = $(shell find lua -name '*.lua' | sort)

.PHONY: all deps test-deps ctests check-deps test test-c test-lua demo bench install uninstall clean fuzz test-faults FORCE

all: bin/opro-lua $(if $(SIM_SRC),bin/opro-sim)

# Binaries are built per variant and copied to bin/ so `make` and
# `make SANITIZE=1` never mix objects; copied beside and renamed, so a
# running opro-sim or opro-lua ("text file busy") does not stop the build.
bin/opro-lua: $(OUT)/opro-lua FORCE
	@mkdir -p bin; cmp -s $< $@ || { cp $< $@.new && mv -f $@.new $@; }
bin/opro-sim: $(OUT)/opro-sim FORCE
	@mkdir -p bin; cmp -s $< $@ || { cp $< $@.new && mv -f $@.new $@; }
FORCE:

$(OUT)/opro-lua: $(OUT)/host/main.o $(OUT)/libopro.a
	$(CC) -o $@ $^ $(HOST_LIBS)

$(OUT)/libopro.a: $(HOST_OBJ)
	@rm -f $@; ar rcs $@ $^

$(OUT)/opro-sim: $(SIM_OBJ)
	$(CC) -o $@ $^ $(SIM_LIBS)

$(OUT)/host/%.o: src/%.c $(OUT)/modules.h | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c -o $@ $<
$(OUT)/host/embedded_lua.o: $(OUT)/embedded_lua.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c -o $@ $<
$(OUT)/sim/%.o: src/sim/%.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(SIM_CFLAGS) -c -o $@ $<
# the embedded library's searcher (src/embed.c) is shared with the host
$(OUT)/sim/embed.o: src/embed.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(SIM_CFLAGS) -c -o $@ $<
$(OUT)/sim/embedded_lua.o: $(OUT)/embedded_lua.c
	@mkdir -p $(dir $@)
	$(CC) $(SIM_CFLAGS) -c -o $@ $<

# The Lua standard library is compiled into the binaries (see src/embed.h).
# The lists of files are stamps too: removing or adding a file (a branch
# switch, a merge) regenerates what lists them. The temporary file is per
# process: two makes in one tree (make fuzz twice, make test beside make) may
# both refresh a list.
$(OUT)/lua-files.list: FORCE
	@mkdir -p $(dir $@); t=$@.$$$$.tmp; echo $(LUA_FILES) > $$t; cmp -s $$t $@ && rm -f $$t || mv -f $$t $@
$(OUT)/src-files.list: FORCE
	@mkdir -p $(dir $@); t=$@.$$$$.tmp; echo $(HOST_SRC) > $$t; cmp -s $$t $@ && rm -f $$t || mv -f $$t $@

$(OUT)/embedded_lua.c: $(LUA_FILES) $(OUT)/lua-files.list scripts/embed-lua
	@mkdir -p $(dir $@)
	sh scripts/embed-lua $(LUA_FILES) > $@.tmp && mv $@.tmp $@

# C modules register themselves by defining luaopen_opro_core_NAME.
$(OUT)/modules.h: $(HOST_SRC) $(OUT)/src-files.list scripts/gen-modules
	@mkdir -p $(dir $@)
	@sh scripts/gen-modules $(HOST_SRC) > $@.tmp && (cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@)

$(OUT)/tests/%: tests/c/%.c $(OUT)/libopro.a
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -iquote tests/c -o $@ $< $(OUT)/libopro.a $(HOST_LIBS)

check-deps:
	@$(PKG_CONFIG) --exists $(HOST_PKGS) $(SIM_PKGS) || { \
	  echo "opro-lua: missing build dependencies; run 'make deps' (as root) or:"; \
	  echo "  apt-get install $(DEB_PKGS)"; exit 1; }

deps:
	@sh scripts/install-deps $(DEB_PKGS)

test-deps: deps
	@sh scripts/install-deps $(TEST_PKGS)

test: deps test-deps
	@$(MAKE) --no-print-directory all ctests
	@OPRO_BIN=$(OUT)/opro-lua OPRO_SIM=$(OUT)/opro-sim OPRO_SANITIZE=$(SANITIZE) sh tests/run $(TESTS)

ctests: $(CTEST_BIN)
	@mkdir -p build; rm -f build/ctests; ln -s $(VARIANT)/tests build/ctests

test-faults: deps
	@$(MAKE) --no-print-directory all
	@OPRO_BIN=$(OUT)/opro-lua OPRO_SIM=$(OUT)/opro-sim sh tests/run tests/integration/faults_test.lua

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)
	install -m 755 bin/opro-lua $(wildcard bin/opro-sim) $(DESTDIR)$(BINDIR)/
	cp -R lua $(DESTDIR)$(DATADIR)/
	cp -R examples docs $(DESTDIR)$(DATADIR)/
	install -m 644 docs/opro-lua.1 docs/opro-sim.1 $(DESTDIR)$(MANDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/opro-lua $(DESTDIR)$(BINDIR)/opro-sim $(DESTDIR)$(MANDIR)/opro-lua.1 $(DESTDIR)$(MANDIR)/opro-sim.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build bin

-include $(wildcard $(OUT)/host/*.d $(OUT)/sim/*.d $(OUT)/tests/*.d)
# Extra rules of a part of the project (fuzzers, bench helpers): mk/NAME.mk
-include $(wildcard mk/*.mk)
