--- opro.vec: float32 vectors and matrices for embeddings (C: opro.core.vec).
--   local v = opro.vec.new{0.1, 0.2, 0.3}        -- userdata "opro.vec"
--   local m = opro.vec.matrix{ {1, 0}, {0, 1} }    -- userdata "opro.matrix"
--   local idx, scores = m:topk(v2, 5)             -- best first, 1-based rows
-- Vectors: v:dim() (#v), v:get(i), v:totable(), v:dot(w), v:norm(),
--   v:cosine(w), v:normalize() (a new unit vector), v:bytes().
-- Matrices: m:rows() (#m), m:dim(), m:row(i), m:append(v | table | matrix),
--   m:topk(q, k [, "cosine"|"dot"]) -> indices, scores, m:max_cosine(q) ->
--   score, index (nil when empty), m:pairwise_cosine() -> mean, max, pairs,
--   m:bytes(), m:totable().
-- Wherever a vector is expected a table of numbers works too. Sums are
-- accumulated in double. NaN, infinities and numbers beyond float32 range
-- raise errors, as do dimension mismatches and indices out of range.
-- See docs/vectors.md.
local core = require "opro.core.vec"

local M = {}

--- A vector from a table of numbers (or a copy of a vector).
M.new = core.new
--- A vector of `dim` zeros.
M.zeros = core.zeros
--- A matrix from a list of vectors or tables (all of one dimension);
-- `dim` fixes the dimension of an empty matrix.
M.matrix = core.matrix
--- A vector from little-endian float32 bytes (what v:bytes() returns);
-- `dim`, when given, must match.
M.from_bytes = core.from_bytes
--- A matrix from little-endian float32 bytes, `dim` floats a row.
M.matrix_from_bytes = core.matrix_from_bytes
--- The matrix of every numeric array that is the value of member `key`
-- in the JSON text `body`, in document order, parsed in C without building
-- Lua tables ("embedding" for OpenAI, "values" for Gemini; base64 strings
-- of float32 are accepted too). Returns nil, message, "parse" when the text
-- is not valid JSON or the arrays are malformed or of different lengths.
M.from_json = core.from_json
M.is_vec = core.is_vec
M.is_matrix = core.is_matrix
--- The inner loop in use ("avx2" or "generic"); kernel("generic") forces
-- the portable loop, kernel("auto") restores the choice.
M.kernel = core.kernel

--- Cosine similarity of two vectors (or tables).
function M.cosine(a, b)
  if type(a) == "table" then a = core.new(a) end
  return a:cosine(b)
end

--- Converts what an embedder returned (a matrix, a list of vectors or of
-- tables) into a matrix; `what` names it in errors.
function M.as_matrix(x, what)
  if core.is_matrix(x) then return x end
  if type(x) ~= "table" then
    error(string.format("%s: expected a matrix or a list of vectors, got %s", what or "opro.vec", type(x)), 2)
  end
  return core.matrix(x)
end

return M
