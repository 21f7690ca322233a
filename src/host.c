/* host: builds the Lua state and runs the main task. See host.h. */
#include "host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "http.h"
#include "sched.h"

extern int luaopen_cjson(lua_State *L);
extern int luaopen_cjson_safe(lua_State *L);

#define OPRO_MODULE(name) extern int luaopen_opro_core_##name(lua_State *L);
#include "modules.h"
#undef OPRO_MODULE

struct host {
  lua_State *L;
  sched *S;
};

static const luaL_Reg c_modules[] = {
#define OPRO_MODULE(name) {"opro.core." #name, luaopen_opro_core_##name},
#include "modules.h"
#undef OPRO_MODULE
  {"cjson", luaopen_cjson},
  {"cjson.safe", luaopen_cjson_safe},
  {NULL, NULL}};

host *host_new(void) {
  host *H = calloc(1, sizeof *H);
  if (!H) return NULL;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  H->L = luaL_newstate();
  if (!H->L) { free(H); return NULL; }
  luaL_openlibs(H->L);
  embed_install(H->L, c_modules);
  H->S = sched_new(H->L);
  if (!H->S) { lua_close(H->L); free(H); return NULL; }
  lua_pushstring(H->L, OPRO_VERSION);
  lua_setglobal(H->L, "_OPRO_VERSION");
  return H;
}

void host_free(host *H) {
  if (!H) return;
  lua_close(H->L);      /* closes transfers' userdata before the multi handle */
  sched_free(H->S);
  http_shutdown();
  curl_global_cleanup();
  free(H);
}

lua_State *host_lua(host *H) { return H->L; }

/* arg[] as lua.c builds it: the script at 0, its arguments after, the
 * interpreter and its options at negative indices. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script_index) {
  int base = script_index >= 0 ? script_index : argc;
  lua_createtable(L, argc > base ? argc - base : 0, base + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - base);
  }
  lua_setglobal(L, "arg");
}

static int report_startup_error(lua_State *L) {
  fprintf(stderr, "opro-lua: %s\n", lua_tostring(L, -1));
  lua_pop(L, 1);
  return 1;
}

int host_run(host *H, const host_action *acts, int nacts, char **argv, int argc, int script_index) {
  lua_State *L = H->L;
  create_arg_table(L, argv, argc, script_index);
  /* the driver: lua/opro/host.lua returns function(actions, args...) */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "opro.host");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) return report_startup_error(L);
  lua_createtable(L, nacts, 0);
  for (int i = 0; i < nacts; i++) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, acts[i].kind == ACT_EXEC ? "exec" : acts[i].kind == ACT_REQUIRE ? "require" : "script");
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, acts[i].text);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, i + 1);
  }
  int nargs = 1;
  if (script_index >= 0) {
    for (int i = script_index + 1; i < argc; i++, nargs++) {
      luaL_checkstack(L, 1, "too many arguments");
      lua_pushstring(L, argv[i]);
    }
  }
  sched_spawn(L, nargs);
  lua_pop(L, 1);
  return sched_run(H->S);
}
