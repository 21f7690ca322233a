/* opro.core.tsp: TSP helpers for the paper's §3.2 task; see docs/tsp.md.
 * coords: list of {x, y} (or {x=, y=}); tours: lists of 0-based nodes. */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsp.h"

/* coords at idx -> a tsp_point array in a new userdata pushed on the stack */
static tsp_point *check_coords(lua_State *L, int idx, size_t *n, const char *fn) {
  luaL_checktype(L, idx, LUA_TTABLE);
  idx = lua_absindex(L, idx);
  lua_Integer len = luaL_len(L, idx);
  tsp_point *p = lua_newuserdatauv(L, (size_t)(len > 0 ? len : 1) * sizeof(tsp_point), 0);
  for (lua_Integer i = 1; i <= len; i++) {
    if (lua_geti(L, idx, i) != LUA_TTABLE)
      luaL_error(L, "%s: coords[%I] is a %s, not a pair {x, y}", fn, i, luaL_typename(L, -1));
    double xy[2];
    for (int c = 0; c < 2; c++) {
      int t = lua_geti(L, -1, c + 1);
      if (t == LUA_TNIL) {
        lua_pop(L, 1);
        t = lua_getfield(L, -1, c ? "y" : "x");
      }
      if (t != LUA_TNUMBER) luaL_error(L, "%s: coords[%I] has no number %s", fn, i, c ? "y" : "x");
      xy[c] = lua_tonumber(L, -1);
      if (!isfinite(xy[c])) luaL_error(L, "%s: coords[%I] is not finite", fn, i);
      lua_pop(L, 1);
    }
    p[i - 1].x = xy[0];
    p[i - 1].y = xy[1];
    lua_pop(L, 1);
  }
  *n = (size_t)len;
  return p;
}

/* tour at idx -> int array (new userdata pushed); every node in 0..n-1 */
static int *check_tour(lua_State *L, int idx, size_t n, size_t *len, const char *fn) {
  luaL_checktype(L, idx, LUA_TTABLE);
  idx = lua_absindex(L, idx);
  lua_Integer m = luaL_len(L, idx);
  int *t = lua_newuserdatauv(L, (size_t)(m > 0 ? m : 1) * sizeof(int), 0);
  for (lua_Integer i = 1; i <= m; i++) {
    lua_geti(L, idx, i);
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "%s: tour position %I is not an integer node", fn, i);
    if (v < 0 || (size_t)v >= n) luaL_error(L, "%s: tour position %I: node %I out of range 0..%I", fn, i, v, (lua_Integer)n - 1);
    t[i - 1] = (int)v;
    lua_pop(L, 1);
  }
  *len = (size_t)m;
  return t;
}

static void push_tour(lua_State *L, const int *t, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, t[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int opt_decimals(lua_State *L, int idx, const char *fn) {
  if (lua_isnoneornil(L, idx)) return -1;
  luaL_checktype(L, idx, LUA_TTABLE);
  int t = lua_getfield(L, idx, "decimals");
  int d = -1;
  if (t != LUA_TNIL) {
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < 0 || v > 15) luaL_error(L, "%s: decimals must be an integer in 0..15", fn);
    d = (int)v;
  }
  lua_pop(L, 1);
  return d;
}

static int l_length(lua_State *L) {
  lua_settop(L, 3);
  size_t n, len;
  tsp_point *p = check_coords(L, 1, &n, "tsp.length");
  int *t = check_tour(L, 2, n, &len, "tsp.length");
  int d = opt_decimals(L, 3, "tsp.length");
  lua_pushnumber(L, tsp_round(tsp_length(p, t, len), d));
  return 1;
}

static int l_round(lua_State *L) {
  double x = luaL_checknumber(L, 1);
  lua_Integer d = luaL_optinteger(L, 2, 0);
  luaL_argcheck(L, d >= 0 && d <= 15, 2, "decimals must be in 0..15");
  lua_pushnumber(L, tsp_round(x, (int)d));
  return 1;
}

/* valid(tour, n [, {start=}]) -> true | false, reason */
static int l_valid(lua_State *L) {
  lua_settop(L, 3);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "n must be >= 0");
  lua_Integer start = -1;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "start") != LUA_TNIL) start = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  lua_Integer m = luaL_len(L, 1);
  if (m != n) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "the tour has %I nodes, expected %I", m, n);
    return 2;
  }
  lua_Integer *seen = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof(lua_Integer), 0);
  memset(seen, 0, (size_t)(n > 0 ? n : 1) * sizeof(lua_Integer));
  for (lua_Integer i = 1; i <= m; i++) {
    lua_geti(L, 1, i);
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    int isnum = lua_type(L, -1) == LUA_TNUMBER;
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    if (!isint || !isnum) {
      lua_pushfstring(L, "position %I is not an integer", i);
      return 2;
    }
    if (v < 0 || v >= n) {
      lua_pushfstring(L, "node %I at position %I is out of range 0..%I", v, i, n - 1);
      return 2;
    }
    if (seen[v]) {
      lua_pushfstring(L, "node %I appears twice (positions %I and %I)", v, seen[v], i);
      return 2;
    }
    if (i == 1 && start >= 0 && v != start) {
      lua_pushfstring(L, "the tour starts at node %I, not %I", v, start);
      return 2;
    }
    lua_pop(L, 1);
    seen[v] = i;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_optimal(lua_State *L) {
  lua_settop(L, 2);
  size_t n;
  tsp_point *p = check_coords(L, 1, &n, "tsp.optimal");
  if (n < 1) return luaL_error(L, "tsp.optimal: no points");
  if (n > TSP_HELD_KARP_MAX)
    return luaL_error(L, "tsp.optimal: %I points is too many for Held-Karp (at most %d: time and memory grow as n^2 * 2^n)",
                      (lua_Integer)n, TSP_HELD_KARP_MAX);
  int *t = lua_newuserdatauv(L, n * sizeof(int), 0);
  double len;
  if (tsp_held_karp(p, n, t, &len) != 0) return luaL_error(L, "tsp.optimal: out of memory for %I points", (lua_Integer)n);
  lua_pushnumber(L, tsp_round(len, opt_decimals(L, 2, "tsp.optimal")));
  push_tour(L, t, n);
  return 2;
}

static int l_nearest(lua_State *L) {
  lua_settop(L, 3);
  size_t n;
  tsp_point *p = check_coords(L, 1, &n, "tsp.nearest_neighbour");
  if (n < 1) return luaL_error(L, "tsp.nearest_neighbour: no points");
  lua_Integer start = luaL_optinteger(L, 2, 0);
  if (start < 0 || (size_t)start >= n)
    return luaL_error(L, "tsp.nearest_neighbour: start %I out of range 0..%I", start, (lua_Integer)n - 1);
  int *t = lua_newuserdatauv(L, n * sizeof(int), 0);
  double len = tsp_nearest_neighbour(p, n, (int)start, t);
  if (len < 0) return luaL_error(L, "tsp.nearest_neighbour: out of memory");
  lua_pushnumber(L, tsp_round(len, opt_decimals(L, 3, "tsp.nearest_neighbour")));
  push_tour(L, t, n);
  return 2;
}

static int l_farthest(lua_State *L) {
  lua_settop(L, 2);
  size_t n;
  tsp_point *p = check_coords(L, 1, &n, "tsp.farthest_insertion");
  if (n < 1) return luaL_error(L, "tsp.farthest_insertion: no points");
  int d = opt_decimals(L, 2, "tsp.farthest_insertion");
  int *t = lua_newuserdatauv(L, n * sizeof(int), 0);
  double len = tsp_farthest_insertion(p, n, d, t);
  if (len < 0) return luaL_error(L, "tsp.farthest_insertion: out of memory");
  lua_pushnumber(L, tsp_round(len, d));
  push_tour(L, t, n);
  return 2;
}

static uint64_t check_seed(lua_State *L, int idx) {
  return (uint64_t)luaL_checkinteger(L, idx);
}

/* random_instance(n, seed [, {scale=100, decimals=0}]) -> coords */
static int l_random_instance(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 1000000, 1, "n must be in 0..1000000");
  uint64_t seed = check_seed(L, 2);
  double scale = 100;
  int decimals = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "scale") != LUA_TNIL) {
      scale = luaL_checknumber(L, -1);
      if (!(scale > 0) || !(scale <= 1e15)) luaL_error(L, "tsp.random_instance: scale must be a number in (0, 1e15]");
    }
    lua_pop(L, 1);
    decimals = opt_decimals(L, 3, "tsp.random_instance");
    if (decimals < 0) decimals = 0;
  }
  tsp_point *p = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof(tsp_point), 0);
  tsp_rng r;
  tsp_rng_seed(&r, seed);
  tsp_random_instance(&r, (size_t)n, scale, decimals, p);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 0; i < n; i++) {
    lua_createtable(L, 2, 0);
    if (decimals == 0) {
      lua_pushinteger(L, (lua_Integer)p[i].x);
      lua_rawseti(L, -2, 1);
      lua_pushinteger(L, (lua_Integer)p[i].y);
      lua_rawseti(L, -2, 2);
    } else {
      lua_pushnumber(L, p[i].x);
      lua_rawseti(L, -2, 1);
      lua_pushnumber(L, p[i].y);
      lua_rawseti(L, -2, 2);
    }
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* random_tour(n, seed) -> a random permutation of 0..n-1 starting at 0 */
static int l_random_tour(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 1000000, 1, "n must be in 1..1000000");
  tsp_rng r;
  tsp_rng_seed(&r, check_seed(L, 2));
  int *t = lua_newuserdatauv(L, (size_t)n * sizeof(int), 0);
  tsp_random_tour(&r, (size_t)n, t);
  push_tour(L, t, (size_t)n);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"length", l_length}, {"round", l_round}, {"valid", l_valid}, {"optimal", l_optimal},
  {"nearest_neighbour", l_nearest}, {"farthest_insertion", l_farthest},
  {"random_instance", l_random_instance}, {"random_tour", l_random_tour}, {NULL, NULL}};

int luaopen_opro_core_tsp(lua_State *L) {
  luaL_newlib(L, funcs);
  lua_pushinteger(L, TSP_HELD_KARP_MAX);
  lua_setfield(L, -2, "HELD_KARP_MAX");
  return 1;
}
