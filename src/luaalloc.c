/* luaalloc: the allocator of opro-lua's Lua state. See luaalloc.h. */
#include "luaalloc.h"

#include <stdlib.h>
#include <string.h>

#define CLASS_BYTES 16
#define NCLASSES 16                      /* blocks of up to 256 bytes */
#define SMALL_MAX (CLASS_BYTES * NCLASSES)
#define SLAB_BYTES (64 * 1024)

typedef struct free_block {
  struct free_block *next;
} free_block;

struct lua_pool {
  free_block *free[NCLASSES];
  char **slabs;                          /* every slab, freed with the pool */
  size_t nslabs, capslabs;
  char *cur;                             /* the slab being carved */
  size_t left;
};

/* Lua tells the size of a block when it frees or resizes it, so a small
 * block's class follows from its size: no header, no search. */
static size_t class_of(size_t n) { return (n - 1) / CLASS_BYTES; }

static void *small_alloc(lua_pool *P, size_t c) {
  free_block *b = P->free[c];
  if (b) {
    P->free[c] = b->next;
    return b;
  }
  size_t size = (c + 1) * CLASS_BYTES;
  if (P->left < size) {
    if (P->nslabs == P->capslabs) {
      size_t cap = P->capslabs ? P->capslabs * 2 : 64;
      char **s = realloc(P->slabs, cap * sizeof *s);
      if (!s) return NULL;
      P->slabs = s;
      P->capslabs = cap;
    }
    char *slab = malloc(SLAB_BYTES);
    if (!slab) return NULL;
    P->slabs[P->nslabs++] = slab;
    /* what is left of the old slab goes to the free lists */
    while (P->left >= CLASS_BYTES) {
      size_t k = class_of(P->left < SMALL_MAX ? P->left : SMALL_MAX);
      if ((k + 1) * CLASS_BYTES > P->left) k--;
      free_block *f = (free_block *)(void *)P->cur;
      f->next = P->free[k];
      P->free[k] = f;
      P->cur += (k + 1) * CLASS_BYTES;
      P->left -= (k + 1) * CLASS_BYTES;
    }
    P->cur = slab;
    P->left = SLAB_BYTES;
  }
  void *p = P->cur;
  P->cur += size;
  P->left -= size;
  return p;
}

static void small_free(lua_pool *P, void *p, size_t c) {
  free_block *b = p;
  b->next = P->free[c];
  P->free[c] = b;
}

void *lua_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lua_pool *P = ud;
  if (ptr == NULL) {                     /* a new block (osize names its type) */
    if (nsize == 0) return NULL;
    return nsize <= SMALL_MAX ? small_alloc(P, class_of(nsize)) : malloc(nsize);
  }
  int osmall = osize <= SMALL_MAX;
  if (nsize == 0) {
    if (osmall) small_free(P, ptr, class_of(osize));
    else free(ptr);
    return NULL;
  }
  int nsmall = nsize <= SMALL_MAX;
  if (osmall && nsmall && class_of(osize) == class_of(nsize)) return ptr;
  if (!osmall && !nsmall) return realloc(ptr, nsize);
  void *n = nsmall ? small_alloc(P, class_of(nsize)) : malloc(nsize);
  if (!n) return NULL;
  memcpy(n, ptr, osize < nsize ? osize : nsize);
  if (osmall) small_free(P, ptr, class_of(osize));
  else free(ptr);
  return n;
}

lua_pool *lua_pool_new(void) {
  return calloc(1, sizeof(lua_pool));
}

void lua_pool_free(lua_pool *P) {
  if (!P) return;
  for (size_t i = 0; i < P->nslabs; i++) free(P->slabs[i]);
  free(P->slabs);
  free(P);
}
