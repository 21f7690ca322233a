/* vec_json: pulls embedding vectors out of a JSON text without building
 * any other value (no Lua). */
#ifndef OPRO_VEC_JSON_H
#define OPRO_VEC_JSON_H
#include <stddef.h>

typedef struct vec_json_result {
  float *data;        /* rows * dim floats (malloc'd; the caller frees) */
  size_t rows, dim;
  char err[256];      /* set when vec_json_extract returns -1 */
} vec_json_result;

/* Validates the whole JSON text s[0..len) (RFC 8259; nesting depth <= 256)
 * and collects, in document order, the value of every object member named
 * `key`: an array of numbers, or a string holding base64 of little-endian
 * float32 (OpenAI's encoding_format "base64"). All of them must have the
 * same non-zero length and fit in float32. s must be followed by a NUL byte
 * (Lua strings are). Returns 0, or -1 with out->err (out->data is then
 * NULL). Zero matches is not an error (rows = 0, dim = 0). */
int vec_json_extract(const char *s, size_t len, const char *key, size_t keylen, vec_json_result *out);

#endif
