-- opro.store: schema, migrations, upserts, history queries, secrets,
-- durability under SIGKILL.
local T = require "testlib"
local store = require "opro.store"
local sqlite = require "opro.core.sqlite"

local dir = T.tmpdir()
local n = 0
local function path()
  n = n + 1
  return string.format("%s/s%d.db", dir, n)
end

local function open(p)
  local st = assert(store.open(p or path()))
  T.cleanup(function() st:close() end)
  return st
end

local function pragma(p, name)
  local db = assert(sqlite.open(p, "r"))
  local s = assert(db:prepare("PRAGMA " .. name))
  local v = s:step()[name]
  db:close()
  return v
end

T.test("a new database: WAL, schema version, application id, every table", function()
  local p = path()
  local st = open(p)
  T.eq(st.migrated_from, 0)
  local db = assert(sqlite.open(p, "r"))
  local q = assert(db:prepare("PRAGMA journal_mode"))
  T.eq(q:step().journal_mode, "wal")
  q:finalize()
  local names = {}
  for row in assert(db:prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")):rows() do
    names[#names + 1] = row.name
  end
  db:close()
  T.eq(names, { "cache", "calls", "candidates", "evaluations", "runs", "step_metrics", "steps" })
  T.eq(pragma(p, "user_version"), store.SCHEMA_VERSION)
  T.eq(pragma(p, "application_id"), store.APPLICATION_ID)
end)

T.test("migrates a schema-1 database and keeps its rows", function()
  local p = path()
  local db = assert(sqlite.open(p))
  assert(db:exec(store.migrations[1]))
  assert(db:exec("PRAGMA user_version=1; PRAGMA application_id=" .. store.APPLICATION_ID))
  assert(db:exec([[INSERT INTO runs (id, name, status, started) VALUES (1, 'old', 'done', 0);
    INSERT INTO candidates (run_id, rep, key, step, solution, text, score, created)
      VALUES (1, 1, 'k', 0, '"Let''s think"', 'Let''s think', 0.25, 0)]]))
  db:close()
  local st = open(p)
  T.eq(st.migrated_from, 1)
  T.eq(pragma(p, "user_version"), store.SCHEMA_VERSION)
  local run = assert(st:get(1))
  T.eq(run.name, "old")
  local h = run:candidates()
  T.eq(#h, 1)
  T.eq(h[1].solution, "Let's think")
  T.eq(h[1].score, 0.25)
  -- what schema 2 added works on the migrated file
  run:record_embedding{ key = "k", embedding = { 0.5, -1, 2 } }
  T.eq(run:embedding(1, "k"), { 0.5, -1.0, 2.0 })
  run:record_metrics{ step = 0, metrics = { diversity = 0.5 } }
  T.eq(run:metrics()[1].metrics.diversity, 0.5)
end)

local function bytes(p) return T.read(p) end

T.test("a file that is not an opro database is refused and left unchanged", function()
  local p = T.write(dir .. "/notes.txt", string.rep("not a database\n", 100))
  local st, msg, code = store.open(p)
  T.eq(st, nil)
  T.eq(code, "not_opro")
  T.contains(msg, p)
  T.contains(msg, "not an opro-lua database")
  T.eq(bytes(p), string.rep("not a database\n", 100))
  -- another application's SQLite file
  local other = dir .. "/other.db"
  local db = assert(sqlite.open(other))
  assert(db:exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('cat')"))
  db:close()
  local before = bytes(other)
  st, msg, code = store.open(other)
  T.eq(st, nil)
  T.eq(code, "not_opro")
  T.contains(msg, "not an opro-lua database")
  T.eq(bytes(other) == before, true, "file unchanged")
  T.eq(io.open(other .. "-wal"), nil, "no WAL file created")
  T.eq(pragma(other, "journal_mode"), "delete")
end)

T.test("a database of a newer schema is refused and left unchanged", function()
  local p = path()
  open(p):close()
  local db = assert(sqlite.open(p))
  assert(db:exec("PRAGMA user_version=" .. (store.SCHEMA_VERSION + 7)))
  db:close()
  local before = bytes(p)
  local st, msg, code = store.open(p)
  T.eq(st, nil)
  T.eq(code, "newer_schema")
  T.contains(msg, "newer opro-lua")
  T.contains(msg, tostring(store.SCHEMA_VERSION + 7))
  T.eq(bytes(p) == before, true, "file unchanged")
end)

T.test("runs: config, script, seed, versions; resume picks the last unfinished run", function()
  local st = open()
  local r1 = st:run{ name = "gsm", config = { task = { kind = "instruction" }, steps = 3, fn = print },
                     script = "print(1)", seed = 7 }
  T.eq(r1.resumed, false)
  T.eq(r1.seed, 7)
  T.eq(r1.config.steps, 3)
  T.eq(r1.config.task.kind, "instruction")
  T.eq(r1.config.fn, "<function>", "values JSON cannot hold are named")
  local r2 = st:run{ name = "gsm", resume = true }
  T.eq(r2.resumed, true)
  T.eq(r2.id, r1.id)
  T.eq(r2.script, "print(1)")
  r2:finish{ status = "done", summary = { best = 0.5 } }
  local r3 = st:run{ name = "gsm", resume = true }
  T.eq(r3.resumed, false, "a finished run is not resumed")
  T.ne(r3.id, r1.id)
  r3:finish{ status = "failed" }
  local r4 = st:run{ name = "gsm", resume = true }
  T.eq(r4.resumed, true, "a failed run is resumed")
  T.eq(r4.id, r3.id)
  T.eq(r4.status, "running")
  local runs = st:runs()
  T.eq(#runs, 2)
  T.eq(runs[1].status, "done")
  T.eq(runs[2].status, "running")
  T.ok(runs[1].finished >= runs[1].started)
  T.ok(math.abs(runs[1].started - os.time()) < 600, "started is unix time")
  local db = assert(sqlite.open(st.path, "r"))
  local v = assert(db:prepare("SELECT versions FROM runs WHERE id = 1")):step().versions
  db:close()
  T.contains(v, '"sqlite":"' .. sqlite.version .. '"')
  T.contains(v, '"lua":"Lua 5.4"')
end)

T.test("record_task: each rep's task in config.task (rep 1's fields on top); runs() and best() follow it", function()
  local st = open()
  local run = st:run{ name = "tsp", config = { steps = 3 } }
  run:record_candidate{ step = 0, key = "a", solution = { 0, 1, 2 }, score = 30 }
  run:record_candidate{ step = 0, key = "b", solution = { 0, 2, 1 }, score = 20 }
  T.eq(run:best().key, "a", "without a direction: higher is better")
  run:record_task{ rep = 2, kind = "tsp", better = "lower", coords = { { 5, 5 }, { 6, 6 }, { 7, 5 } } }
  run:record_task{ rep = 1, kind = "tsp", better = "lower", coords = { { 0, 0 }, { 1, 1 }, { 2, 0 } } }
  run:record_task{ rep = 1, kind = "tsp", better = "lower", coords = { { 0, 0 }, { 1, 1 }, { 2, 0 } } }   -- again: same
  T.eq(run:best().key, "b", "the recorded direction: lower is better")
  local again = assert(st:get(run.id))
  T.eq(again.config.steps, 3, "the rest of the config is kept")
  T.eq(again.config.task.better, "lower")
  T.eq(again.config.task.coords, { { 0, 0 }, { 1, 1 }, { 2, 0 } }, "rep 1's instance on top")
  T.eq(again.config.task.reps["2"].coords, { { 5, 5 }, { 6, 6 }, { 7, 5 } })
  T.eq(again.config.task.reps["1"].kind, "tsp")
  T.eq(st:runs()[1].best, 20)
  T.raises(function() run:record_task{ rep = "x" } end, "rep")
end)

T.test("candidates are upserts on (rep, key): replayed writes are no-ops", function()
  local st = open()
  local run = st:run{ name = "u" }
  run:record_candidate{ rep = 1, step = 0, key = "a", solution = "first", score = 0.5, details = { n = 10 } }
  run:record_candidate{ rep = 1, step = 3, key = "a", solution = "changed", score = 0.9 }
  run:record_candidate{ rep = 2, step = 1, key = "a", solution = "other rep", score = 0.1 }
  run:record_candidate{ rep = 1, step = 2, key = "late", solution = "late" }
  run:record_candidate{ rep = 1, step = 2, key = "late", solution = "late", score = 0.7 }
  local h = run:candidates{ rep = 1 }
  T.eq(#h, 2)
  T.eq(h[1].key, "a")
  T.eq(h[1].step, 0, "the first step is kept")
  T.eq(h[1].solution, "first")
  T.eq(h[1].score, 0.5)
  T.eq(h[1].details, { n = 10 })
  T.eq(h[2].score, 0.7, "a missing score is filled in")
  T.eq(#run:candidates(), 3, "both reps")
  run:record_step{ step = 1, meta_prompt = "mp", outputs = { "x" } }
  run:record_step{ step = 1, meta_prompt = "other", outputs = { "y" } }
  local steps = run:steps()
  T.eq(#steps, 1)
  T.eq(steps[1].meta_prompt, "mp")
  T.eq(steps[1].outputs, { "x" })
  for _ = 1, 2 do
    run:record_evaluation{ key = "a", split = "test", index = 1, input = "q", target = 3, response = "r", prediction = "3", correct = true }
  end
  local ev = run:evaluations{ split = "test" }
  T.eq(#ev, 1)
  T.eq(ev[1].target, "3")
  T.eq(ev[1].correct, 1.0)
end)

T.test("solutions keep their shape: strings, {w=, b=} floats, integer tours", function()
  local st = open()
  local run = st:run{ name = "shapes" }
  run:record_candidate{ step = 0, key = "s", solution = "Take a deep breath.\n\"quoted\" <b>", score = 1 }
  run:record_candidate{ step = 0, key = "wb", solution = { w = 3.0, b = -1.5 }, score = 2 }
  run:record_candidate{ step = 0, key = "tour", solution = { 0, 3, 1, 2 }, score = 3 }
  local by = {}
  for _, e in ipairs(run:candidates()) do by[e.key] = e.solution end
  T.eq(by.s, "Take a deep breath.\n\"quoted\" <b>")
  T.eq(math.type(by.wb.w), "float")
  T.eq(by.wb, { w = 3.0, b = -1.5 })
  T.eq(by.tour, { 0, 3, 1, 2 })
  T.eq(math.type(by.tour[1]), "integer")
end)

T.test("history queries in SQL: top-k by score, lower-is-better, recent, by step", function()
  local st = open()
  local run = st:run{ name = "q" }
  local scores = { [0] = { 0.1, 0.3 }, [1] = { 0.2, 0.9 }, [2] = { 0.5, 0.4 } }
  for step = 0, 2 do
    for i, s in ipairs(scores[step]) do
      run:record_candidate{ step = step, key = step .. "." .. i, solution = "s" .. step .. "." .. i, score = s }
    end
  end
  run:record_candidate{ step = 2, key = "bad", parse_error = "no brackets" }
  local function keys(list) local t = {} for i, e in ipairs(list) do t[i] = e.key end return t end
  T.eq(keys(run:candidates{ order = "score", limit = 3 }), { "1.2", "2.1", "2.2" })
  T.eq(keys(run:candidates{ order = "score", limit = 2, better = "lower" }), { "0.1", "1.1" })
  T.eq(keys(run:candidates{ order = "recent", limit = 3 }), { "2.2", "2.1", "1.2" })
  T.eq(keys(run:candidates{ step = 1 }), { "1.1", "1.2" })
  T.eq(keys(run:candidates()), { "0.1", "0.2", "1.1", "1.2", "2.1", "2.2" })
  T.eq(#run:candidates{ unscored = true }, 7)
  T.eq(run:best().key, "1.2")
  -- the direction comes from the run's config when not given
  local low = st:run{ name = "tsp", config = { task = { kind = "tsp", better = "lower" } } }
  low:record_candidate{ step = 0, key = "x", solution = { 0, 1 }, score = 10 }
  low:record_candidate{ step = 0, key = "y", solution = { 1, 0 }, score = 5 }
  T.eq(low:best().key, "y")
end)

T.test("cache: get/put, first response kept, shared across runs and reopen", function()
  local p = path()
  local st = open(p)
  local c = st:cache()
  T.eq(c:get("k1"), nil)
  c:put("k1", "response one")
  c:put("k1", "response changed")
  T.eq(c:get("k1"), "response one")
  st:close()
  local st2 = open(p)
  T.eq(st2:cache():get("k1"), "response one")
  T.raises(function() c:get(1) end, "key (string) expected")
  T.raises(function() st2:cache():put("k", nil) end, "response (string) expected")
end)

T.test("calls: recorded with usage, cost, latency; secrets never reach the file", function()
  local p = path()
  local st = open(p)
  local key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
  local gkey = "AIzaSyA1234567890abcdefghijklmnopqrstuv"
  local run = st:run{ name = "calls", config = { optimizer = { provider = "openai", api_key = key, model = "gpt" } } }
  local rec = run:call_recorder()
  rec{ key = "h1", provider = "openai", model = "gpt", status = 200,
       request = '{"model":"gpt","messages":[{"role":"user","content":"hi \\"there\\""}],"api_key":"' .. key .. '"}',
       response = '{"choices":[]}', usage = { input_tokens = 12, output_tokens = 30 }, latency = 0.25,
       attempts = 3, cost = 0.002, cached = false }
  rec{ key = "h1", provider = "openai", model = "gpt", status = 200, request = '{"model":"gpt"}', response = "{}",
       usage = { input_tokens = 12, output_tokens = 30 }, latency = 0, attempts = 1, cost = 0.002, cached = true }
  rec{ key = "h2", provider = "gemini", model = "g", request = { url = "https://x/v1?key=" .. gkey,
       headers = { Authorization = "Bearer " .. key, ["x-goog-api-key"] = gkey } },
       error = "http: 401 for https://x/v1?key=" .. gkey, code = "http_401", attempts = 1, latency = 0.1 }
  local calls = run:calls()
  T.eq(#calls, 3)
  T.eq(calls[1].hash, "h1")
  T.eq(calls[1].input_tokens, 12)
  T.eq(calls[1].attempts, 3)
  T.eq(calls[2].cached, true)
  T.eq(calls[3].code, "http_401")
  T.contains(calls[1].request, '"content":"hi \\"there\\""', "the rest of the request is kept")
  local s = run:summary()
  T.eq(s.calls, 3)
  T.eq(s.cached, 1)
  T.eq(s.failed, 1)
  T.eq(s.retries, 2)
  T.eq(s.input_tokens, 12, "cache hits cost no tokens")
  T.near(s.cost, 0.002, 1e-12)
  run:finish{ summary = { note = "key was " .. key } }
  st:close()
  local all = T.read(p) .. (T.read(p .. "-wal") or "")
  T.ok(#all > 0)
  T.eq(all:find(key, 1, true), nil, "OpenAI key stored")
  T.eq(all:find(gkey, 1, true), nil, "Gemini key stored")
  T.contains(all, "[redacted]")
end)

T.test("store.scrub: JSON members, bearer tokens, key-shaped strings, URL keys", function()
  T.eq(store.scrub('{"api_key": "abc", "x": "y"}'), '{"api_key": "[redacted]", "x": "y"}')
  T.eq(store.scrub('{"Authorization":"Bearer a.b","max_tokens":5}'), '{"Authorization":"[redacted]","max_tokens":5}')
  T.eq(store.scrub("curl -H 'Authorization: Bearer tok123'"), "curl -H 'Authorization: Bearer [redacted]'")
  T.eq(store.scrub("GET /v1/models?key=AIzaXYZ&alt=json"), "GET /v1/models?key=[redacted]&alt=json")
  T.eq(store.scrub("short sk-1 stays"), "short sk-1 stays")
  T.eq(store.scrub('{"k":"\\"api_key\\": not json"}'), '{"k":"\\"api_key\\": not json"}')
end)

T.test("bad input raises clear errors; unknown runs are reported", function()
  local st = open()
  local run = st:run{ name = "bad" }
  T.raises(function() run:record_candidate{ key = "a" } end, "field 'step' must be an integer")
  T.raises(function() run:record_candidate{ step = 1 } end, "field 'key' must be a string")
  T.raises(function() run:record_candidate{ step = 1, key = "a", score = "high" } end, "field 'score' must be a number")
  T.raises(function() run:record_candidate("a") end, "a table of fields expected")
  T.raises(function() run:record_evaluation{ key = "a", split = "test" } end, "field 'index'")
  T.raises(function() run:candidates{ order = "best" } end, 'order must be "step", "score" or "recent"')
  T.raises(function() run:record_embedding{ key = "nope", embedding = { 1 } } end, 'no candidate "nope"')
  T.raises(function() st:run{ seed = 1.5 } end, "field 'seed' must be an integer")
  T.raises(function() st:run{ config = "{not json" } end, "field 'config' is not JSON")
  T.raises(function() store.open(42) end, "a path (string) expected")
  local r, msg, code = st:get(999)
  T.eq(r, nil)
  T.eq(code, "not_found")
  T.contains(msg, "no run 999")
  st:close()
  T.raises(function() run:record_candidate{ step = 1, key = "x" } end, "closed store")
end)

-- Durability: a child process writes rows and prints what it committed; it
-- is killed with SIGKILL at different points; the database must open and
-- hold every row the child reported.
local child = T.write(dir .. "/child.lua", [[
local path = ...
local st = assert(opro.store.open(path))
local run = st:run{ name = "kill", resume = true }
local rec = run:call_recorder()
local cache = st:cache()
io.stdout:setvbuf("no")
for i = 1, 1000000 do
  local key = run.id .. ":" .. i
  cache:put("c" .. key, string.rep("r", i % 50))
  rec{ key = "c" .. key, provider = "sim", model = "m", request = "{}", response = "r", usage = { input_tokens = i } }
  run:record_candidate{ step = i // 10, key = key, solution = "instruction " .. i, score = i / 7 }
  run:record_evaluation{ key = key, split = "train", index = i, correct = i % 2 }
  io.stdout:write(key, "\n")
end
]])

T.test("SIGKILL mid-write loses nothing that was reported committed", function()
  local p = path()
  for round, after in ipairs({ 1, 17, 150, 600, 2000 }) do
    local out = string.format("%s/child%d.out", dir, round)
    local pidfile = out .. ".pid"
    os.execute(string.format("%s %s %s >%s 2>&1 & echo $! > %s", T.shquote(T.bin), T.shquote(child),
      T.shquote(p), out, pidfile))
    local pid = T.read(pidfile):match("%d+")
    local lines = 0
    for _ = 1, 3000 do
      local text = T.read(out) or ""
      local _, c = text:gsub("\n", "")
      lines = c
      if lines >= after then break end
      opro.sleep(0.01)
    end
    T.ok(lines >= after, string.format("round %d: the child reported %d rows (%s)", round, lines, T.read(out)))
    os.execute("kill -9 " .. pid)
    for _ = 1, 500 do   -- gone, or a zombie nobody reaps
      local stat = T.read("/proc/" .. pid .. "/stat")
      if not stat or stat:match("^%d+ %b() (%a)") == "Z" then break end
      opro.sleep(0.01)
    end
    local reported = {}
    for key in (T.read(out) or ""):gmatch("([^\n]+)\n") do reported[#reported + 1] = key end
    local st = assert(store.open(p))
    local db = assert(sqlite.open(p, "r"))
    T.eq(assert(db:prepare("PRAGMA integrity_check")):step().integrity_check, "ok")
    db:close()
    local run = assert(st:last("kill"))
    local have = {}
    for _, e in ipairs(run:candidates{ unscored = true }) do have[e.key] = e end
    local cache = st:cache()
    local ev = {}
    for _, e in ipairs(run:evaluations()) do ev[e.key] = true end
    local calls = {}
    for _, c in ipairs(run:calls()) do calls[c.hash] = true end
    for _, key in ipairs(reported) do
      T.ok(have[key], "candidate " .. key .. " lost in round " .. round)
      T.ok(cache:get("c" .. key), "cache entry " .. key .. " lost")
      T.ok(ev[key], "evaluation " .. key .. " lost")
      T.ok(calls["c" .. key], "call " .. key .. " lost")
    end
    T.ok(#reported >= after)
    st:close()
  end
  -- every kill left an unfinished run that was resumed: one run in all
  local st = assert(store.open(p))
  T.eq(#st:runs(), 1)
  st:close()
end)

T.test("cache:atomically writes a response and its call record together, or neither", function()
  local st = open(path())
  local run = st:run{ name = "atomic" }
  local cache, rec = st:cache(), run:call_recorder()
  cache:atomically(function()
    rec{ key = "k1", provider = "openai", model = "m", request = "{}", response = "r1", status = 200 }
    cache:put("k1", '{"text":"one"}')
  end)
  T.eq(cache:get("k1"), '{"text":"one"}')
  T.eq(#run:calls(), 1)
  local err = T.raises(function()
    cache:atomically(function()
      rec{ key = "k2", provider = "openai", model = "m", request = "{}", response = "r2", status = 200 }
      cache:put("k2", '{"text":"two"}')
      error("killed half-way")
    end)
  end, "killed half-way")
  T.ok(err)
  T.eq(cache:get("k2"), nil, "the cache entry was rolled back")
  T.eq(#run:calls(), 1, "the call record was rolled back")
  st:close()
end)

T.done()
