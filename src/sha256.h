/* sha256: FIPS 180-4 SHA-256, incremental. No Lua here: src/lhash.c is the binding. */
#ifndef OPRO_SHA256_H
#define OPRO_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
  uint32_t h[8];
  uint64_t total;         /* bytes hashed so far */
  unsigned char buf[64];
  size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, unsigned char out[32]);
/* Whether the SHA extensions are in use (x86-64 CPUs that have them). */
int sha256_accelerated(void);
/* yes: the portable code from now on (tests compare the two); 0: the
 * best the CPU offers again. */
void sha256_use_portable(int yes);
/* One call: hex digest (64 characters and a NUL) of data. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
