/* The embedded Lua library's package searcher. See embed.h. */
#include "embed.h"

#include <string.h>

/* package.searchers entry: the loader of an embedded module and its chunk
 * name, or a message for require's list of places tried. */
static int search_embedded(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  for (const embedded_file *f = embedded_lua; f->module; f++) {
    if (strcmp(f->module, name) != 0) continue;
    if (luaL_loadbufferx(L, (const char *)f->data, f->size, f->chunkname, "t") != LUA_OK)
      return lua_error(L);
    lua_pushstring(L, f->chunkname + 1);
    return 2;
  }
  lua_pushfstring(L, "no embedded module '%s'", name);
  return 1;
}

void embed_install(lua_State *L, const luaL_Reg *preload) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = n; i >= 2; i--) {   /* make room at 2, after preload */
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushcfunction(L, search_embedded);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 1);
  lua_getfield(L, -1, "preload");
  for (const luaL_Reg *r = preload; r->name; r++) {
    lua_pushcfunction(L, r->func);
    lua_setfield(L, -2, r->name);
  }
  lua_pop(L, 2);
}
