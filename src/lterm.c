/* opro.core.term: what a progress display needs to know about a terminal.
 *   term.isatty(fd | file) -> boolean
 *   term.width(fd | file)  -> columns, or nil when not a terminal */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int check_fd(lua_State *L, int idx) {
  luaL_Stream *s = luaL_testudata(L, idx, LUA_FILEHANDLE);
  if (s) {
    if (!s->closef || !s->f) return luaL_error(L, "attempt to use a closed file");
    return fileno(s->f);
  }
  if (lua_type(L, idx) != LUA_TNUMBER)
    return luaL_typeerror(L, idx, "file descriptor or file");
  lua_Integer fd = luaL_checkinteger(L, idx);
  luaL_argcheck(L, fd >= 0 && fd < 1 << 20, idx, "bad file descriptor");
  return (int)fd;
}

static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty(check_fd(L, 1)));
  return 1;
}

static int l_width(lua_State *L) {
  int fd = check_fd(L, 1);
  struct winsize ws;
  if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, ws.ws_col);
  return 1;
}

static const luaL_Reg funcs[] = {{"isatty", l_isatty}, {"width", l_width}, {NULL, NULL}};

int luaopen_opro_core_term(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
