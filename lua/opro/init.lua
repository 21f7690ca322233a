--- opro: the OPRO runtime's standard library.
-- Tasks and concurrency are here; the rest (llm, regex, extract, store, vec,
-- optimize, ...) loads on first use: `opro.llm{...}` requires "opro.llm".
local core = require "opro.core.task"

local opro = { version = _OPRO_VERSION }

--- Starts fn(...) in a new task; returns the task.
opro.spawn = core.spawn
--- Pauses the calling task for `seconds` (other tasks run meanwhile).
opro.sleep = core.sleep
--- Monotonic clock, in seconds (float).
opro.now = core.now
--- The running task, or nil outside a task.
opro.current = core.current

local task_mt = debug.getregistry()["opro.task"]

local function is_task(x)
  return getmetatable(x) == task_mt
end
opro.is_task = is_task

-- Re-raises a failed task's error with its traceback appended (string
-- errors); other error values are re-raised unchanged.
local function raise_failure(t)
  local _, err, tb = t:result()
  if err == "cancelled" and t:status() == "cancelled" then
    error(string.format("task %d was cancelled", t:id()), 0)
  end
  if type(err) == "string" then
    error(string.format("%s\n[in task %d] %s", err, t:id(), tb or ""), 0)
  end
  error(err, 0)
end

local function cancel_all(list)
  for _, t in ipairs(list) do t:cancel() end
end

--- Waits for a task (returns its results) or a list of tasks (returns a
-- list of each task's first result, in list order). When one task fails,
-- the others of the list are cancelled and its error is raised here with
-- its traceback.
function opro.wait(x)
  if is_task(x) then
    while true do
      local st = x:status()
      if st == "done" then return select(2, x:result()) end
      if st == "failed" or st == "cancelled" then raise_failure(x) end
      core.await({ x })
    end
  end
  if type(x) ~= "table" then
    error("bad argument #1 to 'wait' (task or list of tasks expected, got " .. type(x) .. ")", 2)
  end
  for i, t in ipairs(x) do
    if not is_task(t) then
      error(string.format("bad argument #1 to 'wait' (item %d is a %s, not a task)", i, type(t)), 2)
    end
  end
  local pending = x
  while true do
    local still = {}
    for _, t in ipairs(pending) do
      local st = t:status()
      if st == "failed" or st == "cancelled" then
        cancel_all(x)
        raise_failure(t)
      elseif st ~= "done" then
        still[#still + 1] = t
      end
    end
    if #still == 0 then break end
    pending = still
    core.await(pending)
  end
  local results = {}
  for i, t in ipairs(x) do
    local _, v = t:result()
    results[i] = v
  end
  return results
end

--- Calls fn(item, index) for every item of list in concurrent tasks (at
-- most opts.concurrency at once; default: all) and returns the first
-- result of each call, in list order. If a call fails, the others are
-- cancelled and its error is raised with its traceback.
function opro.map(list, fn, opts)
  if type(list) ~= "table" then
    error("bad argument #1 to 'map' (table expected, got " .. type(list) .. ")", 2)
  end
  if type(fn) ~= "function" then
    error("bad argument #2 to 'map' (function expected, got " .. type(fn) .. ")", 2)
  end
  local n = #list
  local conc = opts and opts.concurrency or n
  if math.type(conc) ~= "integer" or conc < 1 then
    if n == 0 then return {} end
    error("opro.map: concurrency must be an integer >= 1", 2)
  end
  local results, nextidx = {}, 1
  local function worker()
    while nextidx <= n do
      local i = nextidx
      nextidx = i + 1
      results[i] = fn(list[i], i)
    end
  end
  local workers = {}
  for w = 1, math.min(conc, n) do workers[w] = core.spawn(worker) end
  opro.wait(workers)
  return results
end

-- Lazily loaded submodules: opro.llm, opro.regex, opro.store, ...
setmetatable(opro, {
  __index = function(t, k)
    if type(k) ~= "string" then return nil end
    local ok, mod = pcall(require, "opro." .. k)
    if not ok then
      if tostring(mod):find("module 'opro." .. k .. "' not found", 1, true) then return nil end
      error(mod, 2)
    end
    rawset(t, k, mod)
    return mod
  end,
})

return opro
