--- simlib: starts bin/opro-sim for a test file and talks to it.
--   local S = require "simlib"
--   local sim = S.start("--seed 1 --faults 429:0.1")   -- killed at T.done()
--   local resp, obj = sim:post("/v1/chat/completions", {model=..., messages=...})
-- OPRO_SIM selects the binary (default bin/opro-sim; e.g. build/sanitize/opro-sim).
local T = require "testlib"
local http = require "opro.core.http"
local cjson = require "cjson"

local S = {}
S.bin = os.getenv("OPRO_SIM") or (T.root .. "/bin/opro-sim")
-- OPRO_SIM_WRAP: a command prefix, e.g. "valgrind -q --error-exitcode=99 --leak-check=full"
S.wrap = os.getenv("OPRO_SIM_WRAP") or ""
S.headers = {
  openai = { ["content-type"] = "application/json", authorization = "Bearer sk-test" },
  anthropic = { ["content-type"] = "application/json", ["x-api-key"] = "sk-ant-test", ["anthropic-version"] = "2023-06-01" },
  gemini = { ["content-type"] = "application/json", ["x-goog-api-key"] = "AIza-test" },
}

local Sim = {}
Sim.__index = Sim
local started = {}

--- Starts a simulator with the given argument string; waits for its port file.
function S.start(args)
  local dir = T.tmpdir()
  local portfile = dir .. "/port"
  -- a subshell waits for the simulator and records its exit status in rc
  os.execute(string.format("( %s %s --port-file %s %s >%s/out 2>%s/err & echo $! > %s/pid; wait $!; echo $? > %s/rc ) &",
    S.wrap, T.shquote(S.bin), portfile, args or "", dir, dir, dir, dir))
  local pid
  for _ = 1, 200 do
    pid = (T.read(dir .. "/pid") or ""):match("%d+")
    if pid then break end
    opro.sleep(0.01)
  end
  local sim = setmetatable({ pid = pid, dir = dir }, Sim)
  started[#started + 1] = sim
  T.cleanup(function() sim:stop() end)
  for _ = 1, 2000 do
    local p = T.read(portfile)
    if p and p:match("%d+") then
      sim.port = tonumber(p:match("%d+"))
      break
    end
    opro.sleep(0.025)
  end
  assert(sim.port, "opro-sim did not start: " .. (T.read(dir .. "/err") or ""))
  sim.base = "http://127.0.0.1:" .. sim.port
  return sim
end

function Sim:stop()
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
end

--- Sends SIGTERM and waits for the exit; returns the exit status and stderr.
function Sim:shutdown()
  self:stop()
  local rc
  for _ = 1, 1500 do
    rc = T.read(self.dir .. "/rc")
    if rc and rc:match("%d") then break end
    opro.sleep(0.02)
  end
  return rc and tonumber(rc:match("%d+")), T.read(self.dir .. "/err") or ""
end

--- A test that stops every simulator this file started: each must exit 0
-- with no sanitizer report (run with OPRO_SIM=build/sanitize/opro-sim).
function S.shutdown_test()
  T.test("every simulator exits 0 on SIGTERM, with nothing reported on stderr", function()
    for _, sim in ipairs(started) do
      local rc, err = sim:shutdown()
      T.eq(rc, 0, "exit status of opro-sim (port " .. tostring(sim.port) .. "): " .. err)
      T.ok(not err:find("Sanitizer", 1, true) and not err:find("runtime error", 1, true), err)
    end
  end)
end

--- POSTs a JSON body (a table or a string); returns resp and the decoded body (or nil).
function Sim:post(path, body, headers, opts)
  local resp, err, code = http.request {
    url = self.base .. path, method = "POST", headers = headers or S.headers.openai,
    body = type(body) == "string" and body or cjson.encode(body), timeout = opts and opts.timeout or 30,
  }
  if not resp then return nil, err, code end
  local ok, obj = pcall(cjson.decode, resp.body)
  return resp, ok and obj or nil
end

function Sim:get(path, headers)
  local resp, err, code = http.request { url = self.base .. path, headers = headers or S.headers.openai, timeout = 30 }
  if not resp then return nil, err, code end
  local ok, obj = pcall(cjson.decode, resp.body)
  return resp, ok and obj or nil
end

function Sim:stats()
  local _, obj = self:get("/stats")
  return obj
end

--- The chat text of an OpenAI answer to one user message.
function Sim:chat(content, extra)
  local body = { model = "sim-1", messages = { { role = "user", content = content } }, temperature = 0 }
  for k, v in pairs(extra or {}) do body[k] = v end
  local resp, obj = self:post("/v1/chat/completions", body)
  assert(resp and resp.status == 200, "chat failed: " .. tostring(resp and resp.body or obj))
  return obj.choices[1].message.content, obj
end

--- Splits an SSE body into events {event=, data=} (LF or CRLF framing).
function S.sse(body)
  local events = {}
  local text = body:gsub("\r\n", "\n")
  for block in (text .. "\n\n"):gmatch("(.-)\n\n") do
    if block ~= "" then
      local ev = { data = {} }
      for line in block:gmatch("[^\n]+") do
        local k, v = line:match("^(%w+): ?(.*)$")
        if k == "event" then ev.event = v elseif k == "data" then ev.data[#ev.data + 1] = v end
      end
      ev.data = table.concat(ev.data, "\n")
      events[#events + 1] = ev
    end
  end
  return events
end

return S
