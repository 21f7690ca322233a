/* sha256: FIPS 180-4 SHA-256. The compression runs on the x86 SHA
 * extensions (SHA-NI) where the CPU has them, else in portable C; both
 * give the same digests (tests/c/test_sha256.c checks them against each
 * other and the NIST vectors). */
#include "sha256.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHA256_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_c(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
  h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

#ifdef SHA256_HAVE_SHANI
/* One block with the SHA extensions. The state is kept as ABEF and CDGH
 * (the order sha256rnds2 wants); each group of 4 message words is
 * X_g = msg2(msg1(X_{g-4}, X_{g-3}) + (W[t-7..t-4]), X_{g-1}). */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t h[8], const unsigned char *p) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
  __m128i st1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
  tmp = _mm_shuffle_epi32(tmp, 0xB1);            /* CDAB */
  st1 = _mm_shuffle_epi32(st1, 0x1B);            /* EFGH */
  __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);    /* ABEF */
  st1 = _mm_blend_epi16(st1, tmp, 0xF0);         /* CDGH */
  const __m128i abef = st0, cdgh = st1;
  __m128i x[4];
  for (int g = 0; g < 16; g++) {
    __m128i w;
    if (g < 4) {
      w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)), bswap);
    } else {
      __m128i a = _mm_sha256msg1_epu32(x[g & 3], x[(g + 1) & 3]);
      a = _mm_add_epi32(a, _mm_alignr_epi8(x[(g + 3) & 3], x[(g + 2) & 3], 4));
      w = _mm_sha256msg2_epu32(a, x[(g + 3) & 3]);
    }
    x[g & 3] = w;
    __m128i m = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(const void *)&K[4 * g]));
    st1 = _mm_sha256rnds2_epu32(st1, st0, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    st0 = _mm_sha256rnds2_epu32(st0, st1, m);
  }
  st0 = _mm_add_epi32(st0, abef);
  st1 = _mm_add_epi32(st1, cdgh);
  tmp = _mm_shuffle_epi32(st0, 0x1B);            /* FEBA */
  st1 = _mm_shuffle_epi32(st1, 0xB1);            /* DCHG */
  st0 = _mm_blend_epi16(tmp, st1, 0xF0);         /* DCBA */
  st1 = _mm_alignr_epi8(st1, tmp, 8);            /* HGFE */
  _mm_storeu_si128((__m128i *)(void *)&h[0], st0);
  _mm_storeu_si128((__m128i *)(void *)&h[4], st1);
}

static int cpu_has_shani(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!(c & (1u << 19)) || !(c & (1u << 9))) return 0;   /* SSE4.1, SSSE3 */
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  __cpuid_count(7, 0, a, b, c, d);
  return (b >> 29) & 1;                                   /* SHA */
}
#endif

static int accel = -1;   /* -1: not yet looked at */

int sha256_accelerated(void) {
#ifdef SHA256_HAVE_SHANI
  if (accel < 0) accel = cpu_has_shani();
  return accel;
#else
  return 0;
#endif
}

void sha256_use_portable(int yes) {
  accel = yes ? 0 : -1;
}

static void compress(uint32_t h[8], const unsigned char *p) {
#ifdef SHA256_HAVE_SHANI
  if (accel < 0) accel = cpu_has_shani();
  if (accel) { compress_shani(h, p); return; }
#endif
  compress_c(h, p);
}

void sha256_init(sha256_ctx *c) {
  static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, H0, sizeof H0);
  c->total = 0;
  c->nbuf = 0;
}

void sha256_update(sha256_ctx *c, const void *data, size_t len) {
  const unsigned char *p = data;
  c->total += len;
  if (c->nbuf > 0) {
    size_t take = 64 - c->nbuf < len ? 64 - c->nbuf : len;
    memcpy(c->buf + c->nbuf, p, take);
    c->nbuf += take;
    p += take;
    len -= take;
    if (c->nbuf < 64) return;
    compress(c->h, c->buf);
    c->nbuf = 0;
  }
  for (; len >= 64; p += 64, len -= 64) compress(c->h, p);
  if (len > 0) {
    memcpy(c->buf, p, len);
    c->nbuf = len;
  }
}

void sha256_final(sha256_ctx *c, unsigned char out[32]) {
  uint64_t bits = c->total * 8;
  unsigned char pad[72] = {0x80};
  size_t padlen = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
  unsigned char lenbe[8];
  for (int i = 0; i < 8; i++) lenbe[i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(c, pad, padlen);
  sha256_update(c, lenbe, 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (unsigned char)(c->h[i] >> 24);
    out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
    out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
    out[4 * i + 3] = (unsigned char)c->h[i];
  }
}

void sha256_hex(const void *data, size_t len, char out[65]) {
  static const char hexd[] = "0123456789abcdef";
  unsigned char d[32];
  sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, data, len);
  sha256_final(&c, d);
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hexd[d[i] >> 4];
    out[2 * i + 1] = hexd[d[i] & 15];
  }
  out[64] = '\0';
}
