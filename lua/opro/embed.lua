--- opro.embed: embedders — functions `texts -> matrix` (see docs/vectors.md).
--   local m = opro.embed.hashed({"Let's think step by step.", "..."}, { dim = 512 })
--   m:row(1):cosine(m:row(2))
-- The offline default needs no model: hashed word unigrams and bigrams and
-- character 3- to 5-grams of the lower-cased text, signed feature hashing,
-- L2-normalised (computed in C). Deterministic across runs and machines.
-- Good at telling near-duplicate wordings apart from different ones; it
-- knows nothing of meaning (synonyms score like unrelated words).
local core = require "opro.core.vec"

local M = {}

local DEFAULT_DIM = 512

local function check_dim(opts, fname)
  if opts ~= nil and type(opts) ~= "table" then
    error(string.format("bad argument #2 to '%s' (table of options expected, got %s)", fname, type(opts)), 3)
  end
  local dim = opts and opts.dim or DEFAULT_DIM
  if math.type(dim) ~= "integer" or dim < 1 then
    error(string.format("%s: dim must be an integer >= 1, got %s", fname, tostring(dim)), 3)
  end
  return dim
end

--- Embeds a list of strings (or one string) -> matrix of #texts rows.
function M.hashed(texts, opts)
  local dim = check_dim(opts, "hashed")
  if type(texts) == "string" then texts = { texts } end
  if type(texts) ~= "table" then
    error("bad argument #1 to 'hashed' (list of strings expected, got " .. type(texts) .. ")", 2)
  end
  return core.hash_embed(texts, dim)
end

--- An embedder function with fixed options: hasher{dim=256}(texts) -> matrix.
function M.hasher(opts)
  local dim = check_dim(opts, "hasher")
  return function(texts)
    if type(texts) == "string" then texts = { texts } end
    return core.hash_embed(texts, dim)
  end
end

--- Turns what a user gave as an embedder into a function `texts -> matrix
-- | nil, message, code`: nil (the hashed default), a function, or an object
-- with an :embed(texts) method such as an opro.llm.
function M.resolve(embed, what)
  if embed == nil then return M.hasher() end
  if type(embed) == "function" then return embed end
  local ok, method = pcall(function() return embed.embed end)
  if ok and type(method) == "function" then
    return function(texts) return embed:embed(texts) end
  end
  error(string.format("%s: embed must be a function or an object with an :embed method, got %s",
    what or "opro.embed", type(embed)), 3)
end

return M
