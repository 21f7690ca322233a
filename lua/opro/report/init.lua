--- opro.report: export a run database (CSV, JSON Lines) and the HTML report.
--   local report = require "opro.report"
--   report.export(st, { format = "csv"|"jsonl", table = "history"|"evaluations"|"calls", run = id, out = file })
--   local html = report.html(st, { run = id })      -- a self-contained page
-- See docs/report.md.
local json = require "opro.store.json"

local M = {}

--- The exported tables and their columns, in order.
M.tables = {
  history = { "run_id", "rep", "step", "key", "score", "text", "parse_error", "solution", "details" },
  evaluations = { "run_id", "rep", "key", "split", "index", "input", "target", "response", "prediction", "correct" },
  calls = { "run_id", "id", "created", "hash", "provider", "model", "status", "input_tokens", "output_tokens",
            "latency", "attempts", "cost", "cached", "error", "code", "request", "response" },
}

local queries = {
  history = [[SELECT run_id, rep, step, key, score, text, parse_error, solution, details
              FROM candidates %s ORDER BY run_id, rep, step, created, rowid]],
  evaluations = [[SELECT run_id, rep, key, split, idx AS "index", input, target, response, prediction, correct
                  FROM evaluations %s ORDER BY run_id, rep, key, split, idx]],
  calls = [[SELECT run_id, id, created, hash, provider, model, status, input_tokens, output_tokens,
            latency, attempts, cost, cached, error, code, request, response FROM calls %s ORDER BY id]],
}

-- columns holding JSON text in the database (decoded in JSON Lines)
local json_columns = { solution = true, details = true }

--- The rows of one table (a list of tables keyed by column), of one run
-- (run id) or of every run (run nil).
function M.rows(st, tbl, run)
  local q = queries[tbl]
  if not q then
    error(string.format("report: unknown table %q (history, evaluations or calls)", tostring(tbl)), 2)
  end
  if run ~= nil and math.type(run) ~= "integer" then error("report: run must be an integer id", 2) end
  if run then return st:_rows(string.format(q, "WHERE run_id = ?"), run) end
  return st:_rows(string.format(q, ""))
end

local function number_text(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  for p = 1, 17 do
    local t = string.format("%." .. p .. "g", v)
    if tonumber(t) == v then return t end
  end
  return string.format("%.17g", v)
end
M.number_text = number_text

--- One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF.
function M.csv_field(v)
  if v == nil then return "" end
  if type(v) == "number" then return number_text(v) end
  v = tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end

--- Writes one table as CSV (RFC 4180: CRLF line ends, a header line) or
-- JSON Lines (one object per line, every column present, null for none)
-- to opts.out (a file; default io.stdout). Returns the number of rows.
function M.export(st, opts)
  opts = opts or {}
  local tbl = opts.table or "history"
  local format = opts.format or "csv"
  if format ~= "csv" and format ~= "jsonl" then
    error(string.format("report: format must be csv or jsonl (got %s)", tostring(format)), 2)
  end
  local out = opts.out or io.stdout
  local rows = M.rows(st, tbl, opts.run)
  local cols = M.tables[tbl]
  if format == "csv" then
    local line = {}
    for i, c in ipairs(cols) do line[i] = M.csv_field(c) end
    out:write(table.concat(line, ","), "\r\n")
    for _, r in ipairs(rows) do
      for i, c in ipairs(cols) do line[i] = M.csv_field(r[c]) end
      out:write(table.concat(line, ","), "\r\n")
    end
  else
    for _, r in ipairs(rows) do
      local parts = {}
      for i, c in ipairs(cols) do
        local v = r[c]
        local text
        if v == nil then text = "null"
        elseif json_columns[c] and type(v) == "string" and json.decode(v) ~= nil then text = v
        else text = json.encode(v) end
        parts[i] = json.quote(c) .. ":" .. text
      end
      out:write("{", table.concat(parts, ","), "}\n")
    end
  end
  return #rows
end

--- The HTML report of one run (default: the last) as a string.
function M.html(st, opts)
  opts = opts or {}
  local run, err, code
  if opts.run ~= nil then run, err, code = st:get(opts.run) else run, err, code = st:last() end
  if not run then return nil, err, code end
  local data = require("opro.report.data").collect(run)
  return require("opro.report.html").render(data)
end

return M
