-- The bad input table (issue 9): one row per kind of malformed input — a
-- script, a dataset, a configuration (flags and option tables) or a server
-- reply. Each row asserts
--   (a) the error says what is wrong and where (file:line, or the record,
--       the field, the flag), checked by substring;
--   (b) the exit status when a process runs it (1 for an error at run time,
--       2 for a usage error, as opro-lua(1) and opro.cli promise);
--   (c) that the run database the run used is intact afterwards: it passes
--       PRAGMA integrity_check and holds every row it held before (the rows
--       of a short successful run against opro-sim), byte for byte.
-- Servers: opro-sim makes the base database; tests/fixtures/bad_input/
-- reply_server.py answers with the malformed replies (picked by the model).
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"
local sqlite = require "opro.core.sqlite"

local FIX = T.root .. "/tests/fixtures/bad_input"
local SCRIPTS = FIX .. "/scripts"
local DATA = FIX .. "/data"
local GENERIC = FIX .. "/generic"
local EX = T.root .. "/examples"
local q = T.shquote
local dir = T.tmpdir()

---------------------------------------------------------------------------
-- servers

local sim = S.start("--seed 3 --quiet")
local SIM = sim.base .. "/v1"

local function start_reply_server()
  local portfile = dir .. "/reply.port"
  os.execute(string.format("python3 %s %s >%s/reply.log 2>&1 & echo $! > %s/reply.pid",
    q(FIX .. "/reply_server.py"), q(portfile), dir, dir))
  local pid = (T.read(dir .. "/reply.pid") or ""):match("%d+")
  T.cleanup(function() if pid then os.execute("kill " .. pid .. " 2>/dev/null") end end)
  for _ = 1, 400 do
    local p = T.read(portfile)
    if p and p:match("^%d+$") then return "http://127.0.0.1:" .. p end
    opro.sleep(0.025)
  end
  error("the reply fixture server did not start: " .. (T.read(dir .. "/reply.log") or ""))
end
local REPLY_ROOT = start_reply_server()
local function reply_stats()
  local resp = assert(require("opro.core.http").request{ url = REPLY_ROOT .. "/stats" })
  return cjson.decode(resp.body)
end
local REPLY = REPLY_ROOT .. "/v1"

---------------------------------------------------------------------------
-- the run database: snapshots and the intact check

local TABLES = { "runs", "steps", "candidates", "evaluations", "calls", "cache", "step_metrics" }

local function encode_row(row)
  local keys = {}
  for k in pairs(row) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = row[k]
    parts[#parts + 1] = k .. "=" .. (type(v) == "string" and string.format("%q", v) or tostring(v))
  end
  return table.concat(parts, ",")
end

local function query(db, sql)
  local out = {}
  local s = assert(db:prepare(sql))
  for row in s:rows() do out[#out + 1] = row end
  s:finalize()
  return out
end

--- Every row of every table, by rowid, and the integrity check's verdict.
local function snapshot(path)
  local db = assert(sqlite.open(path, "rw"))
  local snap = { rows = {}, count = {} }
  snap.integrity = query(db, "PRAGMA integrity_check")[1].integrity_check
  for _, t in ipairs(TABLES) do
    local rows, n = {}, 0
    for _, row in ipairs(query(db, "SELECT rowid AS rowid_, * FROM " .. t)) do
      local id = row.rowid_
      row.rowid_ = nil
      rows[id] = encode_row(row)
      n = n + 1
    end
    snap.rows[t], snap.count[t] = rows, n
  end
  snap.runs = query(db, "SELECT * FROM runs ORDER BY id")
  db:close()
  return snap
end

--- The database at `path` passes integrity_check and still holds every row
-- of `before` unchanged (skip_run: a run whose runs row may change, the one
-- a --resume continued). Returns the new snapshot.
local function assert_intact(path, before, skip_run)
  local after = snapshot(path)
  T.eq(after.integrity, "ok", "PRAGMA integrity_check of " .. path)
  for _, t in ipairs(TABLES) do
    for id, row in pairs(before.rows[t]) do
      if not (t == "runs" and id == skip_run) then
        T.eq(after.rows[t][id], row, string.format("%s row %d of %s", t, id, path))
      end
    end
  end
  return after
end

local function one(path, sql)
  local db = assert(sqlite.open(path, "rw"))
  local rows = query(db, sql)
  db:close()
  return rows
end

-- the base database: a short successful run (steps, candidates, calls,
-- cache, evaluations, metrics) of examples/gsm8k.lua against opro-sim
local BASE = dir .. "/base.db"
do
  local rc, out, err = T.sh(string.format("%s %s/gsm8k.lua --demo --demo-items 3 --steps 1 --candidates 2 --evaluate-top 1 "
    .. "--quiet --json --base-url %s --model sim-1 --db %s", q(T.bin), EX, SIM, q(BASE)))
  assert(rc == 0, "the base run failed: " .. out .. err)
end
local base = snapshot(BASE)     -- (also checkpoints the WAL: a copy of the file is the whole database)

T.test("the base database holds a finished run with rows in every table the loop writes", function()
  T.eq(base.integrity, "ok")
  T.eq(#base.runs, 1)
  T.eq(base.runs[1].status, "done")
  for _, t in ipairs { "steps", "candidates", "evaluations", "calls", "cache", "step_metrics" } do
    T.ok(base.count[t] > 0, t .. " has rows")
  end
end)

local ncopy = 0
--- A fresh copy of the base database.
local function copy_db(from)
  ncopy = ncopy + 1
  local p = string.format("%s/case%02d.db", dir, ncopy)
  assert(os.execute(string.format("cp %s %s", q(from or BASE), q(p))))
  return p
end

---------------------------------------------------------------------------
-- running a row

local function expand(s, ctx)
  return (s:gsub("%%{(%w+)}", function(k) return assert(ctx[k], "no " .. k) end))
end

local function check_messages(err, want, where)
  for _, s in ipairs(want) do T.contains(err, s, where) end
end

-- rows the scripts leave: a run "bad-script" with the candidate written
-- before the error (or no such run when nothing ran)
local function bad_script_run(after)
  for _, r in ipairs(after.runs) do if r.name == "bad-script" then return r end end
end

local function kept_candidate(db)
  local rows = one(db, "SELECT c.key, c.score FROM candidates c JOIN runs r ON r.id = c.run_id WHERE r.name = 'bad-script'")
  return #rows == 1 and rows[1].key == "kept" and rows[1].score == 0.5
end

--- A process row: runs `cmd` (placeholders %{DB} %{SIM} %{REPLY} %{EX}
-- %{SCRIPTS} %{DATA} %{GENERIC} %{TMP} %{BIN}), checks status and stderr,
-- then the database.
local function process_row(row)
  T.test(row.name, function()
    local db = copy_db(row.from)
    local before = row.from and snapshot(db) or base
    local ctx = { DB = q(db), SIM = SIM, REPLY = REPLY, EX = q(EX), SCRIPTS = q(SCRIPTS), DATA = q(DATA),
                  GENERIC = q(GENERIC), TMP = q(dir), BIN = q(T.bin), ROOT = q(T.root) }
    local cmd = expand(row.cmd, ctx)
    if not cmd:find(q(T.bin), 1, true) then cmd = q(T.bin) .. " " .. cmd end
    local rc, out, err = T.sh(cmd)
    T.eq(rc, row.rc, "exit status of `" .. cmd .. "`; stderr: " .. err)
    check_messages(err, row.err, "stderr of `" .. cmd .. "`")
    if row.clean then
      -- a usage error is one short message, no traceback
      T.ok(not err:find("traceback", 1, true), "no traceback for a usage error: " .. err)
    end
    local after = assert_intact(db, before, row.skip_run)
    if row.same_runs then T.eq(after.count.runs, before.count.runs, "no run was added or left behind") end
    if row.check then row.check(after, db, before, out, err) end
  end)
end

---------------------------------------------------------------------------
-- scripts

local function nothing_ran(after) T.eq(bad_script_run(after), nil, "the script did not run") end
local function kept(after, db)
  local r = bad_script_run(after)
  T.ok(r, "the script's run is there")
  T.ok(kept_candidate(db), "the candidate recorded before the error was kept")
end

local rows = {
  { name = "script: a syntax error names file:line", cmd = "%{SCRIPTS}/syntax.lua %{DB}", rc = 1,
    err = { "syntax.lua:6: unexpected symbol near '='" }, check = nothing_ran },
  { name = "script: an error inside an opro.spawn task names file:line and the task", cmd = "%{SCRIPTS}/spawn_error.lua %{DB}",
    rc = 1, err = { "spawn_error.lua:9: attempt to index a nil value (local 'item')", "[in task " }, check = kept },
  { name = "script: an error inside opro.map's function names file:line", cmd = "%{SCRIPTS}/map_error.lua %{DB}", rc = 1,
    err = { "map_error.lua:9: item '3 + 3?' has no target", "[in task " }, check = kept },
  { name = "script: opro.map with a non-function", cmd = "%{SCRIPTS}/map_not_function.lua %{DB}", rc = 1,
    err = { "map_not_function.lua:6: bad argument #2 to 'map' (function expected, got string)" }, check = kept },
  { name = "script: opro.llm{temperature=\"hot\"}", cmd = "%{SCRIPTS}/llm_bad_type.lua %{DB}", rc = 1,
    err = { "llm_bad_type.lua:6: opro.llm: option 'temperature' must be a number, got string" }, check = kept },
  { name = "script: opro.llm with an unknown option", cmd = "%{SCRIPTS}/llm_unknown_key.lua %{DB}", rc = 1,
    err = { "llm_unknown_key.lua:6: opro.llm: unknown option 'max_retry'" }, check = kept },
  { name = "script: opro.optimize{} without a task", cmd = "%{SCRIPTS}/optimize_missing.lua %{DB}", rc = 1,
    err = { "optimize_missing.lua:7: opro.optimize: task is required" }, check = kept },
  { name = "script: opro.optimize with a misspelt option fails before any call", cmd = "%{SCRIPTS}/optimize_typo.lua %{DB}",
    rc = 1, err = { "optimize_typo.lua:11: opro.optimize: unknown option 'candiates_per_step' (did you mean 'candidates_per_step'?)" },
    check = function(after, db)
      kept(after, db)
      local r = bad_script_run(after)
      T.eq(one(db, "SELECT count(*) AS n FROM steps WHERE run_id = " .. r.id)[1].n, 0, "no step recorded")
      T.eq(r.status, "running", "the loop never started (it would mark the run interrupted)")
    end },
  { name = "script: opro.optimize{steps=\"3\"}", cmd = "%{SCRIPTS}/optimize_bad_type.lua %{DB}", rc = 1,
    err = { "optimize_bad_type.lua:9: opro.optimize: steps must be an integer, got the string \"3\"" }, check = kept },
  { name = "script: a script file that does not exist", cmd = "%{TMP}/no_such_script.lua %{DB}", rc = 1,
    err = { "cannot open " .. dir .. "/no_such_script.lua" }, check = nothing_ran },
  { name = "script: a runtime error in a script read from stdin names stdin:line",
    cmd = "printf 'local st = assert(opro.store.open(arg[1]))\\nlocal run = st:run{ name = \"bad-script\" }\\n"
      .. "run:record_candidate{ rep = 1, step = 0, key = \"kept\", score = 0.5 }\\nlocal n = nil + 1\\n' | %{BIN} - %{DB}",
    rc = 1, err = { "stdin:4: attempt to perform arithmetic on a nil value" }, check = kept },
  { name = "script: a syntax error in a script read from stdin names stdin:line",
    cmd = "printf 'print(1)\\n\\nlocal = 3\\n' | %{BIN} - %{DB}", rc = 1, err = { "stdin:3: <name> expected near '='" },
    check = nothing_ran },
}

---------------------------------------------------------------------------
-- datasets: the examples' --data-dir, and the generic loaders

-- a directory where a dataset file is expected
os.execute(string.format("mkdir -p %s/dirdata/gsm_data/gsm_train.tsv", q(dir)))

local GSM = "%{EX}/gsm8k.lua --quiet --base-url %{SIM} --model sim-1 --db %{DB} --data-dir "
local BBH = "%{EX}/bbh.lua --quiet --base-url %{SIM} --model sim-1 --db %{DB} --task navigate --data-dir "
local EVAL = "%{EX}/evaluate.lua --quiet --base-url %{SIM} --model sim-1 --db %{DB} --instruction Think. --dataset "
local function same(after) T.eq(after.count.runs, base.count.runs, "no run was started") end
local function generic(kind, file, input, target)
  return string.format("%%{SCRIPTS}/load_generic.lua %%{DB} %s %%{GENERIC}/%s %s %s", kind, file, input, target)
end

for _, r in ipairs {
  { name = "dataset: GSM8K TSV with a wrong number of columns on line 3", cmd = GSM .. "%{DATA}/gsm_columns",
    err = { "opro.dataset: " .. DATA .. "/gsm_columns/gsm_data/gsm_train.tsv:3: expected 2 or 3 tab-separated columns (question, answer[, solution]), got 4" } },
  { name = "dataset: GSM8K TSV with a non-numeric answer on line 2", cmd = GSM .. "%{DATA}/gsm_answer",
    err = { "opro.dataset: " .. DATA .. "/gsm_answer/gsm_data/gsm_train.tsv:2: column 2 (answer) is not a number: \"twenty-four\"" } },
  { name = "dataset: GSM8K test split with a bad line 2 (read after the train split)", cmd = GSM .. "%{DATA}/gsm_testsplit",
    err = { "gsm8k.lua: opro.dataset: " .. DATA .. "/gsm_testsplit/gsm_data/gsm_test.tsv:2: expected 2 or 3 tab-separated columns" },
    check = function(_, _, _, _, err) T.ok(not err:find("traceback", 1, true), err) end },
  { name = "dataset: an empty GSM8K file", cmd = GSM .. "%{DATA}/gsm_empty",
    err = { "opro.dataset: " .. DATA .. "/gsm_empty/gsm_data/gsm_train.tsv: no items (empty dataset)" } },
  { name = "dataset: a missing dataset folder names the paths tried", cmd = GSM .. "%{TMP}/nowhere",
    err = { "file gsm_train.tsv not found under " .. dir .. "/nowhere (tried " .. dir .. "/nowhere/gsm_data/gsm_train.tsv",
            "scripts/fetch-datasets" } },
  { name = "dataset: a directory where the GSM8K file is expected", cmd = GSM .. "%{TMP}/dirdata",
    err = { "opro.dataset: cannot read " .. dir .. "/dirdata/gsm_data/gsm_train.tsv: Is a directory" } },
  { name = "dataset: BBH JSON that is not JSON names line 5", cmd = BBH .. "%{DATA}/bbh_notjson",
    err = { "opro.dataset: " .. DATA .. "/bbh_notjson/BIG-Bench-Hard-data/navigate.json:5: bad JSON: Expected comma or object end" } },
  { name = "dataset: BBH JSON without \"examples\"", cmd = BBH .. "%{DATA}/bbh_noexamples",
    err = { "opro.dataset: " .. DATA .. "/bbh_noexamples/BIG-Bench-Hard-data/navigate.json: field 'examples' (a list) is missing" } },
  { name = "dataset: a BBH example without \"target\"", cmd = BBH .. "%{DATA}/bbh_notarget",
    err = { "opro.dataset: " .. DATA .. "/bbh_notarget/BIG-Bench-Hard-data/navigate.json: examples[3]: field 'target' is missing" } },
  { name = "dataset: MMLU CSV with an unterminated quote on line 2", cmd = EVAL .. "mmlu:abstract_algebra --data-dir %{DATA}/mmlu_quote",
    err = { "evaluate.lua: opro.dataset: " .. DATA .. "/mmlu_quote/MMLU-data/test/abstract_algebra_test.csv:2: unterminated quoted field" } },
  { name = "dataset: MMLU CSV with 5 columns on line 2", cmd = EVAL .. "mmlu:abstract_algebra --data-dir %{DATA}/mmlu_columns",
    err = { "opro.dataset: " .. DATA .. "/mmlu_columns/MMLU-data/test/abstract_algebra_test.csv:2: expected 6 columns (question, 4 options, answer letter), got 5" } },
  { name = "dataset: MultiArith JSON of the wrong shape (an object)", cmd = EVAL .. "multiarith --data-dir %{DATA}/multiarith_shape",
    err = { "opro.dataset: " .. DATA .. "/multiarith_shape/MultiArith-data/MultiArith.json: expected a JSON list of {sQuestion, lSolutions}, got an object" } },
  { name = "dataset: a MultiArith item whose lSolutions is not a number", cmd = EVAL .. "multiarith --data-dir %{DATA}/multiarith_item",
    err = { "opro.dataset: " .. DATA .. "/multiarith_item/MultiArith-data/MultiArith.json: item 2: field 'lSolutions' must be a list starting with a number" } },
  { name = "dataset: AQuA JSONL with a bad line 3", cmd = EVAL .. "aqua --data-dir %{DATA}/aqua_line",
    err = { "opro.dataset: " .. DATA .. "/aqua_line/AQuA-data/AQuA.json:3: bad JSON: Expected comma or object end" } },
  { name = "dataset: generic JSONL whose line 3 lacks the mapped field", cmd = generic("jsonl", "missing_field.jsonl", "question", "answer"),
    err = { "opro.dataset.jsonl: " .. GENERIC .. "/missing_field.jsonl:3: field 'answer' is missing" }, check = kept },
  { name = "dataset: generic JSONL with a line that is not JSON", cmd = generic("jsonl", "bad_line.jsonl", "question", "answer"),
    err = { "opro.dataset: " .. GENERIC .. "/bad_line.jsonl:2: bad JSON" }, check = kept },
  { name = "dataset: generic CSV without the mapped column", cmd = generic("csv", "missing_column.csv", "question", "target"),
    err = { "opro.dataset.csv: " .. GENERIC .. "/missing_column.csv:1: no column named 'target' for target (columns: question, answer)" }, check = kept },
  { name = "dataset: generic CSV with a wrong column count on line 3", cmd = generic("csv", "row_columns.csv", "question", "answer"),
    err = { "opro.dataset.csv: " .. GENERIC .. "/row_columns.csv:3: expected 2 columns (as the header), got 3" }, check = kept },
  { name = "dataset: generic CSV with an unterminated quote on line 3", cmd = generic("csv", "unterminated.csv", "question", "answer"),
    err = { "opro.dataset: " .. GENERIC .. "/unterminated.csv:3: unterminated quoted field (opened here)" }, check = kept },
  { name = "dataset: an empty JSONL file", cmd = generic("jsonl", "empty.jsonl", "question", "answer"),
    err = { "opro.dataset: " .. GENERIC .. "/empty.jsonl: no items (empty dataset)" }, check = kept },
  { name = "dataset: a CSV file with only its header", cmd = generic("csv", "header_only.csv", "question", "answer"),
    err = { "opro.dataset: " .. GENERIC .. "/header_only.csv: no items (empty dataset)" }, check = kept },
  { name = "dataset: a missing JSONL file", cmd = generic("jsonl", "no_such_file.jsonl", "question", "answer"),
    err = { "opro.dataset: cannot open " .. GENERIC .. "/no_such_file.jsonl: No such file or directory" }, check = kept },
  { name = "dataset: a directory given as the JSONL file", cmd = "%{SCRIPTS}/load_generic.lua %{DB} jsonl %{TMP} question answer",
    err = { "opro.dataset: cannot read " .. dir .. ": Is a directory" }, check = kept },
} do
  r.rc = 1
  r.check = r.check or same
  rows[#rows + 1] = r
end

---------------------------------------------------------------------------
-- configuration: the examples' flags (opro.cli, opro.runner)

local DEMO = "%{EX}/gsm8k.lua --demo --demo-items 3 --quiet --base-url %{SIM} --model sim-1 --db %{DB} "
T.write(dir .. "/notes.txt", "not a database\n")
for _, r in ipairs {
  { name = "config: an unknown option", cmd = DEMO .. "--candiates 4", err = { "gsm8k.lua: unknown option --candiates", "try --help" } },
  { name = "config: an option missing its value", cmd = DEMO .. "--steps", err = { "gsm8k.lua: --steps needs a value" } },
  { name = "config: --steps abc", cmd = DEMO .. "--steps abc", err = { "--steps expects an integer, got \"abc\"" } },
  { name = "config: --candidates -1", cmd = DEMO .. "--candidates -1", err = { "--candidates must be >= 1, got -1" } },
  { name = "config: --reps 0", cmd = DEMO .. "--reps 0", err = { "--reps must be >= 1, got 0" } },
  { name = "config: --timeout 0", cmd = DEMO .. "--timeout 0", err = { "--timeout must be > 0, got 0" } },
  { name = "config: --steps -2 with --estimate (no negative estimate)", cmd = DEMO .. "--steps -2 --estimate",
    err = { "--steps must be >= 0, got -2" } },
  { name = "config: a number flag given a word", cmd = DEMO .. "--train-ratio x", err = { "--train-ratio expects a number, got \"x\"" } },
  { name = "config: a boolean flag given a word", cmd = DEMO .. "--json=maybe", err = { "--json expects true or false, got \"maybe\"" } },
  { name = "config: a value outside the flag's choices", cmd = DEMO .. "--position middle",
    err = { "--position must be one of before_Q, Q_begin, Q_end, A_begin, got \"middle\"" } },
  { name = "config: an unknown provider", cmd = DEMO .. "--provider openia",
    err = { "opro.llm: unknown provider 'openia' (openai, anthropic, gemini" } },
  { name = "config: an unknown provider with --resume leaves the stored run alone", cmd = DEMO .. "--provider openia --resume",
    err = { "unknown provider 'openia'" } },
  { name = "config: a base URL that is not http(s)", cmd = DEMO .. "--base-url ftp://127.0.0.1/v1",
    err = { "opro.llm: base_url must start with http:// or https:// (got \"ftp://127.0.0.1/v1\")" } },
  { name = "config: a malformed --price", cmd = DEMO .. "--price 0.5", err = { "--price expects INPUT,OUTPUT (USD per million tokens, numbers >= 0), got \"0.5\"" } },
  { name = "config: --reject-similar outside [-1, 1]", cmd = DEMO .. "--reject-similar 2", err = { "--reject-similar must be a cosine in [-1, 1], got 2" } },
  { name = "config: --embed llm with a provider without embeddings", cmd = DEMO .. "--embed llm --reject-similar 0.9 --provider anthropic",
    err = { "--embed llm: provider 'anthropic' has no embeddings API" } },
  { name = "config: --resume without --db", cmd = "%{EX}/gsm8k.lua --demo --quiet --base-url %{SIM} --resume",
    err = { "--resume needs --db FILE" } },
} do
  r.rc, r.clean, r.same_runs = 2, true, true
  rows[#rows + 1] = r
end

rows[#rows + 1] = { name = "config: --db naming a file that is not a run database leaves it unchanged",
  cmd = "%{EX}/gsm8k.lua --demo --quiet --base-url %{SIM} --model sim-1 --db %{TMP}/notes.txt", rc = 1,
  err = { "cannot open the run database " .. dir .. "/notes.txt", "is not an opro-lua database" },
  check = function() T.eq(T.read(dir .. "/notes.txt"), "not a database\n", "the file is unchanged") end }

---------------------------------------------------------------------------
-- server replies inside opro.optimize: the optimizer's replies are bad (the
-- scorer, model "good", answers); the run records the failure and keeps
-- the candidate it scored at step 0

local OPT = "%{EX}/gsm8k.lua --demo --demo-items 3 --steps 2 --candidates 2 --evaluate-top 0 --quiet "
  .. "--base-url %{REPLY} --scorer-model good --db %{DB} --optimizer-model "

local function failed_run(msg, code)
  return function(after, db)
    local r = after.runs[#after.runs]
    T.eq(#after.runs, #base.runs + 1, "one new run")
    T.eq(r.status, "interrupted", "the failed run is marked interrupted")
    local summary = cjson.decode(r.summary)
    T.contains(summary.reason, "all 2 optimizer calls of rep 1 step 1 failed", "the stored reason")
    T.contains(summary.reason, msg, "the stored reason")
    local cands = one(db, "SELECT key, step, score FROM candidates WHERE run_id = " .. r.id)
    T.eq(#cands, 1, "the step-0 candidate is stored")
    T.eq({ cands[1].key, cands[1].step, type(cands[1].score) }, { "Let's solve the problem.", 0, "number" })
    local calls = one(db, "SELECT error, code FROM calls WHERE run_id = " .. r.id .. " AND error IS NOT NULL")
    T.eq(#calls, 2, "both failed optimizer calls are recorded")
    for _, c in ipairs(calls) do
      T.eq(c.code, code)
      T.contains(c.error, msg)
    end
  end
end

for _, r in ipairs {
  { mode = "nonjson", code = "bad_response",
    msg = "the response is not valid JSON (expected a value at byte 1, found '<'; 41 bytes: <html><body>502 Bad Gateway</body></html>)" },
  { mode = "nochoices", code = "bad_response", msg = "the response has no choices" },
  { mode = "nullcontent", code = "bad_response",
    msg = "choice 1 has no text (message.content is null; finish_reason content_filter)" },
  { mode = "odderror500", code = "http_500", msg = "HTTP 500: an error of unexpected shape: [\"upstream\",17]" },
  { mode = "truncated", code = "bad_response", msg = "the response is not valid JSON (unexpected end of input at byte " },
  { mode = "shortbody", code = "reset", msg = "http: Transferred a partial file: transfer closed with" },
} do
  rows[#rows + 1] = { name = "reply in opro.optimize: " .. r.mode, cmd = OPT .. r.mode, rc = 1,
    err = { "opro.optimize: all 2 optimizer calls of rep 1 step 1 failed; last: opro.llm openai " .. r.mode .. ": " .. r.msg,
            "(" .. r.code .. ")" },
    check = failed_run(r.msg, r.code) }
end

for _, row in ipairs(rows) do process_row(row) end

---------------------------------------------------------------------------
-- server replies to llm:chat: nil, message, code; the failed call is
-- recorded, nothing is cached, the stored rows are intact

local KEY = "sk-fixture-0123456789abcdef"
for _, r in ipairs {
  { mode = "nonjson", code = "bad_response", msg = "the response is not valid JSON (expected a value at byte 1, found '<'; 41 bytes: <html><body>502 Bad Gateway</body></html>)" },
  { mode = "jsonarray", code = "bad_response", msg = "the response has no choices" },
  { mode = "nochoices", code = "bad_response", msg = "the response has no choices" },
  { mode = "nullcontent", code = "bad_response", msg = "choice 1 has no text (message.content is null; finish_reason content_filter)" },
  { mode = "refusal", code = "bad_response",
    msg = "choice 1 has no text (message.content is null; refusal: I can't help with that.; finish_reason stop)" },
  { mode = "odderror", code = "bad_response", msg = "an error of unexpected shape: {" },
  { mode = "odderror500", code = "http_500", msg = "HTTP 500: an error of unexpected shape: [\"upstream\",17]" },
  { mode = "truncated", code = "bad_response", msg = "the response is not valid JSON (unexpected end of input at byte " },
  { mode = "shortbody", code = "reset", msg = "http: Transferred a partial file: transfer closed with" },
  { mode = "sse_nodone", code = "bad_response", msg = "the stream ended without [DONE]", stream = true },
  { mode = "sse_error", code = "stream_error", msg = "error event in the stream: overloaded mid-stream (server_error)", stream = true },
  { mode = "sse_badjson", code = "bad_response", msg = "a stream event is not valid JSON: {\"choices\": [", stream = true },
  { mode = "nonjson", provider = "anthropic", code = "bad_response", msg = "the response is not valid JSON (expected a value at byte 1" },
} do
  local provider = r.provider or "openai"
  T.test(string.format("reply to llm:chat (%s%s): %s", provider, r.stream and ", stream" or "", r.mode), function()
    local db = copy_db()
    local st = assert(opro.store.open(db))
    local run = st:run{ name = "replies" }
    local llm = opro.llm{ provider = provider, base_url = provider == "openai" and REPLY or REPLY_ROOT, model = r.mode,
                          api_key = KEY, max_retries = 0, temperature = 0, stream = r.stream,
                          cache = st:cache(), on_call = run:call_recorder() }
    local text, msg, code, info = llm:chat("What is 6 x 7?")
    T.eq(text, nil)
    T.eq(code, r.code)
    T.contains(msg, string.format("opro.llm %s %s: %s", provider, r.mode, r.msg))
    T.contains(msg, "(1 attempt)")
    T.ok(not msg:find(KEY, 1, true), "no key in the message")
    T.eq(type(info), "table")
    T.eq(info.cached, false)
    st:close()
    local after = assert_intact(db, base)
    T.eq(after.count.cache, base.count.cache, "a failed reply is never cached")
    local calls = one(db, "SELECT error, code, status FROM calls WHERE run_id = " .. after.runs[#after.runs].id)
    T.eq(#calls, 1, "the failed call is recorded")
    T.eq(calls[1].code, r.code)
    T.contains(calls[1].error, r.msg)
  end)
end

---------------------------------------------------------------------------
-- resume after a bad reply: the interrupted run resumes (still failing:
-- nothing lost; then with a good optimizer: done, the stored score reused)

T.test("a run interrupted by bad replies resumes without losing or re-scoring what it stored", function()
  local db = copy_db()
  local cmd = expand(OPT, { EX = q(EX), REPLY = REPLY, DB = q(db) })
  local rc, _, err = T.sh(q(T.bin) .. " " .. cmd .. "nonjson")
  T.eq(rc, 1, err)
  local first = assert_intact(db, base)
  local run = first.runs[#first.runs]
  T.eq(run.status, "interrupted")
  -- resumed against the same bad server: fails the same way, keeps everything
  rc, _, err = T.sh(q(T.bin) .. " " .. cmd .. "nonjson --resume")
  T.eq(rc, 1, err)
  T.contains(err, "all 2 optimizer calls of rep 1 step 1 failed")
  local second = assert_intact(db, first, run.id)
  T.eq(#second.runs, #first.runs, "--resume continued the interrupted run")
  T.eq(second.runs[#second.runs].status, "interrupted")
  -- resumed with a working optimizer: finishes, the step-0 score comes from the store
  local stats0 = reply_stats()
  rc, _, err = T.sh(q(T.bin) .. " " .. cmd .. "good --resume")
  T.eq(rc, 0, err)
  local third = assert_intact(db, second, run.id)
  T.eq(#third.runs, #first.runs)
  T.eq(third.runs[#third.runs].status, "done")
  local stats1 = reply_stats()
  local scored0 = one(db, "SELECT count(*) AS n FROM candidates WHERE step = 0 AND run_id = " .. run.id)[1].n
  T.eq(scored0, 1)
  -- the 3 scorer calls of step 0 were answered from the cache: the server saw
  -- only the optimizer's calls (2 per step) and the scorer's calls for new candidates
  local good_calls = (stats1.models.good or 0) - (stats0.models.good or 0)
  local new_cands = one(db, "SELECT count(*) AS n FROM candidates WHERE step > 0 AND score IS NOT NULL AND run_id = " .. run.id)[1].n
  T.eq(good_calls, 2 * 2 + 3 * new_cands, "requests to the fixture server on the good resume")
end)

S.shutdown_test()
T.done()
