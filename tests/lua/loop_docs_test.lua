-- Every Lua snippet of docs/loop.md runs and prints what its "--> ..." comments say.
local T = require "testlib"

local function norm(s) return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")) end

local text = assert(T.read(T.root .. "/docs/loop.md"), "missing docs/loop.md")
local n = 0
for block in text:gmatch("```lua\n(.-)```") do
  n = n + 1
  T.test(string.format("docs/loop.md snippet %d runs", n), function()
    local out = {}
    local env = setmetatable({ print = function(...)
      local parts = table.pack(...)
      for i = 1, parts.n do parts[i] = tostring(parts[i]) end
      out[#out + 1] = table.concat(parts, "\t", 1, parts.n)
    end, io = setmetatable({ write = function(...) out[#out + 1] = table.concat({ ... }) end }, { __index = io }) },
      { __index = _G })
    local chunk = assert(load(block, "=docs/loop.md", "t", env))
    chunk()
    T.ok(#out > 0, "the snippet prints something")
    local printed = norm(table.concat(out, "\n"))
    for expected in block:gmatch("%-%->%s*([^\n]+)") do
      T.contains(printed, norm(expected), "snippet output")
    end
  end)
end
T.test("docs/loop.md has runnable snippets", function() T.ok(n >= 4, n .. " snippets") end)
T.done()
