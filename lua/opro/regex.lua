--- opro.regex: PCRE2 regular expressions (UTF-8, JIT, match limits).
--   local re = opro.regex("(?<n>\\d+) apples", "i")
--   re:match(s [, init [, astable]]) -> captures | whole match | nil
--   re:find(s [, init])              -> start, end, captures... | nil
--   re:gmatch(s [, init])            -> iterator over captures
--   re:gsub(s, repl [, n])           -> string, count   ($1, ${name}, $$; table; function)
-- A search that hits the match/depth/heap limit returns nil, message,
-- "regex_limit" (gmatch raises it). See docs/extraction.md.
local core = require "opro.core.regex"

local M = {}

--- Compiles pattern. flags: a string of i (caseless) m (multiline)
-- s (dot matches newline) x (extended) U (ungreedy) A (anchored) u (Unicode
-- \d \w \s). limits: {match_limit=, depth_limit=, heap_limit= (KiB)}.
-- A bad pattern raises an error naming the pattern and the offset.
function M.new(pattern, flags, limits)
  if type(pattern) ~= "string" then
    error("bad argument #1 to 'opro.regex' (string expected, got " .. type(pattern) .. ")", 2)
  end
  local ok, re = pcall(core.new, pattern, flags, limits)
  if not ok then error(re, 2) end
  return re
end

-- compiled patterns by pattern and flags (weak: unused ones are collected)
local cache = setmetatable({}, { __mode = "v" })

--- Like new, but returns the same compiled object for the same pattern
-- and flags while it is in use (for patterns given as strings in options).
function M.cached(pattern, flags)
  local key = (flags or "") .. "\0" .. pattern
  local re = cache[key]
  if not re then
    local ok, r = pcall(core.new, pattern, flags)
    if not ok then error(r, 2) end
    re = r
    cache[key] = re
  end
  return re
end

--- Escapes every PCRE2 metacharacter of s so it matches literally.
function M.escape(s)
  return (s:gsub("[%\\%^%$%.%[%]%|%(%)%?%*%+%{%}%-#%s]", function(c)
    if c == "\n" then return "\\n" end
    if c == "\t" then return "\\t" end
    if c:match("%s") then return string.format("\\x{%x}", c:byte()) end
    return "\\" .. c
  end))
end

return setmetatable(M, {
  __call = function(_, pattern, flags, limits)
    if type(pattern) ~= "string" then
      error("bad argument #1 to 'opro.regex' (string expected, got " .. type(pattern) .. ")", 2)
    end
    local ok, re = pcall(core.new, pattern, flags, limits)
    if not ok then error(re, 2) end
    return re
  end,
})
