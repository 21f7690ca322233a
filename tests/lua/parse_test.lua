-- opro.parse: extraction of solutions from optimizer outputs. The cases in
-- tests/fixtures/template/parse_cases.json hold what the reference code's own
-- extraction functions return (see gen.py); the rest are realistic outputs
-- with the reference's post-processing written out.
local T = require "testlib"
local cjson = require "cjson"
local parse = require "opro.parse"

local cases = cjson.decode((assert(T.read(T.root .. "/tests/fixtures/template/parse_cases.json"))))

local function expect_parse_error(list, msg, code, what)
  T.eq(list, nil, what)
  T.eq(code, "parse", what)
  T.ok(type(msg) == "string" and #msg > 0, what)
end

T.test("text-bison outputs: the first [...] on one line, polished (reference extraction)", function()
  for _, c in ipairs(cases.bison) do
    local list, msg, code = parse.instruction(c.text, { optimizer = "text-bison", dataset = "bbh" })
    -- the reference scores "" once and skips instructions containing "INS";
    -- opro-lua reports both as parse errors
    if c.expected == "" or c.expected:find("INS", 1, true) then
      expect_parse_error(list, msg, code, c.text)
    else
      T.eq(list, { c.expected }, c.text)
    end
  end
end)

T.test("instructions-only outputs: the first <TEXT>...</TEXT> (reference extraction)", function()
  for _, c in ipairs(cases.instructions_only) do
    local list, msg, code = parse.instruction(c.text, { meta_prompt_type = "instructions_only", dataset = "bbh" })
    if #c.expected == 0 or c.expected[1] == "" then
      expect_parse_error(list, msg, code, c.text)
    else
      T.eq(list, c.expected, c.text)
    end
  end
end)

T.test("linear regression outputs: the last [w, b] pair, rounded (reference extraction)", function()
  for _, c in ipairs(cases.linear_regression) do
    local list, msg, code = parse.linear_regression(c.text)
    if c.expected == cjson.null then
      expect_parse_error(list, msg, code, c.text)
    else
      T.eq(list, { { w = math.tointeger(c.expected[1]), b = math.tointeger(c.expected[2]) } }, c.text)
      T.eq(math.type(list[1].w), "integer", "0 decimals gives integers")
    end
  end
end)

T.test("TSP outputs: the first <trace>, a valid tour from node 0 (reference extraction)", function()
  for _, c in ipairs(cases.tsp) do
    local list, msg, code = parse.tsp(c.text, math.tointeger(c.n))
    if c.expected == cjson.null then
      expect_parse_error(list, msg, code, c.text)
    else
      local tour = {}
      for i, v in ipairs(c.expected) do tour[i] = math.tointeger(v) end
      T.eq(list, { tour }, c.text)
    end
  end
end)

T.test("GPT outputs: text between <INS> and </INS>, or the whole output when tags are missing", function()
  local o = { dataset = "bbh" }
  T.eq(parse.instruction("Sure! Here is a new one:\n<INS>Let's think step by step and verify.</INS>\nHope it helps.", o),
    { "Let's think step by step and verify." })
  T.eq(parse.instruction("<INS> first candidate </INS> and <INS>second candidate</INS>", o), { "First candidate" })
  T.eq(parse.instruction("<INS>unclosed instruction", o), { "Unclosed instruction" })
  T.eq(parse.instruction("no tags at all, just prose", o), { "No tags at all, just prose" })
  -- the end tag is looked up in the whole output: a stray </INS> first leaves nothing
  local l, _, code = parse.instruction("</INS> then <INS>late</INS>", o)
  T.eq(l, nil)
  T.eq(code, "parse")
  -- A_begin uses <Start> tags
  T.eq(parse.instruction("<Start>**Let's** work it out.</Start>", { position = "A_begin", dataset = "bbh" }),
    { "Let's work it out." })
end)

T.test("all = true keeps every tagged candidate of an output, without duplicates", function()
  local out = "<INS>Solve carefully.</INS>\n<INS>solve carefully.</INS>\n<INS>Check each step.</INS>\n<INS>Bad INS one</INS>"
  T.eq(parse.instruction(out, { all = true, dataset = "bbh" }), { "Solve carefully.", "Check each step." })
  T.eq(parse.instruction("[one] and [two] and [one]", { optimizer = "text-bison", all = true, dataset = "bbh" }),
    { "One", "Two" })
end)

T.test("the reference's filters: length > 500, digits on gsm8k, 'INS'", function()
  local long = "<INS>" .. string.rep("word ", 101) .. "</INS>"
  local l, msg, code = parse.instruction(long, { dataset = "bbh" })
  T.eq(l, nil)
  T.eq(code, "parse")
  T.contains(msg, "too long")
  T.eq(#parse.instruction(long, { dataset = "bbh", max_length = 1000 })[1], 504)
  l, msg = parse.instruction("<INS>Use 2 steps.</INS>")
  T.eq(l, nil)
  T.contains(msg, "number")
  T.eq(parse.instruction("<INS>Use 2 steps.</INS>", { dataset = "bbh" }), { "Use 2 steps." })
  l, msg = parse.instruction("<INS>Replace <INS> with this</INS>", { dataset = "bbh" })
  T.eq(l, nil)
  T.contains(msg, "INS")
end)

T.test("empty instructions: a parse error unless keep_empty", function()
  local l, _, code = parse.instruction("[]", { optimizer = "text-bison" })
  T.eq(l, nil)
  T.eq(code, "parse")
  T.eq(parse.instruction("[]", { optimizer = "text-bison", keep_empty = true }), { "" })
end)

T.test("polish_sentence: strip, drop **, capitalise the first letter only when longer than one", function()
  T.eq(parse.polish("  hello world  "), "Hello world")
  T.eq(parse.polish("**bold** move"), "Bold move")
  T.eq(parse.polish("a"), "a")
  T.eq(parse.polish("   "), "")
end)

T.test("linear regression: decimals, non-finite values, and several pairs in prose", function()
  T.eq(parse.linear_regression("[15.456, 14.444]", { decimals = 2 }), { { w = 15.46, b = 14.44 } })
  local l, msg, code = parse.linear_regression("[inf, 3]")
  T.eq(l, nil)
  T.eq(code, "parse")
  T.contains(msg, "finite")
  T.eq(parse.linear_regression("Start [10, 10], better [12, 11], best:\n[w=13, b=12.6]"), { { w = 13, b = 13 } })
  T.raises(function() parse.linear_regression(42) end, "text must be a string")
end)

T.test("tsp: clear reasons for invalid tours", function()
  local _, msg = parse.tsp("<trace> 0,1,2 </trace>", 4)
  T.contains(msg, "3 nodes, expected 4")
  _, msg = parse.tsp("<trace> 0,1,1,2 </trace>", 4)
  T.contains(msg, "twice")
  _, msg = parse.tsp("<trace> 0,1,-2,3 </trace>", 4)
  T.contains(msg, "out of range")
  _, msg = parse.tsp("<trace> 0,1,99999999999999999999999,3 </trace>", 4)
  T.contains(msg, "out of range")
  _, msg = parse.tsp("<trace> 2,1,0,3 </trace>", 4)
  T.contains(msg, "start at node 0")
  T.eq(parse.tsp("<trace>0,2,1</trace>"), { { 0, 2, 1 } }, "n defaults to the tour's length")
  T.raises(function() parse.tsp("<trace>0</trace>", 0) end, "number of nodes")
end)

T.done()
