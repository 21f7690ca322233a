--- opro.sim.embed: deterministic embedding vectors for the simulator.
-- Words and character trigrams are hashed into `dims` signed buckets and the
-- vector is scaled to unit length, so texts that share words and spellings
-- get nearby vectors (high cosine), unrelated texts nearly orthogonal ones.
local util = require "opro.sim.util"

local M = {}

local function add(v, dims, feature, weight)
  local h = util.hash(feature)
  local i = (h >> 1) % dims + 1
  local sign = (h & 1) == 0 and 1 or -1
  v[i] = v[i] + sign * weight
end

--- A unit vector (a list of `dims` numbers) for the text.
function M.vector(text, dims, seed)
  dims = dims or 256
  local v = {}
  for i = 1, dims do v[i] = 0 end
  local s = " " .. text:lower():gsub("%s+", " ") .. " "
  local salt = tostring(seed or 0) .. "\1"
  for w in s:gmatch("[%w']+") do add(v, dims, salt .. "w" .. w, 1.0) end
  for i = 1, #s - 2 do add(v, dims, salt .. s:sub(i, i + 2), 0.5) end
  local norm = 0
  for i = 1, dims do norm = norm + v[i] * v[i] end
  if norm == 0 then
    v[1] = 1   -- the empty text: a fixed unit vector
    return v
  end
  norm = math.sqrt(norm)
  for i = 1, dims do v[i] = v[i] / norm end
  return v
end

return M
