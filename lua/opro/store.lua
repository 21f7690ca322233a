--- opro.store: the run database (SQLite, WAL). See docs/store.md.
--   local st = assert(opro.store.open("run.db"))
--   local run = st:run{ name=, config=, script=, seed=, resume= }
--   run:record_step{...} run:record_candidate{...} run:record_evaluation{...}
--   run:candidates{ rep=, order="score"|"step"|"recent", limit=, step= }
--   run:record_task{ rep=, kind=, better=, ... }   run:finish{ status=, summary= }
--   st:cache()   run:call_recorder()   st:close()
-- Every write is committed when it is made (autocommit, WAL): a process
-- killed at any moment loses nothing that a write call returned from.
-- Writes keyed by (run, rep, key) / (run, rep, step) are upserts, so the
-- writes of a resumed (replayed) run are no-ops.
local sqlite = require "opro.core.sqlite"
local json = require "opro.store.json"

local M = {}
M.json = json

--- The schema version this code writes; older files are migrated.
M.SCHEMA_VERSION = 2
--- PRAGMA application_id of an opro-lua database ("OPRO").
M.APPLICATION_ID = 0x4F50524F

--- migrations[v] takes a database at version v-1 to version v.
M.migrations = {
  -- 1: the first schema
  [[
  CREATE TABLE runs (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    config    TEXT,               -- JSON, secrets scrubbed
    script    TEXT,
    seed      INTEGER,
    versions  TEXT,               -- JSON: opro-lua, Lua, SQLite versions
    status    TEXT NOT NULL DEFAULT 'running',
    summary   TEXT,               -- JSON
    started   REAL NOT NULL,      -- unix seconds
    finished  REAL
  );
  CREATE INDEX runs_by_name ON runs(name, id);
  CREATE TABLE steps (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    rep         INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    meta_prompt TEXT,
    outputs     TEXT,             -- JSON list of the optimizer's raw texts
    created     REAL NOT NULL,
    PRIMARY KEY (run_id, rep, step)
  );
  CREATE TABLE candidates (
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    rep         INTEGER NOT NULL,
    key         TEXT NOT NULL,
    step        INTEGER NOT NULL,
    solution    TEXT,             -- JSON
    text        TEXT,
    score       REAL,
    parse_error TEXT,
    details     TEXT,             -- JSON
    created     REAL NOT NULL,
    PRIMARY KEY (run_id, rep, key)
  );
  CREATE INDEX candidates_by_score ON candidates(run_id, rep, score);
  CREATE INDEX candidates_by_step ON candidates(run_id, rep, step);
  CREATE TABLE evaluations (
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    rep        INTEGER NOT NULL,
    key        TEXT NOT NULL,
    split      TEXT NOT NULL,
    idx        INTEGER NOT NULL,
    input      TEXT,
    target     TEXT,
    response   TEXT,
    prediction TEXT,
    correct    REAL,
    created    REAL NOT NULL,
    PRIMARY KEY (run_id, rep, key, split, idx)
  );
  CREATE TABLE calls (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER REFERENCES runs(id),
    hash          TEXT,           -- the request hash (the cache key)
    provider      TEXT,
    model         TEXT,
    request       TEXT,           -- JSON, secrets scrubbed
    response      TEXT,
    status        INTEGER,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    latency       REAL,
    attempts      INTEGER,
    cost          REAL,
    cached        INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    code          TEXT,
    created       REAL NOT NULL
  );
  CREATE INDEX calls_by_run ON calls(run_id, id);
  CREATE INDEX calls_by_hash ON calls(hash);
  CREATE TABLE cache (
    key      TEXT PRIMARY KEY,
    response TEXT NOT NULL,
    created  REAL NOT NULL
  );
  ]],
  -- 2: candidate embeddings (float32 BLOBs) and per-step metrics
  [[
  ALTER TABLE candidates ADD COLUMN embedding BLOB;
  CREATE TABLE step_metrics (
    run_id  INTEGER NOT NULL REFERENCES runs(id),
    rep     INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    metrics TEXT NOT NULL,        -- JSON
    created REAL NOT NULL,
    PRIMARY KEY (run_id, rep, step)
  );
  ]],
}

-- secrets ------------------------------------------------------------------

local secret_names = {
  key = true, api_key = true, apikey = true, ["api-key"] = true, ["x-api-key"] = true,
  ["x-goog-api-key"] = true, authorization = true, ["proxy-authorization"] = true,
  token = true, access_token = true, refresh_token = true, secret = true,
  client_secret = true, password = true, passwd = true,
}
local function secret_name(name)
  name = name:lower()
  return secret_names[name] or name:find("api[_%-]?key$") ~= nil or name:find("secret$") ~= nil
      or name:find("password$") ~= nil
end

local REDACTED = "[redacted]"

-- key-looking tokens anywhere in a text
local function scrub_tokens(s)
  s = s:gsub("(Bearer%s+)[%w%._~%+/%-=]+", "%1" .. REDACTED)
  s = s:gsub("(Basic%s+)[%w%+/=]+", "%1" .. REDACTED)
  s = s:gsub("sk%-[%w_%-]+", function(tok) if #tok >= 20 then return REDACTED end end)
  s = s:gsub("AIza[%w_%-]+", function(tok) if #tok >= 30 then return REDACTED end end)
  s = s:gsub("([?&][%w_%-]*[kK][eE][yY]=)[^&#\"'%s]+", "%1" .. REDACTED)
  return s
end

-- the position of the quote closing a JSON string whose text starts at i
-- (#s + 1 when it is not closed)
local function string_end(s, i)
  while true do
    local p = s:find('[\\"]', i)
    if not p then return #s + 1 end
    if s:byte(p) == 34 then return p end
    i = p + 2
  end
end

--- Removes anything that looks like a credential from a text: the values
-- of JSON members named like a key ("api_key", "Authorization", ...),
-- bearer tokens, "sk-..."/"AIza..." keys and ?key= URL parameters.
function M.scrub(s)
  if s == nil then return nil end
  s = tostring(s)
  -- JSON string members whose name is secret: "name" : "value"
  local out, i, n = {}, 1, #s
  while i <= n do
    local a = s:find('"', i, true)
    if not a then break end
    -- find the end of this string literal
    local j = string_end(s, a + 1)
    local name = s:sub(a + 1, j - 1)
    local colon = s:match("^%s*:%s*()", j + 1)
    if colon and secret_name(name) and s:sub(colon, colon) == '"' then
      local k = string_end(s, colon + 1)
      out[#out + 1] = s:sub(i, colon)
      out[#out + 1] = REDACTED .. '"'
      i = k + 1
    else
      out[#out + 1] = s:sub(i, j)
      i = j + 1
    end
  end
  out[#out + 1] = s:sub(i)
  return scrub_tokens(table.concat(out))
end

-- a deep copy with secret-named fields removed (config tables)
local function scrub_table(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return "<cycle>" end
  seen[v] = true
  local t = {}
  for k, x in pairs(v) do
    if type(k) == "string" and secret_name(k) and x ~= nil then
      t[k] = REDACTED
    elseif type(x) == "string" then
      t[k] = scrub_tokens(x)
    else
      t[k] = scrub_table(x, seen)
    end
  end
  seen[v] = nil
  return t
end

-- argument checking --------------------------------------------------------

local function argerr(fn, field, want, got)
  error(string.format("%s: field '%s' must be %s (got %s)", fn, field, want,
    got == nil and "nil" or type(got) .. (type(got) ~= "table" and (" " .. tostring(got)) or "")), 3)
end
local function want_table(fn, t)
  if type(t) ~= "table" then
    error(string.format("%s: a table of fields expected (got %s)", fn, type(t)), 3)
  end
end
local function int_field(fn, t, field, default, optional)
  local v = t[field]
  if v == nil then
    if default ~= nil or optional then return default end
    argerr(fn, field, "an integer", v)
  end
  if math.type(v) == "float" and math.tointeger(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" then argerr(fn, field, "an integer", v) end
  return v
end
local function str_field(fn, t, field, optional)
  local v = t[field]
  if v == nil and optional then return nil end
  if type(v) ~= "string" then argerr(fn, field, "a string", v) end
  return v
end
local function num_field(fn, t, field)
  local v = t[field]
  if v == nil then return nil end
  if type(v) == "boolean" then return v and 1 or 0 end
  if type(v) ~= "number" then argerr(fn, field, "a number", v) end
  if v ~= v then return nil end
  return v
end

-- wall-clock unix seconds with millisecond precision, computed by SQLite
local NOW = "((julianday('now') - 2440587.5) * 86400.0)"

-- the database -------------------------------------------------------------

local Store = {}
Store.__index = Store
local Run = {}
Run.__index = Run

local function fail(db, msg, ...)
  if db then db:close() end
  return nil, msg, ...
end

-- runs one statement (cached) with the values; returns the statement's
-- first row or true; raises on SQLite errors (a store that cannot write
-- must stop the run, not go on silently)
function Store:_stmt(sql)
  if not self.db then error("store: attempt to use a closed store", 3) end
  local s = self.stmts[sql]
  if not s then
    local err
    s, err = self.db:prepare((sql:gsub("@NOW", NOW)))
    if not s then error("store: " .. err, 3) end
    self.stmts[sql] = s
  end
  return s
end

function Store:_exec(sql, ...)
  local s = self:_stmt(sql)
  s:clear_bindings()
  s:bind_values(...)
  local row, err = s:step()
  if err then
    s:reset()
    error(string.format("store (%s): %s", self.path, err), 3)
  end
  s:reset()
  return row or true
end

function Store:_rows(sql, ...)
  local s = self:_stmt(sql)
  s:clear_bindings()
  s:bind_values(...)
  local list = {}
  while true do
    local row, err = s:step()
    if err then
      s:reset()
      error(string.format("store (%s): %s", self.path, err), 3)
    end
    if not row then break end
    list[#list + 1] = row
  end
  s:reset()
  return list
end

local function pragma(db, name)
  local s, err = db:prepare("PRAGMA " .. name)
  if not s then return nil, err end
  local row
  row, err = s:step()
  s:finalize()
  if err then return nil, err end
  return row and row[name]
end

local function versions()
  local cjson_ok, cjson = pcall(require, "cjson")
  return { opro_lua = rawget(_G, "_OPRO_VERSION") or (rawget(_G, "opro") and opro.version),
           lua = _VERSION, sqlite = sqlite.version,
           cjson = cjson_ok and cjson._VERSION or nil }
end

--- Opens (creating when absent) a run database. opts.durability: "normal"
-- (default: safe against the process being killed) or "full" (also
-- against power loss; an fsync per write). Returns the store, or nil,
-- message, code ("sqlite" for SQLite failures, "not_opro" for a file that
-- is not an opro-lua database, "newer_schema" for one written by a newer
-- opro-lua); in the failure cases the file is left unchanged.
function M.open(path, opts)
  if type(path) ~= "string" or path == "" then
    error("opro.store.open: a path (string) expected, got " .. type(path), 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("opro.store.open: options must be a table", 2) end
  local durability = opts.durability or "normal"
  if durability ~= "normal" and durability ~= "full" then
    error("opro.store.open: durability must be \"normal\" or \"full\"", 2)
  end
  local db, err = sqlite.open(path, opts.readonly and "r" or "rwc")
  if not db then return nil, err, "sqlite" end
  db:busy_timeout(10000)
  -- look before changing anything
  local appid, e1 = pragma(db, "application_id")
  if not appid then
    return fail(db, string.format("%s is not an opro-lua database (%s)", path, e1), "not_opro")
  end
  local version = pragma(db, "user_version")
  local s = assert(db:prepare("SELECT count(*) AS n FROM sqlite_schema"))
  local tables = s:step().n
  s:finalize()
  if appid ~= M.APPLICATION_ID and not (appid == 0 and tables == 0) then
    return fail(db, string.format("%s is not an opro-lua database (application_id %d, %d schema objects)",
      path, appid, tables), "not_opro")
  end
  if version > M.SCHEMA_VERSION then
    return fail(db, string.format("%s was written by a newer opro-lua (schema version %d; this opro-lua reads up to %d)",
      path, version, M.SCHEMA_VERSION), "newer_schema")
  end
  if opts.readonly then
    if version < M.SCHEMA_VERSION then
      return fail(db, string.format("%s has schema version %d; open it read-write once to migrate it to %d",
        path, version, M.SCHEMA_VERSION), "old_schema")
    end
  else
    local ok, e
    ok, e = db:exec("PRAGMA journal_mode=WAL")
    if not ok then return fail(db, e, "sqlite") end
    ok, e = db:exec("PRAGMA synchronous=" .. (durability == "full" and "FULL" or "NORMAL"))
    if not ok then return fail(db, e, "sqlite") end
    db:exec("PRAGMA foreign_keys=ON")
    -- migrations, each in one transaction with its version bump
    for v = version + 1, M.SCHEMA_VERSION do
      local res, merr = db:transaction(function()
        local okm, em = db:exec(M.migrations[v])
        if not okm then error(em, 0) end
        assert(db:exec(string.format("PRAGMA user_version=%d", v)))
        assert(db:exec(string.format("PRAGMA application_id=%d", M.APPLICATION_ID)))
        return true
      end)
      if not res then return fail(db, string.format("%s: migration to schema %d failed: %s", path, v, merr), "sqlite") end
    end
  end
  return setmetatable({ db = db, path = path, stmts = {}, migrated_from = version }, Store)
end

--- Closes the database (safe to call twice).
function Store:close()
  if self.db then
    for _, s in pairs(self.stmts) do s:finalize() end
    self.stmts = {}
    self.db:close()
    self.db = nil
  end
  return true
end
Store.__close = Store.close
Store.__gc = Store.close

function Store:__tostring()
  return string.format("opro.store (%s)", self.db and self.path or "closed")
end

local function new_run(st, row)
  local r = setmetatable({ store = st, id = row.id, name = row.name, seed = row.seed,
    status = row.status, started = row.started, finished = row.finished,
    script = row.script }, Run)
  r.config = row.config and json.decode(row.config) or nil
  r.summary_data = row.summary and json.decode(row.summary) or nil
  return r
end

--- Starts a run, or with resume=true continues the last unfinished run of
-- that name (status other than "done": running, interrupted, failed, ...;
-- run.resumed tells which). Fields: name (default "run"),
-- config (table or JSON text; secrets are scrubbed), script (text),
-- seed (integer).
function Store:run(t)
  want_table("store:run", t)
  if not self.db then error("store: attempt to use a closed store", 2) end
  local name = t.name == nil and "run" or str_field("store:run", t, "name")
  local seed = int_field("store:run", t, "seed", nil, true)
  local script = str_field("store:run", t, "script", true)
  local config = t.config
  if config ~= nil and type(config) ~= "table" and type(config) ~= "string" then
    argerr("store:run", "config", "a table or JSON text", config)
  end
  if type(config) == "string" then
    local v, e = json.decode(config)
    if e then error("store:run: field 'config' is not JSON: " .. e, 2) end
    config = v
  end
  if t.resume then
    local rows = self:_rows("SELECT * FROM runs WHERE name = ? AND status <> 'done' ORDER BY id DESC LIMIT 1", name)
    if rows[1] then
      self:_exec("UPDATE runs SET status = 'running', finished = NULL WHERE id = ?", rows[1].id)
      local r = new_run(self, rows[1])
      r.status, r.resumed = "running", true
      return r
    end
  end
  self:_exec("INSERT INTO runs (name, config, script, seed, versions, status, started) VALUES (?, ?, ?, ?, ?, 'running', @NOW)",
    name, config ~= nil and json.encode(scrub_table(config)) or nil, script, seed, json.encode(versions()))
  local id = self.db:last_insert_rowid()
  local r = self:get(id)
  r.resumed = false
  return r
end

--- The run with that id, or nil, message, "not_found".
function Store:get(id)
  if math.type(id) ~= "integer" then
    error("store:get: a run id (integer) expected, got " .. type(id), 2)
  end
  local rows = self:_rows("SELECT * FROM runs WHERE id = ?", id)
  if not rows[1] then return nil, string.format("%s has no run %d", self.path, id), "not_found" end
  return new_run(self, rows[1])
end

--- The latest run (optionally of a name), or nil, message, "not_found".
function Store:last(name)
  local rows = name and self:_rows("SELECT * FROM runs WHERE name = ? ORDER BY id DESC LIMIT 1", name)
                     or self:_rows("SELECT * FROM runs ORDER BY id DESC LIMIT 1")
  if not rows[1] then return nil, self.path .. " holds no run" .. (name and (" named " .. name) or ""), "not_found" end
  return new_run(self, rows[1])
end

--- Every run, oldest first: {id=, name=, status=, seed=, started=,
-- finished=, candidates=, calls=, best=} (best: the highest score, or
-- the lowest when the run's config says task.better = "lower").
function Store:runs()
  local list = self:_rows([[
    SELECT r.id, r.name, r.status, r.seed, r.started, r.finished, r.config,
      (SELECT count(*) FROM candidates c WHERE c.run_id = r.id) AS candidates,
      (SELECT count(*) FROM calls k WHERE k.run_id = r.id) AS calls,
      (SELECT max(score) FROM candidates c WHERE c.run_id = r.id) AS max_score,
      (SELECT min(score) FROM candidates c WHERE c.run_id = r.id) AS min_score
    FROM runs r ORDER BY r.id]])
  for _, r in ipairs(list) do
    local config = r.config and json.decode(r.config)
    local task = type(config) == "table" and config.task
    r.best = type(task) == "table" and task.better == "lower" and r.min_score or r.max_score
    r.config, r.max_score, r.min_score = nil, nil, nil
  end
  return list
end

-- the response cache (opro.llm's cache interface) ---------------------------

local Cache = {}
Cache.__index = Cache

function Cache:get(key)
  if type(key) ~= "string" then error("cache:get: key (string) expected, got " .. type(key), 2) end
  local rows = self.store:_rows("SELECT response FROM cache WHERE key = ?", key)
  return rows[1] and rows[1].response or nil
end

function Cache:put(key, response)
  if type(key) ~= "string" then error("cache:put: key (string) expected, got " .. type(key), 2) end
  if type(response) ~= "string" then error("cache:put: response (string) expected, got " .. type(response), 2) end
  self.store:_exec("INSERT INTO cache (key, response, created) VALUES (?, ?, @NOW) ON CONFLICT(key) DO NOTHING",
    key, response)
  return true
end

--- Runs fn() in one transaction of the store's database: opro.llm writes a
-- paid response and its call record through it, so both or neither last.
function Cache:atomically(fn)
  local st = self.store
  if not st.db then error("store: attempt to use a closed store", 2) end
  local ok, err = st.db:transaction(function() fn() return true end)
  if not ok then error(string.format("store (%s): %s", st.path, err), 2) end
end

--- The SQLite response cache, shared by every run of the file.
function Store:cache()
  if not self.db then error("store: attempt to use a closed store", 2) end
  return setmetatable({ store = self }, Cache)
end

-- runs ----------------------------------------------------------------------

function Run:__tostring()
  return string.format("opro.store run %d (%s)", self.id, self.name)
end

--- Records a step: {rep=1, step=, meta_prompt=, outputs={texts}}.
function Run:record_step(t)
  want_table("run:record_step", t)
  local rep = int_field("run:record_step", t, "rep", 1)
  local step = int_field("run:record_step", t, "step")
  local mp = str_field("run:record_step", t, "meta_prompt", true)
  if t.outputs ~= nil and type(t.outputs) ~= "table" then argerr("run:record_step", "outputs", "a list of strings", t.outputs) end
  self.store:_exec([[INSERT INTO steps (run_id, rep, step, meta_prompt, outputs, created) VALUES (?, ?, ?, ?, ?, @NOW)
    ON CONFLICT(run_id, rep, step) DO UPDATE SET
      meta_prompt = coalesce(steps.meta_prompt, excluded.meta_prompt),
      outputs = coalesce(steps.outputs, excluded.outputs)]],
    self.id, rep, step, mp, t.outputs and json.encode(t.outputs) or nil)
  return true
end

local function embedding_blob(fn, v)
  if v == nil then return nil end
  if type(v) == "string" then return sqlite.blob(v) end
  if type(v) ~= "table" then argerr(fn, "embedding", "a list of numbers or a float32 string", v) end
  local parts = {}
  for i = 1, #v do
    if type(v[i]) ~= "number" then argerr(fn, "embedding[" .. i .. "]", "a number", v[i]) end
    parts[i] = string.pack("<f", v[i])
  end
  return sqlite.blob(table.concat(parts))
end
M.embedding_blob = embedding_blob

--- Records a candidate: {rep=1, step=, key=, solution=, text=, score=,
-- parse_error=, details=, embedding=}. Upsert on (rep, key): a key already
-- recorded keeps its step and values; fields it lacked (score, ...) are
-- filled in.
function Run:record_candidate(t)
  local fn = "run:record_candidate"
  want_table(fn, t)
  local rep = int_field(fn, t, "rep", 1)
  local step = int_field(fn, t, "step")
  local key = str_field(fn, t, "key")
  local text = str_field(fn, t, "text", true)
  local score = num_field(fn, t, "score")
  local perr = t.parse_error
  if perr ~= nil and type(perr) ~= "string" then perr = tostring(perr) end
  local solution = t.solution ~= nil and json.encode(t.solution) or nil
  if text == nil and type(t.solution) == "string" then text = t.solution end
  self.store:_exec([[INSERT INTO candidates (run_id, rep, key, step, solution, text, score, parse_error, details, embedding, created)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, @NOW)
    ON CONFLICT(run_id, rep, key) DO UPDATE SET
      solution = coalesce(candidates.solution, excluded.solution),
      text = coalesce(candidates.text, excluded.text),
      score = coalesce(candidates.score, excluded.score),
      parse_error = coalesce(candidates.parse_error, excluded.parse_error),
      details = coalesce(candidates.details, excluded.details),
      embedding = coalesce(candidates.embedding, excluded.embedding)]],
    self.id, rep, key, step, solution, text, score, perr,
    t.details ~= nil and json.encode(t.details) or nil, embedding_blob(fn, t.embedding))
  return true
end

--- Sets a candidate's embedding (list of numbers or float32 string).
function Run:record_embedding(t)
  local fn = "run:record_embedding"
  want_table(fn, t)
  local rep = int_field(fn, t, "rep", 1)
  local key = str_field(fn, t, "key")
  local blob = embedding_blob(fn, t.embedding)
  self.store:_exec("UPDATE candidates SET embedding = ? WHERE run_id = ? AND rep = ? AND key = ?", blob, self.id, rep, key)
  if self.store.db:changes() == 0 then
    error(string.format("%s: run %d has no candidate %q in rep %d", fn, self.id, key, rep), 2)
  end
  return true
end

--- A candidate's embedding as a list of numbers, or nil.
function Run:embedding(rep, key)
  local rows = self.store:_rows("SELECT embedding FROM candidates WHERE run_id = ? AND rep = ? AND key = ?", self.id, rep, key)
  local b = rows[1] and rows[1].embedding
  if not b then return nil end
  local v = {}
  for i = 1, #b // 4 do v[i] = string.unpack("<f", b, 4 * i - 3) end
  return v
end

--- Records one per-item evaluation: {rep=1, key=, split=, index=, input=,
-- target=, response=, prediction=, correct=} (correct: boolean or number).
function Run:record_evaluation(t)
  local fn = "run:record_evaluation"
  want_table(fn, t)
  local rep = int_field(fn, t, "rep", 1)
  local key = str_field(fn, t, "key")
  local split = str_field(fn, t, "split")
  local index = int_field(fn, t, "index")
  local function text(field)
    local v = t[field]
    if v == nil or type(v) == "string" then return v end
    if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
    return json.encode(v)
  end
  self.store:_exec([[INSERT INTO evaluations (run_id, rep, key, split, idx, input, target, response, prediction, correct, created)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, @NOW) ON CONFLICT(run_id, rep, key, split, idx) DO NOTHING]],
    self.id, rep, key, split, index, text("input"), text("target"), text("response"), text("prediction"),
    num_field(fn, t, "correct"))
  return true
end

--- Records metrics of a step (diversity, ...): {rep=1, step=, metrics={...}}.
function Run:record_metrics(t)
  local fn = "run:record_metrics"
  want_table(fn, t)
  local rep = int_field(fn, t, "rep", 1)
  local step = int_field(fn, t, "step")
  if type(t.metrics) ~= "table" then argerr(fn, "metrics", "a table", t.metrics) end
  self.store:_exec([[INSERT INTO step_metrics (run_id, rep, step, metrics, created) VALUES (?, ?, ?, ?, @NOW)
    ON CONFLICT(run_id, rep, step) DO UPDATE SET metrics = excluded.metrics]],
    self.id, rep, step, json.encode(t.metrics))
  return true
end

local function better_of(run, opts)
  local b = opts.better
  if b == nil then
    local task = type(run.config) == "table" and run.config.task
    b = type(task) == "table" and task.better or "higher"
  end
  if b ~= "higher" and b ~= "lower" then
    error("run:candidates: better must be \"higher\" or \"lower\"", 3)
  end
  return b
end

local function entry(row)
  local e = { key = row.key, step = row.step, rep = row.rep, score = row.score, text = row.text,
              parse_error = row.parse_error }
  if row.solution then e.solution = json.decode(row.solution) end
  if row.details then e.details = json.decode(row.details) end
  return e
end

--- History entries {solution=, score=, step=, key=, rep=, text=,
-- parse_error=, details=} selected and ordered in SQL. opts: rep (default:
-- every rep), order = "step" (default: oldest first), "score" (best
-- first; better= "higher"|"lower", default the config's task.better or
-- "higher") or "recent" (newest first); limit; step (only that step);
-- unscored=true includes candidates without a score.
function Run:candidates(opts)
  opts = opts or {}
  want_table("run:candidates", opts)
  local where, args = { "run_id = ?" }, { self.id }
  local rep = int_field("run:candidates", opts, "rep", nil, true)
  if rep then where[#where + 1] = "rep = ?"; args[#args + 1] = rep end
  local step = int_field("run:candidates", opts, "step", nil, true)
  if step then where[#where + 1] = "step = ?"; args[#args + 1] = step end
  if not opts.unscored then where[#where + 1] = "score IS NOT NULL" end
  local order = opts.order or "step"
  local by
  if order == "step" then by = "step, created, rowid"
  elseif order == "recent" then by = "step DESC, created DESC, rowid DESC"
  elseif order == "score" then
    by = (better_of(self, opts) == "higher" and "score DESC" or "score ASC") .. " NULLS LAST, step, rowid"
  else
    error("run:candidates: order must be \"step\", \"score\" or \"recent\" (got " .. tostring(order) .. ")", 2)
  end
  local limit = int_field("run:candidates", opts, "limit", -1)
  args[#args + 1] = limit
  local rows = self.store:_rows("SELECT * FROM candidates WHERE " .. table.concat(where, " AND ")
    .. " ORDER BY " .. by .. " LIMIT ?", table.unpack(args, 1, #args))
  for i, row in ipairs(rows) do rows[i] = entry(row) end
  return rows
end

--- The best candidate (an entry as above) or nil.
function Run:best(opts)
  opts = opts or {}
  return self:candidates{ rep = opts.rep, order = "score", limit = 1, better = opts.better }[1]
end

--- Recorded steps: {rep=, step=, meta_prompt=, outputs={...}}, in order.
function Run:steps(opts)
  opts = opts or {}
  local rep = int_field("run:steps", opts, "rep", nil, true)
  local rows = rep and self.store:_rows("SELECT * FROM steps WHERE run_id = ? AND rep = ? ORDER BY rep, step", self.id, rep)
                    or self.store:_rows("SELECT * FROM steps WHERE run_id = ? ORDER BY rep, step", self.id)
  for _, r in ipairs(rows) do r.outputs = r.outputs and json.decode(r.outputs) or nil; r.run_id = nil end
  return rows
end

--- Per-step metrics: {rep=, step=, metrics={...}}, in order.
function Run:metrics()
  local rows = self.store:_rows("SELECT rep, step, metrics FROM step_metrics WHERE run_id = ? ORDER BY rep, step", self.id)
  for _, r in ipairs(rows) do r.metrics = json.decode(r.metrics) end
  return rows
end

--- Per-item evaluations, filtered by rep, key and split when given.
function Run:evaluations(opts)
  opts = opts or {}
  local where, args = { "run_id = ?" }, { self.id }
  local rep = int_field("run:evaluations", opts, "rep", nil, true)
  if rep then where[#where + 1] = "rep = ?"; args[#args + 1] = rep end
  if opts.key ~= nil then where[#where + 1] = "key = ?"; args[#args + 1] = str_field("run:evaluations", opts, "key") end
  if opts.split ~= nil then where[#where + 1] = "split = ?"; args[#args + 1] = str_field("run:evaluations", opts, "split") end
  local rows = self.store:_rows("SELECT rep, key, split, idx AS \"index\", input, target, response, prediction, correct FROM evaluations WHERE "
    .. table.concat(where, " AND ") .. " ORDER BY rep, key, split, idx", table.unpack(args))
  return rows
end

--- Accuracy per (rep, key, split): {rep=, key=, split=, n=, accuracy=}.
function Run:accuracy(opts)
  opts = opts or {}
  local split = str_field("run:accuracy", opts, "split", true)
  local rows = split and self.store:_rows([[SELECT rep, key, split, count(*) AS n, avg(correct) AS accuracy
      FROM evaluations WHERE run_id = ? AND split = ? GROUP BY rep, key, split ORDER BY accuracy DESC]], self.id, split)
    or self.store:_rows([[SELECT rep, key, split, count(*) AS n, avg(correct) AS accuracy
      FROM evaluations WHERE run_id = ? GROUP BY rep, key, split ORDER BY split, accuracy DESC]], self.id)
  return rows
end

--- Returns a function for opro.llm's on_call: it records every finished
-- call of this run (secrets scrubbed from request, response and error).
function Run:call_recorder()
  local st, id = self.store, self.id
  return function(r)
    if type(r) ~= "table" then error("call recorder: a call record (table) expected, got " .. type(r), 2) end
    local u = type(r.usage) == "table" and r.usage or {}
    local request = r.request
    if type(request) == "table" then request = json.encode(request) end
    local status = r.status
    if type(status) ~= "number" then status = tonumber(status) end
    st:_exec([[INSERT INTO calls (run_id, hash, provider, model, request, response, status, input_tokens, output_tokens,
        latency, attempts, cost, cached, error, code, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, @NOW)]],
      id, r.key ~= nil and tostring(r.key) or nil, r.provider, r.model, M.scrub(request), M.scrub(r.response),
      status and math.tointeger(status) or status,
      math.tointeger(u.input_tokens) or u.input_tokens, math.tointeger(u.output_tokens) or u.output_tokens,
      tonumber(r.latency), math.tointeger(r.attempts) or tonumber(r.attempts), tonumber(r.cost),
      r.cached and 1 or 0, r.error ~= nil and M.scrub(tostring(r.error)) or nil, r.code ~= nil and tostring(r.code) or nil)
  end
end

--- The recorded calls of this run, oldest first.
function Run:calls()
  local rows = self.store:_rows("SELECT * FROM calls WHERE run_id = ? ORDER BY id", self.id)
  for _, r in ipairs(rows) do r.cached = r.cached == 1 end
  return rows
end

--- Totals of the run: {candidates=, scored=, steps=, reps=, best=(entry),
-- calls=, cached=, failed=, retries=, input_tokens=, output_tokens=,
-- cost=, latency_mean=, status=, started=, finished=, duration=}.
function Run:summary()
  local st = self.store
  local c = st:_rows([[SELECT count(*) AS candidates, count(score) AS scored, count(DISTINCT rep) AS reps
    FROM candidates WHERE run_id = ?]], self.id)[1]
  local s = st:_rows("SELECT count(*) AS steps FROM steps WHERE run_id = ?", self.id)[1]
  local k = st:_rows([[SELECT count(*) AS calls, coalesce(sum(cached), 0) AS cached,
      coalesce(sum(CASE WHEN error IS NOT NULL OR code IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed,
      coalesce(sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) AS retries,
      coalesce(sum(CASE WHEN cached = 0 THEN input_tokens END), 0) AS input_tokens,
      coalesce(sum(CASE WHEN cached = 0 THEN output_tokens END), 0) AS output_tokens,
      coalesce(sum(CASE WHEN cached = 0 THEN cost END), 0.0) AS cost,
      avg(CASE WHEN cached = 0 THEN latency END) AS latency_mean
    FROM calls WHERE run_id = ?]], self.id)[1]
  local r = st:_rows("SELECT status, started, finished FROM runs WHERE id = ?", self.id)[1]
  local out = { candidates = c.candidates, scored = c.scored, reps = c.reps, steps = s.steps,
    calls = k.calls, cached = k.cached, failed = k.failed, retries = k.retries,
    input_tokens = k.input_tokens, output_tokens = k.output_tokens, cost = k.cost,
    latency_mean = k.latency_mean, status = r.status, started = r.started, finished = r.finished,
    best = self:best() }
  if r.finished then out.duration = r.finished - r.started end
  return out
end

--- Records what the task of a rep is in the run's config, under
-- config.task.reps["<rep>"]: {rep=, kind=, better=, ...} (e.g. TSP coords,
-- linear regression w_true and b_true); rep 1's fields (and any field no
-- earlier rep set) also go to config.task itself, where the report and
-- st:runs() read kind and better. Recording the same again is a no-op.
function Run:record_task(t)
  want_table("run:record_task", t)
  local rep = int_field("run:record_task", t, "rep", 1)
  local row = self.store:_rows("SELECT config FROM runs WHERE id = ?", self.id)[1]
  local config = row and row.config and json.decode(row.config) or nil
  if type(config) ~= "table" then config = {} end
  local task = type(config.task) == "table" and config.task or {}
  local desc = {}
  for k, v in pairs(t) do if k ~= "rep" then desc[k] = v end end
  task.reps = type(task.reps) == "table" and task.reps or {}
  task.reps[tostring(rep)] = desc
  for k, v in pairs(desc) do
    if rep == 1 or task[k] == nil then task[k] = v end
  end
  config.task = task
  self.store:_exec("UPDATE runs SET config = ? WHERE id = ?", json.encode(scrub_table(config)), self.id)
  self.config = config
  return true
end

--- Marks the run finished: {status="done" (default) | "failed" |
-- "interrupted" | ..., summary=(table)}.
function Run:finish(t)
  t = t or {}
  want_table("run:finish", t)
  local status = t.status == nil and "done" or str_field("run:finish", t, "status")
  self.store:_exec("UPDATE runs SET status = ?, summary = ?, finished = @NOW WHERE id = ?",
    status, t.summary ~= nil and json.encode(scrub_table(t.summary)) or nil, self.id)
  self.status = status
  return true
end

return M
