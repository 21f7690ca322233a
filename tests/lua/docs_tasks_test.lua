-- The Lua snippets of docs/datasets.md and docs/tasks.md run as written
-- (from the repository root, with the fixtures as data directory).
local T = require "testlib"

local function snippets(path)
  local text = assert(T.read(T.root .. "/" .. path), "cannot read " .. path)
  local list = {}
  for body in text:gmatch("```lua\n(.-)```") do list[#list + 1] = body end
  return list
end

for _, doc in ipairs { "docs/datasets.md", "docs/tasks.md" } do
  local list = snippets(doc)
  T.test(doc .. " has runnable snippets", function() T.ok(#list >= 3, #list .. " snippets") end)
  for i, body in ipairs(list) do
    T.test(string.format("%s snippet %d runs", doc, i), function()
      local dir = T.tmpdir()
      local file = T.write(dir .. "/snippet.lua", body)
      local rc, out, err = T.sh(string.format("cd %s && OPRO_DATA_DIR=tests/fixtures/datasets/ref %s %s",
        T.shquote(T.root), T.shquote(T.bin), T.shquote(file)))
      T.eq(rc, 0, "snippet failed:\n" .. body .. "\n" .. err)
      T.ok(out:find("%S"), "the snippet prints its results")
    end)
  end
end

T.done()
