/* opro.core.hash: digests for cache keys.
 *   sha256(s) -> 64 lower-case hex characters */
#include <lauxlib.h>

#include "sha256.h"

static int l_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  sha256_hex(s, len, hex);
  lua_pushlstring(L, hex, 64);
  return 1;
}

static const luaL_Reg funcs[] = {{"sha256", l_sha256}, {NULL, NULL}};

int luaopen_opro_core_hash(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
