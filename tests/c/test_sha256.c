/* SHA-256 against the FIPS 180-4 / NIST test vectors, including inputs fed
 * in pieces that straddle the 64-byte block and the padding boundary; run
 * with the SHA extensions (where the CPU has them) and with the portable
 * code, and the two compared on random inputs. */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"

static void hex_of(const unsigned char d[32], char out[65]) {
  static const char hexd[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) { out[2 * i] = hexd[d[i] >> 4]; out[2 * i + 1] = hexd[d[i] & 15]; }
  out[64] = 0;
}

static void checks(const char *mode) {
  static const struct { const char *in, *want; } v[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"The quick brown fox jumps over the lazy dog",
     "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
  };
  char hex[65];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    sha256_hex(v[i].in, strlen(v[i].in), hex);
    TAP_OK(strcmp(hex, v[i].want) == 0, "%s: vector %zu (%zu bytes)", mode, i, strlen(v[i].in));
  }
  /* one million 'a', fed in 1000 pieces of 1000 bytes */
  char *a = malloc(1000);
  memset(a, 'a', 1000);
  sha256_ctx c;
  unsigned char d[32];
  sha256_init(&c);
  for (int i = 0; i < 1000; i++) sha256_update(&c, a, 1000);
  sha256_final(&c, d);
  hex_of(d, hex);
  TAP_OK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "%s: one million 'a'", mode);
  free(a);
  /* every split point of a 130-byte input gives the one-shot digest; lengths 0..130 around 55/56/64 */
  char msg[130];
  for (int i = 0; i < 130; i++) msg[i] = (char)('A' + i % 26);
  int all = 1;
  for (size_t len = 0; len <= sizeof msg; len++) {
    char want[65];
    sha256_hex(msg, len, want);
    for (size_t cut = 0; cut <= len; cut++) {
      sha256_init(&c);
      sha256_update(&c, msg, cut);
      sha256_update(&c, msg + cut, len - cut);
      sha256_final(&c, d);
      hex_of(d, hex);
      if (strcmp(hex, want) != 0) all = 0;
    }
  }
  TAP_OK(all, "%s: split updates equal one-shot digests for every length and cut up to 130 bytes", mode);
  /* 55, 56 and 64 bytes: padding edge cases (known digests of 'a' * n) */
  memset(msg, 'a', sizeof msg);
  sha256_hex(msg, 55, hex);
  TAP_OK(strcmp(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318") == 0, "%s: 55 x 'a'", mode);
  sha256_hex(msg, 56, hex);
  TAP_OK(strcmp(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a") == 0, "%s: 56 x 'a'", mode);
  sha256_hex(msg, 64, hex);
  TAP_OK(strcmp(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb") == 0, "%s: 64 x 'a'", mode);
}

int main(void) {
  int accel = sha256_accelerated();
  printf("# SHA extensions: %s\n", accel ? "in use" : "not available, portable code only");
  if (accel) checks("SHA extensions");
  sha256_use_portable(1);
  checks("portable");
  /* the two agree on random inputs of every length up to 2000 bytes */
  if (accel) {
    unsigned char *buf = malloc(2000);
    unsigned seed = 12345;
    int same = 1;
    for (size_t len = 0; len <= 2000; len++) {
      for (size_t i = 0; i < len; i++) { seed = seed * 1103515245u + 12345u; buf[i] = (unsigned char)(seed >> 16); }
      char a[65], b[65];
      sha256_use_portable(1);
      sha256_hex(buf, len, a);
      sha256_use_portable(0);
      sha256_hex(buf, len, b);
      if (strcmp(a, b) != 0) same = 0;
    }
    free(buf);
    TAP_OK(same, "SHA extensions and portable code agree on random inputs of 0-2000 bytes");
  }
  return tap_done();
}
