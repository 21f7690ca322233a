/* The Lua state's allocator (src/luaalloc.c): blocks keep their bytes
 * through every resize across the small classes and malloc, none
 * overlaps another, and a Lua state runs on it. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "luaalloc.h"
#include "tap.h"

#define NBLOCKS 2000

static unsigned seed = 7;
static unsigned rnd(unsigned n) {
  seed = seed * 1103515245u + 12345u;
  return (seed >> 8) % n;
}

static int check(const unsigned char *p, size_t n, unsigned char tag) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(tag + i)) return 0;
  return 1;
}

static void fill(unsigned char *p, size_t n, unsigned char tag) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(tag + i);
}

int main(void) {
  lua_pool *P = lua_pool_new();
  TAP_OK(P != NULL, "a pool");
  static unsigned char *blk[NBLOCKS];
  static size_t len[NBLOCKS];
  static unsigned char tag[NBLOCKS];
  int intact = 1, aligned = 1;
  for (int step = 0; step < 200000; step++) {
    int i = (int)rnd(NBLOCKS);
    /* sizes around the class edges, up to past the small limit */
    size_t n = rnd(4) == 0 ? 1 + rnd(1200) : 1 + rnd(300);
    if (rnd(5) == 0) n = 0;
    if (blk[i] && !check(blk[i], len[i], tag[i])) intact = 0;
    unsigned char *p = lua_pool_alloc(P, blk[i], blk[i] ? len[i] : 5 /* a type tag */, n);
    if (n == 0) {
      if (p != NULL) intact = 0;   /* freeing returns NULL */
      blk[i] = NULL;
      len[i] = 0;
      continue;
    }
    if (!p) { intact = 0; break; }
    if ((uintptr_t)p % 16 != 0) aligned = 0;
    size_t keep = blk[i] ? (len[i] < n ? len[i] : n) : 0;
    if (keep && !check(p, keep, tag[i])) intact = 0;   /* a resize keeps the common prefix */
    blk[i] = p;
    len[i] = n;
    tag[i] = (unsigned char)rnd(256);
    fill(p, n, tag[i]);
  }
  for (int i = 0; i < NBLOCKS; i++)
    if (blk[i] && !check(blk[i], len[i], tag[i])) intact = 0;
  TAP_OK(intact, "200,000 random allocations, resizes and frees: every block keeps its bytes (no overlap)");
  TAP_OK(aligned, "every block is 16-byte aligned");
  for (int i = 0; i < NBLOCKS; i++)
    if (blk[i]) lua_pool_alloc(P, blk[i], len[i], 0);

  /* a Lua state on the pool */
  lua_State *L = lua_newstate(lua_pool_alloc, P);
  TAP_OK(L != NULL, "lua_newstate on the pool");
  luaL_openlibs(L);
  const char *code =
    "local t = {}\n"
    "for i = 1, 100000 do t[i] = { i, tostring(i), ('x'):rep(i % 300) } end\n"
    "local s = 0\n"
    "for i = 1, #t, 7 do s = s + t[i][1] + #t[i][3]; t[i] = nil end\n"
    "collectgarbage()\n"
    "local parts = {}\n"
    "for i = 1, 5000 do parts[#parts + 1] = string.format('%05d', i) end\n"
    "return s, table.concat(parts):sub(1, 15), #t\n";
  int rc = luaL_dostring(L, code);
  TAP_OK(rc == LUA_OK, "a Lua workload runs (%s)", rc == LUA_OK ? "ok" : lua_tostring(L, -1));
  if (rc == LUA_OK) {
    TAP_OK(lua_tointeger(L, -3) == 716412942, "its sum is right (%lld)", (long long)lua_tointeger(L, -3));
    TAP_OK(strcmp(lua_tostring(L, -2), "000010000200003") == 0, "its strings are right");
  }
  lua_close(L);
  lua_pool_free(P);
  return tap_done();
}
