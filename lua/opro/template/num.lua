--- opro.template.num: number formatting and rounding as the reference code
-- (Python 3 + NumPy) does it, so meta-prompts match it byte for byte.
local M = {}

local floor = math.floor

--- Round half to even of a float (C rint, Python round(x), np.rint).
function M.rint(x)
  if x ~= x or x == math.huge or x == -math.huge then return x end
  local f = floor(x)
  local d = x - f            -- exact for doubles
  if d > 0.5 then return f + 1.0 end
  if d < 0.5 then return f + 0.0 end
  if f % 2 == 0 then return f + 0.0 end
  return f + 1.0
end

--- np.round(x, d) for d >= 0: rint(x * 10^d) / 10^d (NumPy's algorithm,
-- which can differ from Python's correctly rounded round(x, d)).
function M.np_round(x, d)
  x = x * 1.0
  if d == 0 then return M.rint(x) end
  local f = 10.0 ^ d
  return M.rint(x * f) / f
end

--- Python round(x) of a float: half to even, returned as an integer.
function M.round_int(x)
  local r = M.rint(x + 0.0)
  return math.tointeger(r) or r
end

--- Python int(x) of a float: truncation toward zero, as an integer.
function M.trunc(x)
  if math.type(x) == "integer" then return x end
  local r = x >= 0 and floor(x) or math.ceil(x)
  return math.tointeger(r) or r
end

--- Python repr()/str() of a float (shortest round-tripping digits, Python's
-- switch to exponent notation below 1e-4 and from 1e16 up).
function M.repr(x)
  x = x * 1.0
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == 0 then return (1 / x < 0) and "-0.0" or "0.0" end
  local s
  for p = 1, 17 do
    s = string.format("%." .. (p - 1) .. "e", x)
    if tonumber(s) == x then break end
  end
  local sign, int, frac, exp = s:match("^(%-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (int .. frac):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local e = tonumber(exp)
  if e >= -4 and e < 16 then
    local n = #digits
    if e < 0 then
      return sign .. "0." .. string.rep("0", -e - 1) .. digits
    elseif e + 1 >= n then
      return sign .. digits .. string.rep("0", e + 1 - n) .. ".0"
    else
      return sign .. digits:sub(1, e + 1) .. "." .. digits:sub(e + 2)
    end
  end
  local mant = digits:sub(1, 1)
  if #digits > 1 then mant = mant .. "." .. digits:sub(2) end
  return string.format("%s%se%s%02d", sign, mant, e < 0 and "-" or "+", math.abs(e))
end

--- Python str() of a value as an f-string shows it: integers as integers,
-- floats with repr(), strings unchanged.
function M.str(v)
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return M.repr(v) end
  return tostring(v)
end

--- A value as the reference shows it with d decimals: int(v) for 0,
-- np.round(v, d) otherwise.
function M.shown(v, d)
  if d > 0 then return M.np_round(v, d) end
  return M.trunc(v)
end

--- opts[name] as an integer >= 0 (default when nil); raises naming the
-- template `who` and the option otherwise (level 4: the template's caller).
function M.int_opt(opts, name, default, who)
  local v = opts[name]
  if v == nil then return default end
  v = math.tointeger(v) or v
  if math.type(v) ~= "integer" or v < 0 then
    error(string.format("%s: opts.%s must be an integer >= 0, got %s", who, name, tostring(v)), 4)
  end
  return v
end

return M
