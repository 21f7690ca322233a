/* luaalloc: the allocator of opro-lua's Lua state. Blocks of up to 256
 * bytes (most of a Lua heap: strings, table nodes, closures) come from
 * free lists per 16-byte size class, carved from 64 KiB slabs; larger
 * ones from malloc. An LLM call makes and drops a few hundred such
 * blocks; this is cheaper than malloc and free for each and never
 * consolidates. Slabs are kept until the state is closed (the peak of the
 * small blocks stays allocated). Builds with AddressSanitizer, and runs
 * with OPRO_LUA_ALLOC=system (tests/run sets it under valgrind), use
 * malloc for every block so each one is checked. */
#ifndef OPRO_LUAALLOC_H
#define OPRO_LUAALLOC_H

#include <stddef.h>

typedef struct lua_pool lua_pool;

lua_pool *lua_pool_new(void);
void lua_pool_free(lua_pool *P);
/* a lua_Alloc; ud is the pool */
void *lua_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
