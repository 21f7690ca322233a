-- opro-lua report: CSV / JSON Lines export round trips and the HTML
-- report rendered in headless Chromium.
local T = require "testlib"
local store = require "opro.store"
local cjson = require "cjson"

local dir = T.tmpdir()
local db = dir .. "/run.db"

-- synthetic runs through the store API (no LLM)
local INJECT = "<script>document.body.setAttribute('data-pwned','1')</script> Think <b>step</b> by step"
local tricky = {
  'Comma, "quotes" and\nnewlines\r\n',
  "Unicode: café — 数学 ✓",
  INJECT,
  "<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">",
  "  leading and trailing spaces  ",
  "",
}

local st = assert(store.open(db))
local run = st:run{ name = "gsm8k", seed = 42, script = "-- <script>alert(1)</script>",
  config = { task = { kind = "instruction" }, steps = 4, optimizer = { model = "sim-opt", api_key = "sk-secret0123456789abcdefghij" } } }
local rec = run:call_recorder()
local n, scored = 0, 0
for step = 0, 4 do
  for i = 1, 5 do
    n = n + 1
    local text = tricky[(n - 1) % #tricky + 1] .. (n > #tricky and (" #" .. n) or "")
    local score = ((n * 37) % 100) / 100
    run:record_candidate{ step = step, key = "k" .. n, solution = text, score = score, details = { correct = n, total = 100 } }
    scored = scored + 1
    rec{ key = "h" .. n, provider = "openai", model = "sim-scorer", status = 200, request = '{"q":"' .. n .. '"}',
         response = "answer, \"" .. n .. "\"\n", usage = { input_tokens = 100 + n, output_tokens = 20 },
         latency = n / 100, attempts = 1 + n % 2, cost = 0.0001 * n, cached = n % 4 == 0 }
  end
end
run:record_candidate{ step = 4, key = "unparsed", parse_error = "no <INS> tags found" }
run:record_candidate{ step = 4, key = "rejected", text = "Think step by step, please.",
  parse_error = "rejected before scoring: cosine 0.950 to a text already scored" }
for idx = 1, 6 do
  run:record_evaluation{ key = "k3", split = "test", index = idx, input = "Q" .. idx .. ", with comma",
    target = tostring(idx), response = "A: " .. idx, prediction = tostring(idx), correct = idx % 3 ~= 0 }
  run:record_evaluation{ key = "k7", split = "test", index = idx, input = "Q" .. idx, target = tostring(idx),
    response = "r", prediction = "0", correct = false }
end
for step = 0, 4 do run:record_metrics{ step = step, metrics = { diversity = step / 10, note = "<i>x</i>" } } end
run:finish{ status = "done" }

local lr = st:run{ name = "linreg", config = { task = { kind = "linear_regression", better = "lower", w_true = 15, b_true = 14 } } }
local lr_n = 0
for step = 0, 3 do
  for i = 1, 4 do
    lr_n = lr_n + 1
    lr:record_candidate{ step = step, key = step .. ":" .. i, solution = { w = 10 + step + i * 0.25, b = 4.0 + step },
      text = string.format("w=%g, b=%g", 10 + step + i * 0.25, 4.0 + step), score = 1000 / (1 + step + i) }
  end
end
lr:finish{}

local tsp = st:run{ name = "tsp", config = { task = { kind = "tsp", better = "lower",
  coords = { { 0, 0 }, { 10, 0 }, { 10, 10 }, { 0, 10 }, { 5, 5 } } } } }
tsp:record_candidate{ step = 0, key = "0,1,2,3,4", solution = { 0, 1, 2, 3, 4 }, score = 44.1 }
tsp:record_candidate{ step = 1, key = "0,4,1,2,3", solution = { 0, 4, 1, 2, 3 }, score = 40.0 }
tsp:finish{}
st:close()

local function report(args)
  return T.run("report " .. T.shquote(db) .. " " .. args)
end

local has_python = os.execute("python3 -c 'import csv, json' >/dev/null 2>&1")

-- parses a CSV file with Python's csv module (an independent RFC 4180 reader)
local function parse_csv(path)
  local rc, out, err = T.sh("python3 -c " .. T.shquote([[
import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f, strict=True))
print(json.dumps(rows))
]]) .. " " .. T.shquote(path))
  assert(rc == 0, err)
  return cjson.decode(out)
end

if has_python then
  T.test("CSV export (RFC 4180) round-trips the history through Python's csv reader", function()
    local out = dir .. "/history.csv"
    local rc, _, err = report("--run 1 --csv -o " .. T.shquote(out))
    T.eq(rc, 0, err)
    local raw = T.read(out)
    T.eq(raw:sub(1, 61), "run_id,rep,step,key,score,text,parse_error,solution,details\r\n")
    local rows = parse_csv(out)
    T.eq(rows[1], { "run_id", "rep", "step", "key", "score", "text", "parse_error", "solution", "details" })
    local st2 = assert(store.open(db))
    local want = assert(st2:get(1)):candidates{ unscored = true }
    st2:close()
    T.eq(#rows - 1, #want)
    for i, c in ipairs(want) do
      local r = rows[i + 1]
      T.eq(r[1], "1")
      T.eq(r[3], tostring(c.step))
      T.eq(r[4], c.key)
      T.eq(r[5] == "" and nil or tonumber(r[5]), c.score)
      T.eq(r[6], c.text or "", "text of " .. c.key)
      T.eq(r[7], c.parse_error or "")
      if c.solution ~= nil then T.eq(store.json.decode(r[8]), c.solution) end
    end
  end)

  T.test("CSV export of evaluations and calls", function()
    local out = dir .. "/calls.csv"
    local rc = report("--csv --table calls -o " .. T.shquote(out))
    T.eq(rc, 0)
    local rows = parse_csv(out)
    T.eq(#rows, 1 + n)
    local col = {}
    for i, name in ipairs(rows[1]) do col[name] = i end
    T.eq(rows[2][col.response], 'answer, "1"\n')
    T.eq(rows[2][col.input_tokens], "101")
    T.eq(rows[5][col.cached], "1")
    local rc2, text = report("--csv --table evaluations --run 1")
    T.eq(rc2, 0)
    T.contains(text, '"Q1, with comma"')
    local _, lines = text:gsub("\r\n", "")
    T.eq(lines, 1 + 12)
  end)
else
  T.skip("CSV round trips", "python3 is not installed (needed as an independent CSV reader)")
end

T.test("JSON Lines export: one object per row, every column, values as stored", function()
  local rc, out, err = report("--jsonl --run 1")
  T.eq(rc, 0, err)
  local st2 = assert(store.open(db))
  local want = assert(st2:get(1)):candidates{ unscored = true }
  st2:close()
  local i = 0
  for line in out:gmatch("[^\n]+") do
    i = i + 1
    local r = cjson.decode(line)
    local c = want[i]
    T.eq(r.key, c.key)
    T.eq(r.step, c.step)
    T.eq(r.text, c.text or cjson.null)
    T.eq(r.score, c.score or cjson.null)
    T.eq(r.parse_error, c.parse_error or cjson.null)
    if c.solution then T.eq(r.solution, c.solution) end
    if c.details then T.eq(r.details, { correct = c.details.correct, total = c.details.total }) end
  end
  T.eq(i, #want)
  -- every run when --run is absent; the calls table
  local _, all = report("--jsonl")
  local _, rows = all:gsub("\n", "")
  T.eq(rows, #want + lr_n + 2)
  local _, calls = report("--jsonl --table calls")
  local first = cjson.decode(calls:match("[^\n]+"))
  T.eq(first.hash, "h1")
  T.eq(first.cached, 0)
  T.eq(first.request, '{"q":"1"}')
end)

T.test("bad arguments and files give clear errors", function()
  local rc, _, err = T.run("report " .. T.shquote(dir .. "/none.db") .. " --csv")
  T.eq(rc, 2)
  T.contains(err, "none.db: no such file")
  rc, _, err = report("--csv --table steps")
  T.eq(rc, 2)
  T.contains(err, "--table must be one of history, evaluations, calls")
  rc, _, err = report("--run 99 --csv")
  T.eq(rc, 2)
  T.contains(err, "has no run 99")
  rc, _, err = report("")
  T.eq(rc, 2)
  T.contains(err, "-o FILE.html")
  local txt = T.write(dir .. "/notes.txt", "hello\n")
  rc, _, err = T.run("report " .. T.shquote(txt) .. " --csv")
  T.eq(rc, 2)
  T.contains(err, "not an opro-lua database")
  rc, out = report("--runs")
  T.eq(rc, 0)
  T.match(out, "^1\tgsm8k\tdone\t27 candidates\t25 calls\tbest 0%.9")
end)

local function html_of(runid)
  local out = string.format("%s/report%d.html", dir, runid)
  local rc, _, err = report(string.format("--run %d -o %s", runid, T.shquote(out)))
  T.eq(rc, 0, err)
  return out, T.read(out)
end

T.test("the HTML report is one self-contained file with every text escaped", function()
  local _, page = html_of(1)
  T.match(page, "^<!DOCTYPE html>")
  T.eq(page:find("<link", 1, true), nil, "no external stylesheet")
  T.eq(page:find('src="http', 1, true), nil, "no external script or image")
  T.eq(page:find("https?://"), nil, "no URL at all")
  local _, scripts = page:gsub("<script", "")
  T.eq(scripts, 1, "only the report's own script")
  T.contains(page, "&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;")
  T.eq(page:find("sk-secret0123456789abcdefghij", 1, true), nil, "API key in the page")
  local _, dots = page:gsub('<circle class="pt"', "")
  T.eq(dots, scored)
  T.contains(page, "Test accuracy of the top instructions")
  -- k3: 4 of 6 test items correct; k7: none
  T.contains(page, '0.6667 <span class="muted">(n=6)</span>')
  T.contains(page, '>0 <span class="muted">(n=6)</span>')
  T.contains(page, "<h2>Step metrics</h2>")
  T.contains(page, '<th class="num wrap">diversity</th>')
  -- a rejection by an exploration stage is not called a parse error
  T.contains(page, '<div class="err">not scored: rejected before scoring: cosine 0.950')
  T.contains(page, '<div class="err">parse error: no &lt;INS&gt; tags found')
end)

local chromium
for _, name in ipairs({ "chromium", "chromium-browser", "google-chrome" }) do
  if os.execute("command -v " .. name .. " >/dev/null 2>&1") then chromium = name break end
end

local function dump_dom(file, hash)
  local profile = T.tmpdir()
  local rc, out, err = T.sh(string.format(
    "timeout 90 %s --headless --disable-gpu --no-sandbox --no-first-run --user-data-dir=%s --dump-dom %s",
    chromium, T.shquote(profile), T.shquote("file://" .. file .. (hash or ""))))
  T.eq(rc, 0, err)
  return out
end

if chromium then
  T.test("headless Chromium: the page's script runs, one dot per candidate, <script> shown as text", function()
    local file = html_of(1)
    local dom = dump_dom(file)
    T.match(dom, '<body[^>]*data%-ready="1"', "the report's script ran to the end")
    local body = dom:match("<body[^>]*>")
    T.eq(body:find("pwned", 1, true), nil, "an injected script or handler ran: " .. body)
    local _, dots = dom:gsub('<circle class="pt"', "")
    T.eq(dots, scored, "dots in the chart")
    T.match(dom, '<span id="chart%-count">' .. scored .. "</span>", "the script counted the same dots")
    -- the instruction's text, as text: the DOM serializer escapes it again
    T.contains(dom, "&lt;script&gt;document.body.setAttribute('data-pwned','1')&lt;/script&gt; Think &lt;b&gt;step&lt;/b&gt; by step")
    local _, scripts = dom:gsub("<script", "")
    T.eq(scripts, 1, "no script element came from the data")
    T.eq(dom:find("<img", 1, true), nil, "no element came from the data")
    T.contains(dom, '<span id="cands-count">' .. (scored + 2) .. "</span>", "the search box counted every row")
  end)

  T.test("headless Chromium: a link's #q= searches and #sort= sorts the candidates", function()
    local file = html_of(1)
    local want, best = 0, -math.huge
    local st2 = assert(store.open(db))
    for _, c in ipairs(assert(st2:get(1)):candidates{ unscored = true }) do
      if (c.text or ""):lower():find("café", 1, true) then want = want + 1 end
      if c.score and c.score > best then best = c.score end
    end
    st2:close()
    T.ok(want > 0)
    local dom = dump_dom(file, "#q=CAF%C3%89&sort=score&dir=desc")
    T.contains(dom, '<span id="cands-count">' .. want .. "</span>")
    local tbody = dom:match('<table id="cands".-<tbody>(.-)</tbody>')
    local _, hidden = tbody:gsub("<tr[^>]* hidden", "")
    local _, rows = tbody:gsub("<tr", "")
    T.eq(rows - hidden, want)
    local first = tbody:match("<tr.-</tr>")
    T.match(first, 'data%-v="' .. string.format("%.17g", best):gsub("%.", "%%."), "highest score first")
    -- ascending: the unscored candidate (no score) comes first
    dom = dump_dom(file, "#sort=score&dir=asc")
    first = dom:match('<table id="cands".-<tbody>(.-)</tbody>'):match("<tr.-</tr>")
    T.contains(first, "parse error: no &lt;INS&gt; tags found")
  end)

  T.test("headless Chromium: linear regression trajectory and TSP tour", function()
    local dom = dump_dom((html_of(2)))
    T.match(dom, 'data%-ready="1"')
    local _, pts = dom:gsub('<circle class="lr%-pt"', "")
    T.eq(pts, lr_n)
    T.contains(dom, "true w=15, b=14")
    dom = dump_dom((html_of(3)))
    T.match(dom, 'data%-ready="1"')
    T.match(dom, '<polygon class="tour" points="[%d%.]+,[%d%.]+ [^"]+"')
    local _, nodes = dom:gsub('<circle class="node"', "")
    T.eq(nodes, 5)
    T.contains(dom, "tour [0,4,1,2,3]")
  end)
else
  T.skip("headless Chromium checks", "chromium is not installed (Debian package chromium)")
end

T.done()
