-- Every Lua snippet of docs/templates.md, docs/orderings.md,
-- docs/stopping.md and docs/vectors.md runs, and prints what its "--> ..."
-- comments say.
local T = require "testlib"

local function norm(s) return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")) end

for _, page in ipairs{ "templates", "orderings", "stopping", "vectors" } do
  local text = assert(T.read(T.root .. "/docs/" .. page .. ".md"), "missing docs/" .. page .. ".md")
  local n = 0
  for block in text:gmatch("```lua\n(.-)```") do
    n = n + 1
    T.test(string.format("docs/%s.md snippet %d runs", page, n), function()
      local out = {}
      local env = setmetatable({ print = function(...)
        local parts = table.pack(...)
        for i = 1, parts.n do parts[i] = tostring(parts[i]) end
        out[#out + 1] = table.concat(parts, "\t", 1, parts.n)
      end }, { __index = _G })
      local chunk = assert(load(block, "=docs/" .. page .. ".md", "t", env))
      chunk()
      T.ok(#out > 0, "the snippet prints something")
      local printed = norm(table.concat(out, "\n"))
      for expected in block:gmatch("%-%->%s*([^\n]+)") do
        T.contains(printed, norm(expected), "snippet output")
      end
    end)
  end
  T.test("docs/" .. page .. ".md has runnable snippets", function() T.ok(n >= 2, n .. " snippets") end)
end

T.done()
