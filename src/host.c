/* host: builds the Lua state and runs the main task. See host.h. */
#include "host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"
#include "http.h"
#include "luaalloc.h"
#include "sched.h"

extern int luaopen_cjson(lua_State *L);
extern int luaopen_cjson_safe(lua_State *L);

#define OPRO_MODULE(name) extern int luaopen_opro_core_##name(lua_State *L);
#include "modules.h"
#undef OPRO_MODULE

struct host {
  lua_State *L;
  sched *S;
  lua_pool *pool;        /* the state's small blocks (NULL: malloc for all) */
};

static const luaL_Reg c_modules[] = {
#define OPRO_MODULE(name) {"opro.core." #name, luaopen_opro_core_##name},
#include "modules.h"
#undef OPRO_MODULE
  {"cjson", luaopen_cjson},
  {"cjson.safe", luaopen_cjson_safe},
  {NULL, NULL}};

/* What luaL_newstate sets besides the allocator: a panic message, and
 * warnings off until "@on" (lua -W) turns them on. */
static int on_panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "error object is not a string");
  fflush(stderr);
  return 0;   /* abort */
}

static void warn_on(void *ud, const char *msg, int tocont);
static void warn_off(void *ud, const char *msg, int tocont);

/* "@on" / "@off" (a message of one piece): returns 1 when msg was one */
static int warn_control(lua_State *L, const char *msg, int tocont) {
  if (tocont || msg[0] != '@') return 0;
  if (strcmp(msg + 1, "off") == 0) lua_setwarnf(L, warn_off, L);
  else if (strcmp(msg + 1, "on") == 0) lua_setwarnf(L, warn_on, L);
  return 1;
}

static void warn_off(void *ud, const char *msg, int tocont) { warn_control(ud, msg, tocont); }

/* the rest of a message in pieces (tocont: more pieces follow) */
static void warn_more(void *ud, const char *msg, int tocont) {
  fputs(msg, stderr);
  if (tocont) {
    lua_setwarnf(ud, warn_more, ud);
  } else {
    fputs("\n", stderr);
    fflush(stderr);
    lua_setwarnf(ud, warn_on, ud);
  }
}

static void warn_on(void *ud, const char *msg, int tocont) {
  if (warn_control(ud, msg, tocont)) return;
  fputs("Lua warning: ", stderr);
  warn_more(ud, msg, tocont);
}

#if defined(__SANITIZE_ADDRESS__)
#define POOL_DEFAULT 0       /* AddressSanitizer checks each malloc'd block */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_DEFAULT 0
#endif
#endif
#ifndef POOL_DEFAULT
#define POOL_DEFAULT 1
#endif

static lua_State *new_state(host *H) {
  const char *how = getenv("OPRO_LUA_ALLOC");
  int pool = how && strcmp(how, "system") == 0 ? 0 : POOL_DEFAULT;
  if (!pool) return luaL_newstate();
  H->pool = lua_pool_new();
  if (!H->pool) return NULL;
  lua_State *L = lua_newstate(lua_pool_alloc, H->pool);
  if (!L) return NULL;
  lua_atpanic(L, on_panic);
  lua_setwarnf(L, warn_off, L);
  return L;
}

host *host_new(void) {
  host *H = calloc(1, sizeof *H);
  if (!H) return NULL;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  H->L = new_state(H);
  if (!H->L) { lua_pool_free(H->pool); free(H); return NULL; }
  luaL_openlibs(H->L);
  embed_install(H->L, c_modules);
  H->S = sched_new(H->L);
  if (!H->S) { lua_close(H->L); lua_pool_free(H->pool); free(H); return NULL; }
  lua_pushstring(H->L, OPRO_VERSION);
  lua_setglobal(H->L, "_OPRO_VERSION");
  return H;
}

void host_free(host *H) {
  if (!H) return;
  lua_close(H->L);      /* closes transfers' userdata before the multi handle */
  lua_pool_free(H->pool);
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
