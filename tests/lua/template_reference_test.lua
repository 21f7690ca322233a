-- Differential test of the default templates against the reference code
-- itself: runs tests/fixtures/template/gen.py, which calls
-- google-deepmind/opro's own gen_meta_prompt functions (instruction, linear
-- regression, TSP), and compares the Lua templates with what they printed.
--   * seed 7 regenerates the committed fixtures: they must be byte-identical
--     (so template_test.lua's expectations really are the reference's output);
--   * other seeds draw other histories (instruction scores with ties, linear
--     regression pairs, TSP instances and tours) that no fixture holds.
-- Needs a reference checkout (OPRO_REF, or /tmp/opro-ref) and python3 with
-- numpy; without them every test is skipped, saying which one is missing.
local T = require "testlib"
local cjson = require "cjson"
local template = require "opro.template"
local cases_lib = require "template_cases"

local fixtures = T.root .. "/tests/fixtures/template/"
local gen = fixtures .. "gen.py"

local function is_checkout(dir)
  return dir and dir ~= "" and T.read(dir .. "/opro/optimization/opt_utils.py") ~= nil
end

local ref = os.getenv("OPRO_REF")
if not is_checkout(ref) then ref = is_checkout("/tmp/opro-ref") and "/tmp/opro-ref" or nil end

local python
for _, cand in ipairs({ os.getenv("PYTHON") or "", "python3", "/usr/bin/python3" }) do
  if cand ~= "" and T.sh(T.shquote(cand) .. " -c 'import numpy'") == 0 then python = cand; break end
end

local SEEDS = { 7, 1, 2, 3, 11, 2024 }

if not ref or not python then
  local why = not ref and "no reference checkout (set OPRO_REF to a google-deepmind/opro checkout, or check it out at /tmp/opro-ref)"
    or "no python3 with numpy (Debian: python3-numpy)"
  for _, seed in ipairs(SEEDS) do
    T.skip("templates equal the reference's gen_meta_prompt output, seed " .. seed, why)
  end
  T.done()
end

local function generate(seed)
  local out = T.tmpdir()
  local rc, stdout, stderr = T.sh(string.format("OPRO_REF=%s %s %s %s %d",
    T.shquote(ref), T.shquote(python), T.shquote(gen), T.shquote(out), seed))
  if rc ~= 0 then error("gen.py failed (" .. rc .. "): " .. stdout .. stderr, 0) end
  return out .. "/"
end

for _, seed in ipairs(SEEDS) do
  T.test("templates equal the reference's gen_meta_prompt output, seed " .. seed, function()
    local dir = generate(seed)
    local cases = cjson.decode(assert(T.read(dir .. "cases.json")))
    local count = { instruction = 0, linear_regression = 0, tsp = 0 }
    for _, c in ipairs(cases) do
      local expected = assert(T.read(dir .. c.name .. ".txt"), "gen.py wrote no " .. c.name .. ".txt")
      local actual = template[c.template](c.history, cases_lib.opts(c))
      T.same_text(actual, expected, string.format("seed %d, case %s", seed, c.name))
      count[c.template] = count[c.template] + 1
      if seed == 7 then
        -- the committed fixture is exactly what the reference prints today
        T.eq(T.read(fixtures .. c.name .. ".txt"), expected, "committed fixture " .. c.name .. ".txt")
      end
    end
    T.ok(count.instruction >= 20 and count.linear_regression >= 3 and count.tsp >= 2,
      "cases: " .. T.fmt(count))
    if seed == 7 then
      for _, f in ipairs({ "cases.json", "parse_cases.json", "exemplar_cases.json" }) do
        T.eq(T.read(fixtures .. f), T.read(dir .. f), "committed " .. f)
      end
    end
  end)
end

T.done()
