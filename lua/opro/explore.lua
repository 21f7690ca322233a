--- opro.explore: the exploration stage of the OPRO loop (issue 8). The
-- loop tends to collapse onto variants of its best text; these stages push
-- it away from what it has already tried, by cosine similarity of
-- embeddings (docs/vectors.md).
--   local pen = opro.explore.penalty{ lambda = 0.1 }
--   local adjusted, sims = pen:adjust(scored_candidates, history)
--   local rej = opro.explore.reject{ threshold = 0.9 }
--   local kept, rejected = rej:filter(candidate_texts, history_texts)
--   local d = opro.explore.diversity(texts)   -- {mean_pairwise_cos=, max_pairwise_cos=, pairs=, n=}
-- `embed` (all three) is a function `texts -> matrix` (or list of vectors),
-- an object with :embed(texts) such as an opro.llm, or nil for
-- opro.embed.hashed. An embedder's failure (nil, message, code) is returned
-- as nil, message, code.
-- Texts: a string, or an entry {text=} or {solution=<string>} (history
-- entries); other solutions need opts.text = function(entry) -> string
-- (e.g. function(e) return task:format(e.solution) end).
local vec = require "opro.vec"
local embed = require "opro.embed"

local M = {}

local function text_of(self, x, what, i)
  if type(x) == "string" then return x end
  if type(x) == "table" then
    if self.text then
      local t = self.text(x)
      if type(t) ~= "string" then
        error(string.format("%s: opts.text returned a %s for item %d, not a string", what, type(t), i), 4)
      end
      return t
    end
    if type(x.text) == "string" then return x.text end
    if type(x.solution) == "string" then return x.solution end
  end
  error(string.format("%s: item %d is a %s without a text (give opts.text = function(entry) -> string)",
    what, i, type(x)), 4)
end

local function texts_of(self, list, what, name)
  if type(list) ~= "table" then
    error(string.format("%s: %s must be a list, got %s", what, name, type(list)), 3)
  end
  local out = {}
  for i, x in ipairs(list) do out[i] = text_of(self, x, what .. " (" .. name .. ")", i) end
  return out
end

-- The embedding cache of one stage: text -> vector. ensure() embeds, in
-- one call, every text of the given lists not embedded yet; returns true
-- or nil, message, code.
local function ensure(self, what, ...)
  local missing, seen = {}, {}
  for _, list in ipairs{ ... } do
    for _, t in ipairs(list) do
      if self.cache[t] == nil and not seen[t] then
        seen[t] = true
        missing[#missing + 1] = t
      end
    end
  end
  if #missing == 0 then return true end
  local got, msg, code = self.embed(missing)
  if got == nil then return nil, msg or (what .. ": the embedder failed"), code or "bad_response" end
  local m = vec.as_matrix(got, what)
  if m:rows() ~= #missing then
    return nil, string.format("%s: the embedder returned %d vectors for %d texts", what, m:rows(), #missing),
      "bad_response"
  end
  if self.dim and m:dim() ~= self.dim then
    return nil, string.format("%s: the embedder returned vectors of dimension %d, earlier %d", what, m:dim(), self.dim),
      "bad_response"
  end
  self.dim = m:dim()
  for i, t in ipairs(missing) do self.cache[t] = m:row(i) end
  return true
end

-- the matrix of the (embedded) texts' vectors, in order
local function matrix_of(self, texts)
  local m = vec.matrix({}, self.dim or 0)
  for _, t in ipairs(texts) do m:append(self.cache[t]) end
  return m
end

local function new_stage(opts, what)
  if opts ~= nil and type(opts) ~= "table" then
    error(string.format("bad argument #1 to '%s' (table of options expected, got %s)", what, type(opts)), 3)
  end
  opts = opts or {}
  if opts.text ~= nil and type(opts.text) ~= "function" then
    error(what .. ": text must be a function(entry) -> string", 3)
  end
  return { embed = embed.resolve(opts.embed, what), text = opts.text, cache = {} }
end

-- The vector a stage has computed for `text` (an opro.vec), or nil: the
-- loop stores it with the candidate (run:record_candidate{embedding=}).
local function vector(self, text) return self.cache[text] end

-- ---------------------------------------------------------------- penalty

local Penalty = {}
Penalty.__index = Penalty
Penalty.vector = vector

--- score' = score − λ·max_cos(candidate, history) (for better = "lower",
-- e.g. TSP lengths: score' = score + λ·max_cos).
function M.penalty(opts)
  local self = new_stage(opts, "penalty")
  opts = opts or {}
  local lambda = opts.lambda == nil and 0.1 or opts.lambda
  if type(lambda) ~= "number" or lambda ~= lambda or lambda < 0 then
    error("penalty: lambda must be a number >= 0, got " .. tostring(opts.lambda), 2)
  end
  local better = opts.better or "higher"
  if better ~= "higher" and better ~= "lower" then
    error("penalty: better must be \"higher\" or \"lower\", got " .. tostring(better), 2)
  end
  -- without an explicit `better`, the loop's task decides (ctx.task.better)
  self.lambda, self.better, self.better_given = lambda, better, opts.better ~= nil
  return setmetatable(self, Penalty)
end

--- candidates: list of {score=, text= | solution=}; history: list of texts
-- or entries. Returns the adjusted scores (nil where a candidate's score
-- is nil) and each candidate's max cosine to the history (0 when the
-- history is empty), or nil, message, code when embedding fails. ctx (the
-- loop's) gives the direction when the stage was made without `better`.
function Penalty:adjust(candidates, history, ctx)
  local better = self.better
  if not self.better_given and type(ctx) == "table" and type(ctx.task) == "table"
     and (ctx.task.better == "lower" or ctx.task.better == "higher") then
    better = ctx.task.better
  end
  local ctexts = texts_of(self, candidates, "penalty:adjust", "candidates")
  local htexts = texts_of(self, history or {}, "penalty:adjust", "history")
  local sims, adjusted = {}, {}
  if #ctexts == 0 then return adjusted, sims end
  local ok, msg, code = ensure(self, "penalty:adjust", ctexts, htexts)
  if not ok then return nil, msg, code end
  local cm = matrix_of(self, ctexts)
  local hm = #htexts > 0 and matrix_of(self, htexts) or nil
  for i, c in ipairs(candidates) do
    local s = hm and hm:max_cosine(cm:row(i)) or 0
    sims[i] = s
    local score = type(c) == "table" and c.score or nil
    if score ~= nil then
      if type(score) ~= "number" then
        error(string.format("penalty:adjust: candidate %d has a %s score, not a number", i, type(score)), 2)
      end
      adjusted[i] = better == "higher" and score - self.lambda * s or score + self.lambda * s
    end
  end
  return adjusted, sims
end

-- ---------------------------------------------------------------- reject

local Reject = {}
Reject.__index = Reject
Reject.vector = vector

--- Rejects candidates whose cosine to a history text or to an earlier kept
-- candidate of the same batch is above `threshold` (before scoring them).
function M.reject(opts)
  local self = new_stage(opts, "reject")
  opts = opts or {}
  local th = opts.threshold == nil and 0.9 or opts.threshold
  if type(th) ~= "number" or th ~= th or th < -1 or th > 1 then
    error("reject: threshold must be a number in [-1, 1], got " .. tostring(opts.threshold), 2)
  end
  self.threshold = th
  return setmetatable(self, Reject)
end

--- Returns kept (indices into candidate_texts, in order) and rejected =
-- {{index=, similarity=, nearest=<text>, nearest_index=, source="history"|"batch"}},
-- or nil, message, code when embedding fails.
function Reject:filter(candidate_texts, history_texts)
  local ctexts = texts_of(self, candidate_texts, "reject:filter", "candidates")
  local htexts = texts_of(self, history_texts or {}, "reject:filter", "history")
  local kept, rejected = {}, {}
  if #ctexts == 0 then return kept, rejected end
  local ok, msg, code = ensure(self, "reject:filter", ctexts, htexts)
  if not ok then return nil, msg, code end
  local cm = matrix_of(self, ctexts)
  local hm = #htexts > 0 and matrix_of(self, htexts) or nil
  local km = vec.matrix({}, cm:dim())
  for i = 1, #ctexts do
    local q = cm:row(i)
    local best, where, source = -math.huge, nil, nil
    if hm then
      local s, j = hm:max_cosine(q)
      if s and s > best then best, where, source = s, j, "history" end
    end
    local s, j = km:max_cosine(q)
    if s and s > best then best, where, source = s, kept[j], "batch" end
    if source and best > self.threshold then
      rejected[#rejected + 1] = { index = i, similarity = best, nearest_index = where, source = source,
        nearest = source == "history" and htexts[where] or ctexts[where] }
    else
      kept[#kept + 1] = i
      km:append(q)
    end
  end
  return kept, rejected
end

-- ---------------------------------------------------------------- diversity

--- Per-step diversity of a list of texts: mean and max cosine over all
-- pairs (both 0 when there are fewer than 2 texts). opts.embed, opts.text
-- as above. Returns {mean_pairwise_cos=, max_pairwise_cos=, pairs=, n=} or
-- nil, message, code.
function M.diversity(texts, opts)
  local self = new_stage(opts, "diversity")
  local list = texts_of(self, texts, "diversity", "texts")
  local res = { mean_pairwise_cos = 0, max_pairwise_cos = 0, pairs = 0, n = #list }
  if #list < 2 then return res end
  local ok, msg, code = ensure(self, "diversity", list)
  if not ok then return nil, msg, code end
  res.mean_pairwise_cos, res.max_pairwise_cos, res.pairs = matrix_of(self, list):pairwise_cosine()
  return res
end

return M
