-- bench/vec_bench.lua: opro.vec top-k against this machine's memory
-- bandwidth, the hashed embedder's throughput, and JSON embedding parsing.
-- Prints a Markdown section (bench/run collects it). Figures are medians.
local V = require "opro.vec"
local core = require "opro.core.vec"
local embed = require "opro.embed"

local ROWS, DIM, K = 100000, 768, 10
local REPS = 7

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

local function timed(fn, reps)
  local ts = {}
  for r = 1, reps do
    local t0 = opro.now()
    fn()
    ts[r] = opro.now() - t0
  end
  return median(ts)
end

-- memory bandwidth: a streaming float sum (read) and memcpy (read + write)
local reads, copies = {}, {}
for r = 1, 3 do
  local rd, cp = core.membw(512, 3)
  reads[r], copies[r] = rd, cp
end
local read_bw, copy_bw = median(reads), median(copies)

-- 100,000 x 768 float32 (100 distinct random rows repeated: the bytes
-- streamed are the same as for distinct rows)
math.randomseed(8)
local rows = {}
for i = 1, 100 do
  local r = {}
  for j = 1, DIM do r[j] = math.random() * 2 - 1 end
  rows[i] = V.new(r):bytes()
end
local m = V.matrix_from_bytes(string.rep(table.concat(rows), ROWS // 100), DIM)
rows = nil
collectgarbage()
local q = {}
for j = 1, DIM do q[j] = math.random() * 2 - 1 end
q = V.new(q)
local bytes = ROWS * DIM * 4

local results = {}
for _, kern in ipairs{ "auto", "generic" } do
  V.kernel(kern)
  local name = V.kernel()
  m:topk(q, K)   -- warm
  local t = timed(function() m:topk(q, K) end, REPS)
  local tm = timed(function() m:max_cosine(q) end, REPS)
  results[#results + 1] = { name = name, t = t, gbs = bytes / t / 1e9, tm = tm }
end
V.kernel("auto")

-- hashed embedder
local words = { "think", "step", "by", "the", "problem", "answer", "carefully", "solve", "each", "question",
  "reason", "explain", "first", "then", "final", "number", "check", "your", "work", "let's", "deep", "breath" }
local texts = {}
local chars = 0
for i = 1, 10000 do
  local n = 8 + i % 12
  local w = {}
  for j = 1, n do w[j] = words[(i * 7 + j * 13 + j * j) % #words + 1] end
  texts[i] = table.concat(w, " ") .. "."
  chars = chars + #texts[i]
end
local te = timed(function() embed.hashed(texts, { dim = 512 }) end, 5)

-- from_json on an OpenAI-shaped response: 100 embeddings of 1536 numbers
local items = {}
for i = 1, 100 do
  local nums = {}
  for j = 1, 1536 do nums[j] = string.format("%.9g", (math.random() - 0.5) * 0.1) end
  items[i] = string.format('{"object":"embedding","index":%d,"embedding":[%s]}', i - 1, table.concat(nums, ","))
end
local body = '{"object":"list","data":[' .. table.concat(items, ",") .. '],"model":"text-embedding-3-small"}'
local tj = timed(function() assert(V.from_json(body, "embedding")) end, 5)
local tc = timed(function() require("cjson").decode(body) end, 5)

print("## opro.vec: top-k and embeddings")
print()
print(string.format("Memory bandwidth of this machine (one thread, 512 MiB buffers): read (streaming sum) %.1f GB/s, memcpy %.1f GB/s (bytes read + written).", read_bw, copy_bw))
print()
print(string.format("| operation (%d x %d float32, %.0f MB) | kernel | median time | throughput | of read bandwidth |", ROWS, DIM, bytes / 1e6))
print("|---|---|---|---|---|")
for _, r in ipairs(results) do
  print(string.format("| topk(query, %d), cosine | %s | %.1f ms | %.1f GB/s | %.0f%% |", K, r.name, r.t * 1e3, r.gbs, 100 * r.gbs / read_bw))
  print(string.format("| max_cosine(query) | %s | %.1f ms | %.1f GB/s | %.0f%% |", r.name, r.tm * 1e3, bytes / r.tm / 1e9, 100 * bytes / r.tm / 1e9 / read_bw))
end
print()
print(string.format("Target: top-k at >= 50%% of the measured read bandwidth: %s (%.0f%% with the %s kernel).",
  results[1].gbs >= 0.5 * read_bw and "met" or "NOT met", 100 * results[1].gbs / read_bw, results[1].name))
print()
print("| embedding work | median time | throughput |")
print("|---|---|---|")
print(string.format("| opro.embed.hashed, 10,000 texts (%.0f chars on average), dim 512 | %.1f ms | %.0f texts/s (%.1f MB/s) |",
  chars / #texts, te * 1e3, #texts / te, chars / te / 1e6))
print(string.format("| opro.vec.from_json, OpenAI response 100 x 1536 (%.1f MB) | %.1f ms | %.0f MB/s |", #body / 1e6, tj * 1e3, #body / tj / 1e6))
print(string.format("| for comparison: cjson.decode of the same text (Lua tables) | %.1f ms | %.0f MB/s |", tc * 1e3, #body / tc / 1e6))
