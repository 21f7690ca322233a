-- bench/memory_bench.lua: peak memory of a 10,000-candidate history, held
-- in the loop's structures (opro.optimize's history, result, curve) and in
-- the run database (opro.store), and the time to build a meta-prompt from it.
-- Prints a Markdown section (see bench/run).
--
-- Each case runs in a fresh opro-lua process (this file with the case name
-- as argument) so that VmHWM (the peak resident set size, /proc/self/status)
-- belongs to that case alone:
--   baseline  the libraries loaded, nothing else
--   loop      opro.optimize: 1,250 steps x 8 candidates = 10,000 scored
--             instructions, no database
--   store     the same run recorded in an opro.store database (steps,
--             meta-prompts, raw outputs, candidates), then read back
-- The optimizer is an in-process stand-in (no HTTP: memory and CPU are the
-- host's own) proposing one new ~110-character instruction per call, as
-- opro-sim's optimizer persona does; the objective is an instant
-- deterministic score. Environment: OPRO_MEM_CANDIDATES (10000).
local CANDIDATES = tonumber(os.getenv("OPRO_MEM_CANDIDATES")) or 10000
local CPS = 8
local STEPS = CANDIDATES // CPS

local function status(field)
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local kb = s:match(field .. ":%s*(%d+) kB")
  return kb and tonumber(kb) * 1024 or nil
end

local function median_time(fn, reps)
  local ts = {}
  for r = 1, reps do
    local t0 = opro.now()
    fn()
    ts[r] = opro.now() - t0
  end
  table.sort(ts)
  return ts[(reps + 1) // 2]
end

local template = require "opro.template"
local parse = require "opro.parse"
local store_mod = require "opro.store"

local WORDS = { "carefully", "step", "by", "think", "check", "each", "calculation", "before", "answering",
  "the", "question", "read", "problem", "twice", "write", "down", "every", "intermediate", "result", "verify",
  "final", "answer", "units", "and", "numbers", "explain", "reasoning", "briefly", "then" }

-- A distinct instruction of about 110 characters for proposal number n
-- (no digits: the reference's GSM8K filter drops instructions with numbers).
local NATO = { "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
  "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango" }
local function instruction(n)
  local w, x = {}, n
  for i = 1, 11 do
    w[i] = WORDS[x % #WORDS + 1]
    x = x // 3 + n * 7 + i
  end
  local tag, m = {}, n
  repeat
    tag[#tag + 1] = NATO[m % #NATO + 1]
    m = m // #NATO
  until m == 0
  return "Let's " .. table.concat(w, " ") .. " (variant " .. table.concat(tag, " ") .. ")."
end

local function make_task()
  return {
    initial = { "Let's solve the problem." },
    key = function(_, s) return s end,
    score = function(_, s)
      local h = 0
      for i = 1, #s, 7 do h = (h * 31 + s:byte(i)) % 1000003 end
      return (h % 101) / 100
    end,
    template = function(history, o) return template.instruction(history, o) end,
    parse = function(text) return parse.instruction(text, { dataset = "gsm8k" }) end,
  }
end

local function run_loop(run)
  local n = 0
  local optimizer = {
    chat = function(_, prompt)
      n = n + 1
      return "Here is a new instruction:\n<INS>" .. instruction(n) .. "</INS>",
        { usage = { input_tokens = #prompt // 4, output_tokens = 30 } }
    end,
  }
  local t0 = opro.now()
  local result = opro.optimize{ task = make_task(), optimizer = optimizer, steps = STEPS, candidates_per_step = CPS,
                                seed = 1, quiet = true, run = run, stop_when_found = false }
  return result, opro.now() - t0
end

local function report(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do print(k .. "=" .. tostring(t[k])) end
end

local case = arg and arg[1]
if case == "baseline" then
  report{ hwm = status("VmHWM"), rss = status("VmRSS") }
  return
elseif case == "loop" then
  local result, wall = run_loop(nil)
  local hist = result.history
  local out = { hwm = status("VmHWM"), rss = status("VmRSS"), wall = wall, history = #hist,
                steps = result.reps[1].steps }
  out.prompt_s = median_time(function() template.instruction(hist, {}) end, 7)
  out.prompt_len = #template.instruction(hist, {})
  out.hwm_after_prompt = status("VmHWM")
  report(out)
  return
elseif case == "store" then
  local dir = os.getenv("OPRO_MEM_DIR") or "/tmp"
  local path = dir .. "/memory_bench.db"
  os.remove(path); os.remove(path .. "-wal"); os.remove(path .. "-shm")
  local st = assert(store_mod.open(path))
  local run = st:run{ name = "memory-bench", seed = 1 }
  local result, wall = run_loop(run)
  run:finish{ status = "done" }
  local out = { hwm_run = status("VmHWM"), wall = wall }
  result = nil
  collectgarbage(); collectgarbage()
  -- read the history back from the database
  -- (a full collection before each timed read: the peak is one copy's, not garbage's)
  local reads, prompts, all = {}, {}, nil
  for r = 1, 3 do
    all = nil
    collectgarbage(); collectgarbage()
    local t0 = opro.now()
    all = run:candidates{ rep = 1 }
    local t1 = opro.now()
    template.instruction(all, {})
    reads[r], prompts[r] = t1 - t0, opro.now() - t1
  end
  table.sort(reads); table.sort(prompts)
  out.read_s, out.prompt_all_s, out.read_rows = reads[2], prompts[2], #all
  -- the meta-prompt's 20 best, selected in SQL
  out.prompt_top_s = median_time(function()
    template.instruction(run:candidates{ rep = 1, order = "score", limit = 20 }, {})
  end, 7)
  out.hwm = status("VmHWM")
  out.rss = status("VmRSS")
  st:close()
  local size = 0
  for _, p in ipairs{ path, path .. "-wal" } do
    local f = io.open(p, "rb")
    if f then size = size + f:seek("end"); f:close() end
  end
  out.db_bytes = size
  os.remove(path); os.remove(path .. "-wal"); os.remove(path .. "-shm")
  report(out)
  return
elseif case then
  error("memory_bench.lua: unknown case " .. case)
end

-- the parent: one process per case
local root = os.getenv("OPRO_ROOT") or "."
local bin = os.getenv("OPRO_BIN") or (root .. "/bin/opro-lua")
local function run_case(name)
  local dir = io.popen("mktemp -d /tmp/opro-membench.XXXXXX"):read("l")
  local p = assert(io.popen(string.format("OPRO_MEM_DIR=%s %s %s/bench/memory_bench.lua %s", dir, bin, root, name)))
  local out = {}
  for line in p:lines() do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k then out[k] = tonumber(v) or v end
  end
  local ok = p:close()
  os.execute("rm -rf " .. dir)
  assert(ok and out.hwm, "memory_bench.lua: case " .. name .. " failed")
  return out
end

local REPS = 3
local function median_case(name)
  local runs = {}
  for r = 1, REPS do runs[r] = run_case(name) end
  local med = {}
  for k, v in pairs(runs[1]) do
    if type(v) == "number" then
      local xs = {}
      for r = 1, REPS do xs[r] = runs[r][k] end
      table.sort(xs)
      med[k] = xs[(REPS + 1) // 2]
    else
      med[k] = v
    end
  end
  return med
end

local base = median_case("baseline")
local loop = median_case("loop")
local store = median_case("store")
local MB = 1024 * 1024

print(string.format("## Memory: a %d-candidate history", CANDIDATES))
print()
print(string.format("A prompt-optimization run of %d steps x %d candidates = %d distinct instructions (about", STEPS, CPS, loop.history - 1))
print("110 characters each) plus the initial one, driven by opro.optimize with an in-process optimizer stand-in")
print("(no HTTP) and an instant objective. Peak RSS = VmHWM of /proc/self/status of a fresh opro-lua")
print(string.format("process per case; medians of %d processes.", REPS))
print()
print("| case | peak RSS | over the baseline | run time |")
print("|---|---:|---:|---:|")
print(string.format("| opro-lua with the libraries loaded (baseline) | %.1f MiB | - | - |", base.hwm / MB))
print(string.format("| history in the loop's structures (opro.optimize result, %d entries) | %.1f MiB | %.1f MiB | %.2f s |",
  loop.history, loop.hwm / MB, (loop.hwm - base.hwm) / MB, loop.wall))
print(string.format("| the same run recorded in opro.store (SQLite, WAL; every write committed) | %.1f MiB | %.1f MiB | %.2f s |",
  store.hwm_run / MB, (store.hwm_run - base.hwm) / MB, store.wall))
print(string.format("| ... then the whole history read back from the store as Lua tables | %.1f MiB | %.1f MiB | - |",
  store.hwm / MB, (store.hwm - base.hwm) / MB))
print()
print(string.format("Run database size after the run: %.1f MiB (steps with their meta-prompts and raw outputs, candidates).",
  store.db_bytes / MB))
print()
print("| meta-prompt from that history (reference format, 20 best shown) | median time |")
print("|---|---:|")
print(string.format("| opro.template.instruction over the loop's in-memory history (%d entries) | %.2f ms |",
  loop.history, loop.prompt_s * 1e3))
print(string.format("| the 20 best selected in SQL (run:candidates{order=\"score\", limit=20}) + template | %.2f ms |",
  store.prompt_top_s * 1e3))
print(string.format("| the whole history read from the store (run:candidates, %d rows) | %.2f ms |",
  store.read_rows, store.read_s * 1e3))
print(string.format("| ... and the template over those rows | %.2f ms |", store.prompt_all_s * 1e3))
print()
