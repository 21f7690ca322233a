-- `opro-lua report run.db [--run ID] --jsonl|--csv [--table history|evaluations|calls] [-o FILE]`
-- `opro-lua report run.db [--run ID] -o report.html`
-- `opro-lua report run.db --runs`
-- Exports a run database for pandas and spreadsheets, or writes the
-- self-contained HTML report of one run (default: the last).
local cli = require "opro.cli"

local spec = {
  name = "report run.db",
  summary = "Export a run database (CSV, JSON Lines) or write its HTML report:\n"
    .. "  opro-lua report run.db [--run ID] (--csv|--jsonl) [--table T] [-o FILE]\n"
    .. "  opro-lua report run.db [--run ID] -o report.html\n"
    .. "  opro-lua report run.db --runs",
  options = {
    { "run", "integer", "the run id (export: default every run; HTML: the last run)" },
    { "csv", "boolean", "export CSV (RFC 4180)" },
    { "jsonl", "boolean", "export JSON Lines" },
    { "table", "string", "the table to export", default = "history", choices = { "history", "evaluations", "calls" } },
    { "output", "string", "output file (also -o FILE); without --csv/--jsonl: the HTML report" },
    { "html", "boolean", "write the HTML report (the default without --csv/--jsonl)" },
    { "runs", "boolean", "list the runs of the database" },
  },
}

local function die(msg)
  io.stderr:write("opro-lua report: ", msg, "\n")
  return 2
end

return function(...)
  local argv = {}
  for i, a in ipairs({ ... }) do argv[i] = a == "-o" and "--output" or a end
  local opts = cli.parse(argv, spec)
  local path = opts._[1]
  if not path then return die("which database? usage: opro-lua report run.db ... (--help for more)") end
  if #opts._ > 1 then return die("unexpected argument " .. opts._[2]) end
  if not io.open(path, "rb") then return die(path .. ": no such file") end
  if opts.csv and opts.jsonl then return die("--csv and --jsonl exclude each other") end
  local store = require "opro.store"
  local st, err, code = store.open(path, { readonly = true })
  if not st and code == "old_schema" then st, err = store.open(path) end   -- migrate it first
  if not st then return die(err) end
  local report = require "opro.report"
  local status = 0
  local ok, e = pcall(function()
    if opts.runs then
      for _, r in ipairs(st:runs()) do
        io.stdout:write(string.format("%d\t%s\t%s\t%d candidates\t%d calls\tbest %s\n", r.id, r.name, r.status,
          r.candidates, r.calls, r.best and string.format("%.4g", r.best) or "-"))
      end
      return
    end
    if opts.run and not st:get(opts.run) then
      status = die(select(2, st:get(opts.run)))
      return
    end
    local html = opts.html or (not opts.csv and not opts.jsonl)
    if html then
      if not opts.output then status = die("the HTML report needs -o FILE.html (or choose --csv / --jsonl)") return end
      local page, herr = report.html(st, { run = opts.run })
      if not page then status = die(herr) return end
      local f, ferr = io.open(opts.output, "wb")
      if not f then status = die(ferr) return end
      f:write(page)
      f:close()
      io.stderr:write(string.format("opro-lua report: wrote %s (%d bytes)\n", opts.output, #page))
      return
    end
    local out = io.stdout
    if opts.output then
      local ferr
      out, ferr = io.open(opts.output, "wb")
      if not out then status = die(ferr) return end
    end
    report.export(st, { format = opts.csv and "csv" or "jsonl", table = opts.table, run = opts.run, out = out })
    if out ~= io.stdout then out:close() end
  end)
  st:close()
  if not ok then error(e, 0) end
  return status
end
