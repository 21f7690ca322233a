-- opro.dataset: reference-format loaders, generic JSONL/CSV, CSV parser,
-- seeded splits and samples, errors naming file and line.
local T = require "testlib"
local D = opro.dataset
local FIX = T.root .. "/tests/fixtures/datasets"
local REF = FIX .. "/ref"

T.test("gsm8k: TSV without header, question and numeric answer, kind number", function()
  local items = D.load("gsm8k", { data_dir = REF, split = "train" })
  T.eq(#items, 5)
  T.eq(items[1].input, "Tom has 3 apples and buys 4 more. How many apples does he have?")
  T.eq(items[1].target, "7")
  T.eq(items[1].kind, "number")
  T.eq(items[1].dataset, "gsm8k")
  T.eq(items[1].index, 0)
  T.eq(items[5].index, 4)
  T.eq(items[3].target, "999")
  T.eq(items[3].input, "Sam had 1,000 stamps and gave away 1. How many are left?")
  T.eq(items[4].input, 'She said "hi" twice and then "bye" once. How many words?', "quotes inside a field are literal")
  T.eq(items[5].target, "-2")
  T.match(items[2].source, "gsm_train%.tsv:2$")
  local test = D.load("gsm8k", { data_dir = REF, split = "test" })
  T.eq(#test, 2)
  T.eq(test[2].target, "25")
  local all = D.load("gsm8k", { data_dir = REF, split = "all" })
  T.eq(#all, 7)
  T.eq(all[6].split, "test")
  T.eq(all[7].index, 6)
end)

T.test("bbh: JSON per task; kinds from the reference's task sets; choices parsed", function()
  local nav = D.load("bbh", { data_dir = REF, task = "navigate" })
  T.eq(#nav, 3)
  T.eq(nav[2].target, "No")
  T.eq(nav[1].kind, "boolean")
  T.eq(nav[1].task, "navigate")
  local date = D.load("bbh:date_understanding", { data_dir = REF })
  T.eq(date[1].kind, "choice")
  T.eq(date[1].choices, { "01/01/2020", "12/31/2019", "01/03/2020" })
  T.eq(date[1].target, "(A)")
  local count = D.load("bbh:object_counting", { data_dir = REF })
  T.eq(count[1].kind, "number")
  T.eq(count[2].target, "2", "a numeric JSON target becomes its text")
end)

T.test("mmlu: CSV per subject, input built as the reference (options listed, question sentence)", function()
  local items = D.load("mmlu", { data_dir = REF, subject = "tiny" })
  T.eq(#items, 3)
  T.eq(items[1].input, "What is 1 + 1?\n(A) 1\n(B) 2\n(C) 3\n(D) 4\nWhat's the answer in (A) (B) (C) (D)?")
  T.eq(items[1].target, "B")
  T.eq(items[1].kind, "choice")
  T.eq(items[1].choices, { "1", "2", "3", "4" })
  T.eq(items[2].input, 'Which is a prime, "really"?\n(A) 4\n(B) 6\n(C) 7\n(D) 9\nWhat\'s the answer in (A) (B) (C) (D)?')
  -- a quoted field with line breaks; "None" is NaN for pandas: the reference shows "nan"
  T.eq(items[3].input, "Pick the statement:\nI. it rains\nII. it snows\n(A) I only\n(B) II only\n(C) I, II\n(D) nan\n"
    .. "What's the answer in (A) (B) (C) (D)?")
  T.eq(items[3].choices[4], "None")
  T.match(items[3].source, "tiny_test%.csv:3$")
  local keep = D.load("mmlu:tiny", { data_dir = REF, pandas_na = false })
  T.contains(keep[3].input, "(D) None\n")
  local crlf = D.load("mmlu:crlf", { data_dir = REF })
  T.eq(crlf[1].target, "B")
  T.eq(crlf[1].choices, { "1", "2", "3", "5" })
end)

T.test("mmlu categories: the category's subjects present in the folder, concatenated", function()
  local items = D.load("mmlu", { data_dir = REF, category = "STEM" })
  T.eq(#items, 3)
  T.eq({ items[1].task, items[2].task, items[3].task }, { "abstract_algebra", "college_mathematics", "college_mathematics" })
  T.eq(items[3].index, 2)
  T.eq(items[3].category, "STEM")
  T.eq(items[3].input, "Integral of 1, from 0 to 1?\n(A) 0\n(B) 1\n(C) 2\n(D) 3\nWhat's the answer in (A) (B) (C) (D)?")
  T.eq(#D.load("mmlu:humanities", { data_dir = REF }), 1)
  T.ok(#D.mmlu_category("social sciences") == 12)
  T.raises(function() D.load("mmlu", { data_dir = REF, category = "arts" }) end, "unknown MMLU category 'arts'")
  T.raises(function() D.load("mmlu:humanities", { data_dir = FIX .. "/bad" }) end, "no subject of category 'humanities'")
end)

T.test("multiarith: JSON list, question stripped, int() of the first solution", function()
  local items = D.load("multiarith", { data_dir = REF })
  T.eq(#items, 2)
  T.eq(items[1].input, "Ann had 3 pens and got 4 more. How many pens does she have?")
  T.eq(items[1].target, "7")
  T.eq(items[2].target, "4")
  T.eq(items[1].kind, "number")
end)

T.test("aqua: JSON lines; options appended as the reference's prompt", function()
  local items = D.load("aqua", { data_dir = REF })
  T.eq(#items, 2)
  T.eq(items[1].input, "What is 20% of 50?\n(A)5\n(B)10\n(C)15\n(D)20\n(E)25\nWhat's the answer in (A) (B) (C) (D) (E)?")
  T.eq(items[1].target, "B")
  T.eq(items[2].choices, { "120 km", "150 km", "180 km", "200 km", "None of these" })
  T.eq(items[2].kind, "choice")
end)

T.test("the shared layout (gsm8k/, bbh/, mmlu/test/, ...) is found too; limit keeps the first n", function()
  local dir = T.tmpdir()
  os.execute(string.format("mkdir -p %s/gsm8k %s/bbh && cp %s/gsm_data/*.tsv %s/gsm8k/ && cp %s/BIG-Bench-Hard-data/navigate.json %s/bbh/",
    dir, dir, REF, dir, REF, dir))
  T.eq(#D.load("gsm8k", { data_dir = dir, split = "test" }), 2)
  T.eq(#D.load("bbh:navigate", { data_dir = dir, limit = 2 }), 2)
end)

T.test("bad input: missing files, wrong column counts, bad JSON, empty data name file and line", function()
  local err = T.raises(function() D.load("gsm8k", { data_dir = FIX .. "/nowhere" }) end, "gsm_train.tsv not found")
  T.contains(err, "fetch-datasets")
  T.raises(function() D.load("gsm8k", { data_dir = FIX .. "/bad" }) end, "gsm_train.tsv:2: expected 2 or 3 tab-separated columns")
  T.raises(function() D.load("gsm8k", { data_dir = FIX .. "/bad", split = "test" }) end, "gsm_test.tsv:1: column 2 (answer) is not a number")
  T.raises(function() D.load("gsm8k", { data_dir = REF, split = "dev" }) end, "split must be")
  T.raises(function() D.load("aqua", { data_dir = FIX .. "/bad" }) end, "AQuA.json:2: bad JSON")
  T.raises(function() D.load("mmlu:unterminated", { data_dir = FIX .. "/bad" }) end, "unterminated_test.csv:2: unterminated quoted field")
  T.raises(function() D.load("mmlu:columns", { data_dir = FIX .. "/bad" }) end, "columns_test.csv:2: expected 6 columns")
  T.raises(function() D.load("mmlu:letter", { data_dir = FIX .. "/bad" }) end, "letter_test.csv:1: column 6 (answer)")
  T.raises(function() D.load("bbh:navigate", { data_dir = FIX .. "/bad" }) end, "navigate.json:3: bad JSON")
  T.raises(function() D.load("bbh:snarks", { data_dir = FIX .. "/bad" }) end, "snarks.json: no items")
  T.raises(function() D.load("gsm8k", { data_dir = FIX .. "/empty" }) end, "gsm_train.tsv: no items")
  T.raises(function() D.load("bbh", { data_dir = REF }) end, "option 'task' is required")
  T.raises(function() D.load("squad", {}) end, "unknown dataset 'squad'")
end)

T.test("jsonl with field mapping (names, dotted paths, functions)", function()
  local items = D.jsonl(FIX .. "/generic/qa.jsonl", { input = "q", target = "a", id = "meta.id", kind = "text" })
  T.eq(#items, 2)
  T.eq(items[1].input, "Capital of France?")
  T.eq(items[2].target, "5")
  T.eq(items[2].id, "f2")
  T.eq(items[2].kind, "text")
  T.match(items[2].source, "qa%.jsonl:3$")
  local f = D.jsonl(FIX .. "/generic/qa.jsonl", { input = function(r) return "Q: " .. r.q end, target = "a" })
  T.eq(f[1].input, "Q: Capital of France?")
  T.raises(function() D.jsonl(FIX .. "/generic/missing.jsonl", { input = "q", target = "a" }) end,
    "missing.jsonl:2: field 'a' is missing")
  T.raises(function() D.jsonl(FIX .. "/generic/badjson.jsonl", { input = "q", target = "a" }) end, "badjson.jsonl:2: bad JSON")
  T.raises(function() D.jsonl(FIX .. "/generic/none.jsonl", {}) end, "cannot open")
end)

T.test("csv with a header and field mapping; without a header by column number", function()
  local items = D.csv(FIX .. "/generic/qa.csv", { input = "question", target = "answer", id = "id" })
  T.eq(#items, 2)
  T.eq(items[1].input, "Name a colour, any colour")
  T.eq(items[2].input, 'He said "yes"\ntwice')
  T.eq(items[2].id, "a2")
  T.match(items[2].source, "qa%.csv:3$")
  local nh = D.csv(FIX .. "/generic/qa.csv", { header = false, input = 2, target = 3 })
  T.eq(#nh, 3)
  T.eq(nh[1].input, "question")
  T.raises(function() D.csv(FIX .. "/generic/qa.csv", { input = "prompt", target = "answer" }) end,
    "no column named 'prompt'")
  T.raises(function() D.csv(FIX .. "/generic/short.csv", { input = "question", target = "answer" }) end,
    "short.csv:2: expected 3 columns")
end)

T.test("RFC 4180 parser: quotes, doubled quotes, CRLF, embedded line breaks, empty fields, errors", function()
  local rows = D.csv_parse('a,"b,c","d""e"\r\n,"",x\r\n"multi\r\nline",2\n\n', { file = "t.csv" })
  T.eq(#rows, 3)
  T.eq({ rows[1][1], rows[1][2], rows[1][3] }, { "a", "b,c", 'd"e' })
  T.eq({ rows[2][1], rows[2][2], rows[2][3] }, { "", "", "x" })
  T.eq(rows[3][1], "multi\r\nline")
  T.eq(rows[3].line, 3)
  T.eq(#D.csv_parse("x;y\n", { sep = ";" })[1], 2)
  T.raises(function() D.csv_parse('a,"b"c\n', { file = "t.csv" }) end, "t.csv:1: unexpected")
  T.raises(function() D.csv_parse('a\nb,"c\n', { file = "t.csv" }) end, "t.csv:2: unterminated")
end)

T.test("numpy-compatible generator reproduces np.random (seed 0)", function()
  local np = D.rng.numpy(0)
  local u = {}
  for i = 1, 3 do u[i] = np:random_sample() end
  T.near(u[1], 0.5488135039273248, 1e-15)
  T.near(u[2], 0.7151893663724195, 1e-15)
  T.near(u[3], 0.6027633760716439, 1e-15)
  np = D.rng.numpy(0)
  T.near(np:randn(), 1.764052345967664, 1e-12)
  T.near(np:randn(), 0.4001572083672233, 1e-12)
  T.eq(D.rng.numpy(0):permutation(10), { 2, 8, 4, 9, 1, 6, 7, 3, 0, 5 })
end)

T.test("split: numpy method = the reference's np.random.choice indices; deterministic; disjoint", function()
  local items = {}
  for i = 1, 10 do items[i] = { id = i } end
  local train, rest = D.split(items, { ratio = 0.3, seed = 0 })
  -- np.random.seed(0); np.sort(np.random.choice(10, 3, replace=False)) == [2, 4, 8]
  T.eq({ train[1].id, train[2].id, train[3].id }, { 3, 5, 9 })
  T.eq(#rest, 7)
  local seen = {}
  for _, it in ipairs(train) do seen[it.id] = true end
  for _, it in ipairs(rest) do T.ok(not seen[it.id]) seen[it.id] = true end
  for i = 1, 10 do T.ok(seen[i]) end
  local a = D.split(items, { ratio = 0.5, seed = 7, method = "xoshiro" })
  local b = D.split(items, { ratio = 0.5, seed = 7, method = "xoshiro" })
  T.eq(a, b)
  T.eq(#a, 5)
  for i = 2, #a do T.ok(a[i - 1].id < a[i].id, "original order kept") end
  T.raises(function() D.split(items, { ratio = 2 }) end, "ratio")
end)

T.test("sample: deterministic by seed, count or ratio, original order, independent of math.random", function()
  local items = {}
  for i = 1, 200 do items[i] = i end
  math.randomseed(1)
  local a = D.sample(items, 7, 42)
  math.randomseed(2)
  local b = D.sample(items, 7, 42)
  T.eq(a, b)
  T.eq(#a, 7)
  T.ne(D.sample(items, 7, 43), a, "another seed, another sample")
  T.eq(#D.sample(items, 0.035, 1), 7)
  T.eq(#D.sample(items, 500, 1), 200)
  for i = 2, #a do T.ok(a[i - 1] < a[i]) end
  -- roughly uniform: every decile is hit when sampling half
  local half = D.sample(items, 100, 5)
  local dec = {}
  for _, v in ipairs(half) do dec[(v - 1) // 20] = true end
  for d = 0, 9 do T.ok(dec[d], "decile " .. d) end
  T.raises(function() D.sample(items, -1, 1) end, "n_or_ratio")
end)

T.test("xoshiro: int stays in range and covers it; float in [0, 1)", function()
  local r = D.rng.new("text seeds work")
  local seen = {}
  for _ = 1, 1000 do
    local v = r:int(6)
    T.ok(v >= 1 and v <= 6)
    seen[v] = true
    local f = r:float()
    T.ok(f >= 0 and f < 1)
  end
  for v = 1, 6 do T.ok(seen[v]) end
end)

T.done()
