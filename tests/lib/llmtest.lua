--- llmtest: helpers for opro.llm's tests — start the scripted fixture
-- server (tests/lib/llm_fixture_server.py) or opro-sim, read their /stats.
local T = require "testlib"
local http = require "opro.core.http"
local cjson = require "cjson"

local L = {}

local function wait_port(portfile, what)
  for _ = 1, 400 do
    local port = T.read(portfile)
    if port and port:match("%d+") then return port:match("%d+") end
    opro.sleep(0.025)
  end
  error(what .. " did not start")
end

--- Starts the python fixture server; returns its base URL (http://127.0.0.1:PORT).
function L.fixture()
  local dir = T.tmpdir()
  local portfile = dir .. "/port"
  os.execute(string.format("python3 %s/tests/lib/llm_fixture_server.py %s >%s/log 2>&1 & echo $! > %s/pid",
    T.root, portfile, dir, dir))
  local pid = T.read(dir .. "/pid"):match("%d+")
  T.cleanup(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
  return "http://127.0.0.1:" .. wait_port(portfile, "the fixture server")
end

--- The opro-sim binary ($OPRO_SIM, else bin/opro-sim), or nil when it is not built.
function L.sim_bin()
  local p = T.sim
  local f = io.open(p, "rb")
  if not f then return nil end
  f:close()
  return p
end

--- Starts opro-sim with the given argument string; returns its base URL.
function L.sim(args)
  local bin = assert(L.sim_bin(), "bin/opro-sim is not built")
  local dir = T.tmpdir()
  local portfile = dir .. "/port"
  os.execute(string.format("%s --port 0 --port-file %s --quiet %s >%s/log 2>&1 & echo $! > %s/pid",
    T.shquote(bin), portfile, args or "", dir, dir))
  local pid = T.read(dir .. "/pid"):match("%d+")
  T.cleanup(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
  return "http://127.0.0.1:" .. wait_port(portfile, "opro-sim (log: " .. dir .. "/log)")
end

--- GET /stats of the server at base (query appended when given).
function L.stats(base, query)
  local r = assert(http.request{ url = base .. "/stats" .. (query or ""), timeout = 10 })
  return cjson.decode(r.body)
end

function L.reset(base)
  assert(http.request{ url = base .. "/stats/reset", method = "POST", body = "", timeout = 10 })
end

return L
