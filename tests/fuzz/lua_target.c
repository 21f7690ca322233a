/* The libFuzzer entry point of the Lua targets (tests/fuzz/fuzz_NAME.lua,
 * built with -DFUZZ_MODULE="tests.fuzz.fuzz_NAME"; see mk/fuzz.mk).
 *
 * One Lua state, made once as opro-lua makes it (host_new: the standard
 * libraries, the embedded lua/ library, the opro.core.* C modules, cjson).
 * require(FUZZ_MODULE) returns the function called with every input as a
 * Lua string. That function runs the code under test and decides which of
 * its errors are expected (the documented failures: nil, message, code
 * returns or clear errors); any error that escapes it is a finding: the
 * harness prints it with a traceback and aborts, so libFuzzer saves the
 * input. Crashes, sanitizer reports, leaks, hangs (-timeout) and memory
 * blow-ups (-rss_limit_mb) are findings as for any target.
 *
 * The Lua interpreter is a system library (not instrumented), so the
 * harness gives libFuzzer coverage of the Lua code itself: a line hook
 * counts edges between consecutive lines of lua/opro/ in libFuzzer's
 * "extra counters" (a section libFuzzer reads besides its own counters). */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#ifndef FUZZ_MODULE
#error "build with -DFUZZ_MODULE=\"tests.fuzz.fuzz_NAME\""
#endif

#define NCOUNTERS (1u << 16)
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_edges[NCOUNTERS];

static host *H;
static lua_State *L;
static int fn_ref;
static uint32_t prev_loc;
static unsigned long runs;
static int hook_mask = LUA_MASKLINE | LUA_MASKCALL | LUA_MASKRET;   /* FUZZ_LUA_COVERAGE=0: none (to measure) */

/* The source of the running function, looked up once per call frame: a
 * call or return event forgets it, a line event of the same frame reuses
 * it (lua_getinfo on every line would cost more than the line). */
static const void *cached_ci;
static const lua_State *cached_L;
static const char *cached_src;

/* not instrumented itself: it runs on every line of Lua */
__attribute__((no_sanitize("address", "undefined", "coverage")))
static void line_hook(lua_State *l, lua_Debug *ar) {
  if (ar->event != LUA_HOOKLINE) {
    cached_ci = NULL;
    return;
  }
  const char *src;
  if (ar->i_ci == cached_ci && l == cached_L) {
    src = cached_src;
  } else {
    if (!lua_getinfo(l, "S", ar)) return;
    src = ar->source;
    cached_ci = ar->i_ci;
    cached_L = l;
    cached_src = src;
  }
  /* the library ("@lua/..."), not the harness ("@tests/fuzz/...") */
  if (src[0] != '@' || src[1] != 'l' || src[2] != 'u' || src[3] != 'a' || src[4] != '/') return;
  /* the source string lives as long as its function: a stable address */
  uint64_t x = (uint64_t)(uintptr_t)src * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uint32_t)ar->currentline * 0xC2B2AE3D27D4EB4Full;
  uint32_t loc = (uint32_t)(x >> 40);
  uint8_t *c = &lua_edges[(loc ^ prev_loc) & (NCOUNTERS - 1)];
  if (*c != 255) (*c)++;
  prev_loc = loc >> 1;
}

/* Lua allocates and frees small blocks all the time: ASan's filling of
 * every new block and its 256 MB quarantine cost more than the Lua code
 * under test (the interpreter itself is not instrumented anyway). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_malloc_fill_size=0:quarantine_size_mb=64"; }

static int traceback(lua_State *l) {
  const char *msg = lua_tostring(l, 1);
  if (!msg) msg = lua_pushfstring(l, "(error object is a %s value)", luaL_typename(l, 1));
  luaL_traceback(l, l, msg, 1);
  return 1;
}

static void fail(const char *what) {
  fprintf(stderr, "fuzz_lua: %s: %s\n", what, lua_tostring(L, -1));
  abort();
}

/* At exit the state is closed (every __gc runs) before LeakSanitizer's
 * final check: what C code allocated for Lua objects must be freed by then. */
static void close_state(void) {
  if (!H) return;
  host_free(H);
  H = NULL;
  L = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  H = host_new();
  if (!H) {
    fprintf(stderr, "fuzz_lua: cannot create the Lua state\n");
    abort();
  }
  L = host_lua(H);
  const char *cov = getenv("FUZZ_LUA_COVERAGE");
  if (cov && strcmp(cov, "0") == 0) hook_mask = 0;
  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, FUZZ_MODULE);
  if (lua_pcall(L, 1, 1, 1) != LUA_OK) fail("require " FUZZ_MODULE);
  if (!lua_isfunction(L, -1)) {
    lua_pushliteral(L, "the module did not return a function");
    fail(FUZZ_MODULE);
  }
  fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, 0);
  lua_gc(L, LUA_GCCOLLECT);
  atexit(close_state);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_settop(L, 0);
  lua_pushcfunction(L, traceback);
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  lua_pushlstring(L, (const char *)data, size);
  prev_loc = 0;
  cached_ci = NULL;
  if (hook_mask) lua_sethook(L, line_hook, hook_mask, 0);
  int rc = lua_pcall(L, 1, 0, 1);
  lua_sethook(L, NULL, 0, 0);
  if (rc != LUA_OK) fail("finding");
  lua_settop(L, 0);
  /* a full collection now and then keeps the heap (and LSan's scans) small */
  if (++runs % 4096 == 0) lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
