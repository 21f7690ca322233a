/* opro.core.hash: digests for cache keys.
 *   sha256(s) -> 64 lower-case hex characters
 *   json_quote(s) -> s as a JSON string literal with the minimal escapes
 *     (", \, and control characters; the rest byte for byte) */
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

static int l_json_quote(lua_State *L) {
  static const char hexd[] = "0123456789abcdef";
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  luaL_buffinitsize(L, &b, len + 2);
  luaL_addchar(&b, '"');
  size_t run = 0;     /* start of the bytes not yet copied */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    luaL_addlstring(&b, s + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': luaL_addstring(&b, "\\\""); break;
      case '\\': luaL_addstring(&b, "\\\\"); break;
      case '\b': luaL_addstring(&b, "\\b"); break;
      case '\f': luaL_addstring(&b, "\\f"); break;
      case '\n': luaL_addstring(&b, "\\n"); break;
      case '\r': luaL_addstring(&b, "\\r"); break;
      case '\t': luaL_addstring(&b, "\\t"); break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
        luaL_addlstring(&b, u, 6);
      }
    }
  }
  luaL_addlstring(&b, s + run, len - run);
  luaL_addchar(&b, '"');
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg funcs[] = {{"sha256", l_sha256}, {"json_quote", l_json_quote}, {NULL, NULL}};

int luaopen_opro_core_hash(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
