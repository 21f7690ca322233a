--- opro.sim.server: the Lua side of opro-sim. src/sim/sim_persona.c calls
-- new(config) once per Lua state and then the returned handler once per
-- HTTP request:
--   handler{method=, path=, query={}, headers={lower-case}, body=, request_id=,
--           key=, occurrence=, fault=nil|"429"|"badjson"|..., fault_status=,
--           retry_after=, inflight_cap=}
--   -> {status=, headers={}, body=} or {status=, headers=, chunks={...}, chunk_tokens={...}}
--      plus model= (counted in /stats) and output_tokens= (for per-token latency)
-- Routing, authentication and faults are here; each provider's shapes are
-- in opro.sim.protocol_openai / _anthropic / _gemini; what is said comes
-- from the persona (opro.sim.persona or --persona FILE).
local cjson = require "cjson.safe"
local util = require "opro.sim.util"
local data = require "opro.sim.data"
local default_persona = require "opro.sim.persona"
local openai = require "opro.sim.protocol_openai"
local anthropic = require "opro.sim.protocol_anthropic"
local gemini = require "opro.sim.protocol_gemini"

local M = {}

local PROTOCOLS = { openai = openai, anthropic = anthropic, gemini = gemini }

local function load_persona(path)
  local chunk, err = loadfile(path)
  if not chunk then error("--persona: " .. err, 0) end
  local ok, p = pcall(chunk)
  if not ok then error("--persona " .. path .. ": " .. tostring(p), 0) end
  if type(p) ~= "table" or (type(p.reply) ~= "function" and type(p.embed) ~= "function") then
    error("--persona " .. path .. ": must return a table with reply(req) and/or embed(req)", 0)
  end
  return p
end

-- Which provider a request speaks to.
local function provider_of(req)
  local path = req.path
  if path:find("^/v1beta/") or path:find("^/v1/models/[^/]+:") then return "gemini" end
  if path == "/v1/messages" or path:find("^/v1/messages/") then return "anthropic" end
  local known = path == "/v1/chat/completions" or path == "/v1/completions" or path == "/v1/embeddings"
  if not known then   -- /v1/models and unknown paths: by the headers a client of each sends
    if req.headers["anthropic-version"] or req.headers["x-api-key"] then return "anthropic" end
    if req.headers["x-goog-api-key"] or req.query.key then return "gemini" end
  end
  return "openai"
end

local function authorized(provider, req)
  local h = req.headers
  local bearer = h.authorization and h.authorization:match("^[Bb]earer%s+(%S+)")
  if provider == "openai" then return bearer ~= nil end
  if provider == "anthropic" then return (h["x-api-key"] or "") ~= "" or bearer ~= nil end
  return (h["x-goog-api-key"] or "") ~= "" or (req.query.key or "") ~= "" or bearer ~= nil
end

-- Corrupts a reply for the badjson fault: a JSON body cut in the middle, or
-- one SSE event's data cut short.
local function corrupt(reply)
  if reply.chunks then
    local i = math.max(1, #reply.chunks // 2)
    local c = reply.chunks[i]
    local cut = c:find("\n", 1, true)
    local data_at = c:find("data: ", 1, true) or 1
    reply.chunks[i] = c:sub(1, math.max(data_at + 10, #c // 2)) .. "\n\n"
    if cut == nil then reply.chunks[i] = c:sub(1, #c // 2) end
  else
    local b = reply.body or ""
    reply.body = b:sub(1, math.max(1, #b // 2))
  end
  reply.status = 200
  return reply
end

-- cjson decodes every number as a float: integral ones become integers
-- so that n=2 and max_tokens=100 read as the integers they are.
local function integers(v, depth)
  if depth > 32 then return v end
  for k, x in pairs(v) do
    if type(x) == "table" then integers(x, depth + 1)
    elseif math.type(x) == "float" and x == math.floor(x) and math.abs(x) < 2^53 then v[k] = math.tointeger(x) end
  end
  return v
end

--- Builds the request handler of one Lua state.
function M.new(config)
  config = config or {}
  local items = config.data and data.load(config.data) or nil
  local persona = default_persona
  default_persona.init { seed = config.seed or 0, data = items }
  if config.persona then
    local user = load_persona(config.persona)
    if type(user.init) == "function" then user.init { seed = config.seed or 0, data = items } end
    persona = setmetatable({}, { __index = function(_, k) local v = user[k]; if v == nil then v = default_persona[k] end; return v end })
  end
  local env = { seed = config.seed or 0, persona = persona }

  return function(req)
    local provider = provider_of(req)
    local proto = PROTOCOLS[provider]
    local function err(status, message, kind, extra)
      local reply = proto.error(status, message, kind, extra)
      reply.headers = reply.headers or {}
      if req.retry_after and (status == 429 or status == 503 or status == 529) then
        reply.headers["retry-after"] = tostring(math.ceil(req.retry_after))
      end
      return reply
    end
    if req.fault and req.fault ~= "badjson" then
      local status = req.inflight_cap and 429 or req.fault_status or tonumber(req.fault) or 500
      local msg = req.inflight_cap and "Too many requests in flight (opro-sim --max-inflight); retry later."
                  or ("Simulated fault " .. tostring(req.fault) .. " (opro-sim --faults).")
      return err(status, msg, "fault")
    end
    if not authorized(provider, req) then return err(401, nil, "auth") end
    local body
    if req.method == "POST" then
      if req.body == "" then return err(400, "The request body is empty; a JSON object is required.", "body") end
      local decoded, derr = cjson.decode(req.body)
      if type(decoded) ~= "table" then
        return err(400, "We could not parse the JSON body of your request. (" .. tostring(derr or "not an object") .. ")", "body")
      end
      body = integers(decoded, 0)
    end
    local ctx = { req = req, body = body, env = env, err = err }
    local reply = proto.route(ctx)
    if not reply then return err(404, "Unknown request URL: " .. req.method .. " " .. req.path .. ".", "route") end
    reply.headers = reply.headers or {}
    if req.fault == "badjson" then corrupt(reply) end
    return reply
  end
end

M._provider_of = provider_of

return M
