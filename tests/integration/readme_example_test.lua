-- The script in README.md runs as printed: against opro-sim (through
-- OPENAI_BASE_URL, as a user would point it at another server), on the
-- GSM8K fixture, and prints its accuracy.
local T = require "testlib"
local L = require "llmtest"

if not L.sim_bin() then
  T.skip("the README script", "bin/opro-sim is not built")
  T.done()
end

local readme = assert(T.read(T.root .. "/README.md"))
local code = readme:match("```lua\n(.-)```")

T.test("README.md has a short Lua script", function()
  T.ok(code, "a ```lua block")
  local _, lines = code:gsub("\n", "")
  T.ok(lines >= 5 and lines <= 12, lines .. " lines")
  T.contains(code, "opro.llm{")
  T.contains(code, "opro.map(")
end)

T.test("the README script runs against opro-sim and reports its accuracy", function()
  local fixture = T.root .. "/tests/fixtures/datasets/ref"
  local base = L.sim("--seed 1 --data " .. T.shquote(fixture .. "/gsm_data/gsm_train.tsv"))
  local dir = T.tmpdir()
  T.write(dir .. "/optimize.lua", code)
  os.execute(string.format("ln -s %s %s/data", T.shquote(fixture), dir))
  local rc, out, err = T.sh(string.format("cd %s && env -u OPRO_API_KEY OPENAI_BASE_URL=%s/v1 OPENAI_API_KEY=sk-readme %s optimize.lua",
    dir, base, T.shquote(T.bin)))
  T.eq(rc, 0, err)
  local pct = tonumber(out:match("^accuracy: ([%d.]+)%%\n$"))
  T.ok(pct, "prints the accuracy: " .. out)
  -- the sim knows these answers (--data) and gets some right, not all
  T.ok(pct > 0 and pct < 100, out)
  local st = L.stats(base)
  T.ok(st.requests >= 5, "one call per question: " .. st.requests)
end)

T.done()
