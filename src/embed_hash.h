/* embed_hash: a deterministic text embedding without a model (no Lua).
 * Features: word unigrams and bigrams, and character 3-, 4- and 5-grams
 * (counted in UTF-8 code points, so no n-gram splits a character) of the
 * lower-cased text; each feature is hashed to a bucket with a sign
 * (signed feature hashing). The word part and the character part are each
 * L2-normalised after damping repeats (signed square root of each bucket),
 * the character part weighted 3 to the words' 1, and the sum is
 * L2-normalised. */
#ifndef OPRO_EMBED_HASH_H
#define OPRO_EMBED_HASH_H
#include <stddef.h>

/* Writes the embedding of text[0..len) to out[0..dim) (dim >= 1); `work`
 * must hold dim floats and `scratch` at least 2 * len + 2 bytes. Returns
 * the number of features hashed (0 for a text without words: out is all
 * zeros then). */
size_t embed_hash(const char *text, size_t len, float *out, size_t dim, float *work, char *scratch);

#endif
