/* opro.core.vec: float32 vectors ("opro.vec") and matrices ("opro.matrix")
 * for embeddings; see docs/vectors.md. Indices are 1-based in Lua. */
#include <float.h>
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embed_hash.h"
#include "vec.h"
#include "vec_json.h"

#define VEC_MT "opro.vec"
#define MAT_MT "opro.matrix"

typedef struct {
  float *data;
  size_t dim;
  int closed;
} lvec;

typedef struct {
  vec_matrix m;
  size_t cap;    /* rows allocated */
  int closed;
} lmat;

/* ---- helpers ---- */

static lvec *newvec(lua_State *L, size_t dim) {
  lvec *v = lua_newuserdatauv(L, sizeof *v, 0);
  v->data = NULL;
  v->dim = 0;
  v->closed = 0;
  luaL_setmetatable(L, VEC_MT);
  if (dim > SIZE_MAX / sizeof(float)) luaL_error(L, "opro.vec: dimension %I too large", (lua_Integer)dim);
  v->data = calloc(dim ? dim : 1, sizeof(float));
  if (!v->data) luaL_error(L, "opro.vec: out of memory (%I floats)", (lua_Integer)dim);
  v->dim = dim;
  return v;
}

static lvec *checkvec(lua_State *L, int idx) {
  lvec *v = luaL_checkudata(L, idx, VEC_MT);
  if (v->closed) luaL_error(L, "attempt to use a closed vector");
  return v;
}

static lmat *newmat(lua_State *L) {
  lmat *m = lua_newuserdatauv(L, sizeof *m, 0);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, MAT_MT);
  return m;
}

static lmat *checkmat(lua_State *L, int idx) {
  lmat *m = luaL_checkudata(L, idx, MAT_MT);
  if (m->closed) luaL_error(L, "attempt to use a closed matrix");
  return m;
}

static void check_float(lua_State *L, double x, const char *what, lua_Integer i) {
  if (isnan(x)) luaL_error(L, "%s: element %I is NaN", what, i);
  if (!isfinite(x) || fabs(x) > FLT_MAX) luaL_error(L, "%s: element %I (%f) is out of float32 range", what, i, x);
}

/* table at idx -> new vector pushed on the stack */
static lvec *vec_from_table(lua_State *L, int idx, const char *what) {
  idx = lua_absindex(L, idx);
  lua_Integer n = luaL_len(L, idx);
  lvec *v = newvec(L, (size_t)n);
  for (lua_Integer i = 1; i <= n; i++) {
    int t = lua_geti(L, idx, i);
    if (t != LUA_TNUMBER) luaL_error(L, "%s: element %I is a %s, not a number", what, i, lua_typename(L, t));
    double x = lua_tonumber(L, -1);
    lua_pop(L, 1);
    check_float(L, x, what, i);
    v->data[i - 1] = (float)x;
  }
  return v;
}

/* a vector argument: an opro.vec, or a table converted to one (pushed on
 * the stack, so the caller must not rely on stack positions after it) */
static const float *vec_arg(lua_State *L, int idx, size_t *dim, const char *what) {
  if (lua_istable(L, idx)) {
    lvec *v = vec_from_table(L, idx, what);
    *dim = v->dim;
    return v->data;
  }
  lvec *v = luaL_testudata(L, idx, VEC_MT);
  if (!v) luaL_typeerror(L, idx, "opro.vec or table of numbers");
  if (v->closed) luaL_error(L, "attempt to use a closed vector");
  *dim = v->dim;
  return v->data;
}

static void check_same_dim(lua_State *L, size_t a, size_t b, const char *what) {
  if (a != b) luaL_error(L, "%s: dimension mismatch (%I vs %I)", what, (lua_Integer)a, (lua_Integer)b);
}

static lua_Integer check_index(lua_State *L, int arg, size_t n, const char *what) {
  lua_Integer i = luaL_checkinteger(L, arg);
  if (i < 1 || (lua_Unsigned)i > n) luaL_error(L, "%s: index %I out of range 1..%I", what, i, (lua_Integer)n);
  return i;
}

/* makes room for `more` rows of dimension dim (sets the dimension of an
 * empty matrix) */
static void mat_reserve(lua_State *L, lmat *m, size_t more, size_t dim) {
  if (m->m.rows == 0 && m->m.dim == 0) m->m.dim = dim;
  check_same_dim(L, m->m.dim, dim, "matrix:append");
  if (dim == 0 && more > 0) luaL_error(L, "matrix:append: cannot append 0-dimensional vectors");
  size_t need = m->m.rows + more;
  if (need <= m->cap) return;
  size_t nc = m->cap ? m->cap : 8;
  while (nc < need) nc *= 2;
  if (dim && nc > SIZE_MAX / sizeof(float) / dim) luaL_error(L, "matrix: too many rows");
  float *nd = realloc(m->m.data, nc * dim * sizeof(float));
  if (!nd) luaL_error(L, "matrix: out of memory");
  m->m.data = nd;
  double *nn = realloc(m->m.rownorm, nc * sizeof(double));
  if (!nn) luaL_error(L, "matrix: out of memory");
  m->m.rownorm = nn;
  m->cap = nc;
}

static void mat_push_row(lmat *m, const float *row) {
  float *dst = m->m.data + m->m.rows * m->m.dim;
  memcpy(dst, row, m->m.dim * sizeof(float));
  m->m.rownorm[m->m.rows] = vec_norm(dst, m->m.dim);
  m->m.rows++;
}

/* appends the value at idx: a vector, a table of numbers or a matrix */
static void mat_append_value(lua_State *L, lmat *m, int idx, const char *what) {
  idx = lua_absindex(L, idx);
  lmat *o = luaL_testudata(L, idx, MAT_MT);
  if (o) {
    if (o->closed) luaL_error(L, "attempt to use a closed matrix");
    if (o->m.rows == 0) return;
    mat_reserve(L, m, o->m.rows, o->m.dim);
    size_t rows = o->m.rows;   /* o may be m itself */
    for (size_t r = 0; r < rows; r++) mat_push_row(m, o->m.data + r * o->m.dim);
    return;
  }
  int top = lua_gettop(L);
  size_t dim;
  const float *d = vec_arg(L, idx, &dim, what);
  mat_reserve(L, m, 1, dim);
  mat_push_row(m, d);
  lua_settop(L, top);
}

static void push_bytes(lua_State *L, const float *d, size_t n) {
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, n * 4);
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &d[i], 4);
    out[4 * i] = (char)(u & 0xFF);
    out[4 * i + 1] = (char)((u >> 8) & 0xFF);
    out[4 * i + 2] = (char)((u >> 16) & 0xFF);
    out[4 * i + 3] = (char)((u >> 24) & 0xFF);
  }
  luaL_pushresultsize(&b, n * 4);
}

static void read_bytes(lua_State *L, const char *s, float *d, size_t n, const char *what) {
  const unsigned char *u8 = (const unsigned char *)s;
  for (size_t i = 0; i < n; i++) {
    uint32_t u = (uint32_t)u8[4 * i] | (uint32_t)u8[4 * i + 1] << 8 | (uint32_t)u8[4 * i + 2] << 16 |
                 (uint32_t)u8[4 * i + 3] << 24;
    memcpy(&d[i], &u, 4);
    if (!isfinite(d[i])) luaL_error(L, "%s: element %I is not a finite number", what, (lua_Integer)(i + 1));
  }
}

/* ---- vector methods ---- */

static int v_dim(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkvec(L, 1)->dim);
  return 1;
}

static int v_get(lua_State *L) {
  lvec *v = checkvec(L, 1);
  lua_Integer i = check_index(L, 2, v->dim, "vec:get");
  lua_pushnumber(L, v->data[i - 1]);
  return 1;
}

static int v_totable(lua_State *L) {
  lvec *v = checkvec(L, 1);
  lua_createtable(L, (int)v->dim, 0);
  for (size_t i = 0; i < v->dim; i++) {
    lua_pushnumber(L, v->data[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static int v_dot(lua_State *L) {
  lvec *v = checkvec(L, 1);
  size_t n;
  const float *o = vec_arg(L, 2, &n, "vec:dot");
  check_same_dim(L, v->dim, n, "vec:dot");
  lua_pushnumber(L, vec_dot(v->data, o, n));
  return 1;
}

static int v_cosine(lua_State *L) {
  lvec *v = checkvec(L, 1);
  size_t n;
  const float *o = vec_arg(L, 2, &n, "vec:cosine");
  check_same_dim(L, v->dim, n, "vec:cosine");
  lua_pushnumber(L, vec_cosine(v->data, o, n));
  return 1;
}

static int v_norm(lua_State *L) {
  lvec *v = checkvec(L, 1);
  lua_pushnumber(L, vec_norm(v->data, v->dim));
  return 1;
}

static int v_normalize(lua_State *L) {
  lvec *v = checkvec(L, 1);
  lvec *r = newvec(L, v->dim);
  memcpy(r->data, v->data, v->dim * sizeof(float));
  vec_normalize(r->data, r->dim);
  return 1;
}

static int v_bytes(lua_State *L) {
  lvec *v = checkvec(L, 1);
  push_bytes(L, v->data, v->dim);
  return 1;
}

static int v_gc(lua_State *L) {
  lvec *v = luaL_checkudata(L, 1, VEC_MT);
  if (!v->closed) {
    free(v->data);
    v->data = NULL;
    v->dim = 0;
    v->closed = 1;
  }
  return 0;
}

static int v_tostring(lua_State *L) {
  lvec *v = luaL_checkudata(L, 1, VEC_MT);
  if (v->closed) {
    lua_pushliteral(L, "opro.vec (closed)");
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "opro.vec(%I: ", (lua_Integer)v->dim);
  luaL_addvalue(&b);
  for (size_t i = 0; i < v->dim && i < 4; i++) {
    lua_pushfstring(L, "%s%f", i ? ", " : "", (double)v->data[i]);
    luaL_addvalue(&b);
  }
  luaL_addstring(&b, v->dim > 4 ? ", ...)" : ")");
  luaL_pushresult(&b);
  return 1;
}

/* ---- matrix methods ---- */

static int m_rows(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkmat(L, 1)->m.rows);
  return 1;
}

static int m_dim(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkmat(L, 1)->m.dim);
  return 1;
}

static int m_row(lua_State *L) {
  lmat *m = checkmat(L, 1);
  lua_Integer i = check_index(L, 2, m->m.rows, "matrix:row");
  lvec *v = newvec(L, m->m.dim);
  memcpy(v->data, m->m.data + (size_t)(i - 1) * m->m.dim, m->m.dim * sizeof(float));
  return 1;
}

static int m_append(lua_State *L) {
  lmat *m = checkmat(L, 1);
  luaL_checkany(L, 2);
  mat_append_value(L, m, 2, "matrix:append");
  lua_pushinteger(L, (lua_Integer)m->m.rows);
  return 1;
}

/* the query argument of topk/max_cosine, checked against the matrix */
static const float *query_arg(lua_State *L, lmat *m, int idx, const char *what) {
  size_t n;
  const float *q = vec_arg(L, idx, &n, what);
  if (m->m.rows > 0) check_same_dim(L, m->m.dim, n, what);
  return q;
}

static double *work_for(lua_State *L, size_t dim) {
  return lua_newuserdatauv(L, (dim ? dim : 1) * sizeof(double), 0);
}

static int m_topk(lua_State *L) {
  lmat *m = checkmat(L, 1);
  lua_Integer k = luaL_checkinteger(L, 3);
  if (k < 0) luaL_argerror(L, 3, "k must be >= 0");
  static const char *const metrics[] = {"cosine", "dot", NULL};
  vec_metric metric = (vec_metric)luaL_checkoption(L, 4, "cosine", metrics);
  const float *q = query_arg(L, m, 2, "matrix:topk");
  size_t kk = (lua_Unsigned)k < m->m.rows ? (size_t)k : m->m.rows;
  size_t *idx = lua_newuserdatauv(L, (kk ? kk : 1) * sizeof(size_t), 0);
  double *sc = lua_newuserdatauv(L, (kk ? kk : 1) * sizeof(double), 0);
  double *work = work_for(L, m->m.dim);
  size_t n = vec_topk(&m->m, q, kk, metric, idx, sc, work);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)idx[i] + 1);
    lua_rawseti(L, -3, (lua_Integer)i + 1);
    lua_pushnumber(L, sc[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 2;
}

static int m_max_cosine(lua_State *L) {
  lmat *m = checkmat(L, 1);
  const float *q = query_arg(L, m, 2, "matrix:max_cosine");
  double *work = work_for(L, m->m.dim);
  double best;
  size_t where;
  if (!vec_max_cosine(&m->m, q, &best, &where, work)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushnumber(L, best);
  lua_pushinteger(L, (lua_Integer)where + 1);
  return 2;
}

static int m_pairwise(lua_State *L) {
  lmat *m = checkmat(L, 1);
  double *work = work_for(L, m->m.dim);
  double mean, max;
  size_t pairs = vec_pairwise_cosine(&m->m, &mean, &max, work);
  lua_pushnumber(L, mean);
  lua_pushnumber(L, max);
  lua_pushinteger(L, (lua_Integer)pairs);
  return 3;
}

static int m_bytes(lua_State *L) {
  lmat *m = checkmat(L, 1);
  push_bytes(L, m->m.data, m->m.rows * m->m.dim);
  return 1;
}

static int m_totable(lua_State *L) {
  lmat *m = checkmat(L, 1);
  lua_createtable(L, (int)m->m.rows, 0);
  for (size_t r = 0; r < m->m.rows; r++) {
    lua_createtable(L, (int)m->m.dim, 0);
    for (size_t i = 0; i < m->m.dim; i++) {
      lua_pushnumber(L, m->m.data[r * m->m.dim + i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
  return 1;
}

static int m_gc(lua_State *L) {
  lmat *m = luaL_checkudata(L, 1, MAT_MT);
  if (!m->closed) {
    free(m->m.data);
    free(m->m.rownorm);
    memset(m, 0, sizeof *m);
    m->closed = 1;
  }
  return 0;
}

static int m_tostring(lua_State *L) {
  lmat *m = luaL_checkudata(L, 1, MAT_MT);
  if (m->closed) lua_pushliteral(L, "opro.matrix (closed)");
  else lua_pushfstring(L, "opro.matrix(%I x %I)", (lua_Integer)m->m.rows, (lua_Integer)m->m.dim);
  return 1;
}

/* ---- module functions ---- */

static int f_new(lua_State *L) {
  if (luaL_testudata(L, 1, VEC_MT)) {
    lvec *o = checkvec(L, 1);
    lvec *v = newvec(L, o->dim);
    memcpy(v->data, o->data, o->dim * sizeof(float));
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  vec_from_table(L, 1, "opro.vec.new");
  return 1;
}

static int f_zeros(lua_State *L) {
  lua_Integer d = luaL_checkinteger(L, 1);
  if (d < 0) luaL_argerror(L, 1, "dimension must be >= 0");
  newvec(L, (size_t)d);
  return 1;
}

static int f_matrix(lua_State *L) {
  int has_list = !lua_isnoneornil(L, 1);
  if (has_list) luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer dim = luaL_optinteger(L, 2, 0);
  if (dim < 0) luaL_argerror(L, 2, "dimension must be >= 0");
  lmat *m = newmat(L);
  m->m.dim = (size_t)dim;
  if (!has_list) return 1;
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (!lua_istable(L, -1) && !luaL_testudata(L, -1, VEC_MT))
      luaL_error(L, "opro.vec.matrix: row %I is a %s, not a vector or a table", i, luaL_typename(L, -1));
    size_t before = m->m.dim;
    if (lua_istable(L, -1) && m->m.rows > 0 && (size_t)luaL_len(L, -1) != before)
      luaL_error(L, "opro.vec.matrix: row %I has %I elements, expected %I", i, luaL_len(L, -1), (lua_Integer)before);
    mat_append_value(L, m, -1, "opro.vec.matrix");
    lua_pop(L, 1);
  }
  return 1;
}

static int f_from_bytes(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (len % 4) luaL_error(L, "opro.vec.from_bytes: %I bytes is not a whole number of float32", (lua_Integer)len);
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer d = luaL_checkinteger(L, 2);
    if (d < 0 || (lua_Unsigned)d != len / 4)
      luaL_error(L, "opro.vec.from_bytes: %I bytes hold %I floats, expected %I", (lua_Integer)len,
                 (lua_Integer)(len / 4), d);
  }
  lvec *v = newvec(L, len / 4);
  read_bytes(L, s, v->data, v->dim, "opro.vec.from_bytes");
  return 1;
}

static int f_matrix_from_bytes(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer d = luaL_checkinteger(L, 2);
  if (d < 1) luaL_argerror(L, 2, "dimension must be >= 1");
  if (len % ((size_t)d * 4))
    luaL_error(L, "opro.vec.matrix_from_bytes: %I bytes is not a whole number of rows of %I float32",
               (lua_Integer)len, d);
  size_t rows = len / ((size_t)d * 4);
  lmat *m = newmat(L);
  mat_reserve(L, m, rows, (size_t)d);
  read_bytes(L, s, m->m.data, rows * (size_t)d, "opro.vec.matrix_from_bytes");
  for (size_t r = 0; r < rows; r++) m->m.rownorm[r] = vec_norm(m->m.data + r * (size_t)d, (size_t)d);
  m->m.rows = rows;
  return 1;
}

static int f_from_json(lua_State *L) {
  size_t len, klen;
  const char *s = luaL_checklstring(L, 1, &len);
  const char *key = luaL_checklstring(L, 2, &klen);
  lmat *m = newmat(L);
  vec_json_result r;
  if (vec_json_extract(s, len, key, klen, &r) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "opro.vec.from_json: %s", r.err);
    lua_pushliteral(L, "parse");
    return 3;
  }
  double *norms = malloc((r.rows ? r.rows : 1) * sizeof(double));
  if (!norms) {
    free(r.data);
    return luaL_error(L, "opro.vec.from_json: out of memory");
  }
  for (size_t i = 0; i < r.rows; i++) norms[i] = vec_norm(r.data + i * r.dim, r.dim);
  m->m.data = r.data;
  m->m.rownorm = norms;
  m->m.rows = r.rows;
  m->m.dim = r.dim;
  m->cap = r.rows;
  if (!m->m.data && r.rows == 0) m->cap = 0;
  return 1;
}

static int f_hash_embed(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer dim = luaL_checkinteger(L, 2);
  if (dim < 1 || dim > (1 << 24)) luaL_argerror(L, 2, "dimension must be in 1..16777216");
  lua_Integer n = luaL_len(L, 1);
  lmat *m = newmat(L);
  m->m.dim = (size_t)dim;
  if (n > 0) mat_reserve(L, m, (size_t)n, (size_t)dim);
  float *work = lua_newuserdatauv(L, (size_t)dim * sizeof(float), 0);
  size_t scap = 0;
  char *scratch = NULL;
  int scratch_idx = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    size_t len;
    if (lua_geti(L, 1, i) != LUA_TSTRING)
      luaL_error(L, "opro.embed.hashed: text %I is a %s, not a string", i, luaL_typename(L, -1));
    const char *t = lua_tolstring(L, -1, &len);
    if (2 * len + 2 > scap) {
      if (scratch_idx) lua_remove(L, scratch_idx);
      scap = 2 * len + 64;
      scratch = lua_newuserdatauv(L, scap, 0);
      lua_insert(L, -2);           /* below the text */
      scratch_idx = lua_gettop(L) - 1;
    }
    float *row = m->m.data + m->m.rows * m->m.dim;
    embed_hash(t, len, row, m->m.dim, work, scratch);
    m->m.rownorm[m->m.rows] = vec_norm(row, m->m.dim);
    m->m.rows++;
    lua_pop(L, 1);
  }
  if (scratch_idx) lua_remove(L, scratch_idx);
  lua_pop(L, 1);   /* work */
  return 1;
}

static int f_is_vec(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, VEC_MT) != NULL);
  return 1;
}

static int f_is_matrix(lua_State *L) {
  lua_pushboolean(L, luaL_testudata(L, 1, MAT_MT) != NULL);
  return 1;
}

static int f_kernel(lua_State *L) {
  if (!lua_isnone(L, 1)) {
    const char *want = luaL_checkstring(L, 1);
    if (strcmp(want, "generic") == 0) vec_force_generic(1);
    else if (strcmp(want, "auto") == 0) vec_force_generic(0);
    else luaL_argerror(L, 1, "'generic' or 'auto' expected");
  }
  lua_pushstring(L, vec_kernel_name());
  return 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* membw(megabytes, repeats) -> read GB/s, copy GB/s (best of repeats): the
 * machine's memory bandwidth, for benchmarks */
static int f_membw(lua_State *L) {
  lua_Integer mb = luaL_optinteger(L, 1, 512);
  lua_Integer reps = luaL_optinteger(L, 2, 5);
  if (mb < 1 || reps < 1) luaL_argerror(L, 1, "megabytes and repeats must be >= 1");
  size_t n = (size_t)mb * 1024 * 1024 / sizeof(float);
  float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
  if (!a || !b) {
    free(a);
    free(b);
    return luaL_error(L, "membw: out of memory");
  }
  for (size_t i = 0; i < n; i++) a[i] = (float)(i & 1023);
  memset(b, 0, n * sizeof(float));
  double best_read = 0, best_copy = 0, sink = 0;
  for (lua_Integer r = 0; r < reps; r++) {
    double t0 = now_s();
    sink += vec_sum(a, n);
    double t1 = now_s();
    memcpy(b, a, n * sizeof(float));
    double t2 = now_s();
    sink += b[n / 2];
    double rd = (double)n * sizeof(float) / (t1 - t0) / 1e9;
    double cp = 2.0 * (double)n * sizeof(float) / (t2 - t1) / 1e9;  /* bytes read + written */
    if (rd > best_read) best_read = rd;
    if (cp > best_copy) best_copy = cp;
  }
  free(a);
  free(b);
  lua_pushnumber(L, best_read);
  lua_pushnumber(L, best_copy);
  lua_pushnumber(L, sink);
  return 3;
}

static const luaL_Reg vec_methods[] = {
  {"dim", v_dim}, {"get", v_get}, {"totable", v_totable}, {"dot", v_dot}, {"norm", v_norm},
  {"cosine", v_cosine}, {"normalize", v_normalize}, {"bytes", v_bytes}, {"close", v_gc}, {NULL, NULL}};

static const luaL_Reg vec_meta[] = {
  {"__gc", v_gc}, {"__close", v_gc}, {"__tostring", v_tostring}, {"__len", v_dim}, {NULL, NULL}};

static const luaL_Reg mat_methods[] = {
  {"rows", m_rows}, {"dim", m_dim}, {"row", m_row}, {"append", m_append}, {"topk", m_topk},
  {"max_cosine", m_max_cosine}, {"pairwise_cosine", m_pairwise}, {"bytes", m_bytes},
  {"totable", m_totable}, {"close", m_gc}, {NULL, NULL}};

static const luaL_Reg mat_meta[] = {
  {"__gc", m_gc}, {"__close", m_gc}, {"__tostring", m_tostring}, {"__len", m_rows}, {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"new", f_new}, {"zeros", f_zeros}, {"matrix", f_matrix}, {"from_bytes", f_from_bytes},
  {"matrix_from_bytes", f_matrix_from_bytes}, {"from_json", f_from_json}, {"hash_embed", f_hash_embed},
  {"is_vec", f_is_vec}, {"is_matrix", f_is_matrix}, {"kernel", f_kernel}, {"membw", f_membw}, {NULL, NULL}};

static void make_meta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *methods) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

int luaopen_opro_core_vec(lua_State *L) {
  make_meta(L, VEC_MT, vec_meta, vec_methods);
  make_meta(L, MAT_MT, mat_meta, mat_methods);
  luaL_newlib(L, funcs);
  return 1;
}
