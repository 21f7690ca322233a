--- opro.llm: the LLM client. Calls from many tasks run concurrently on the
-- loop's one curl multi handle, capped by `concurrency` and by rpm/tpm
-- token buckets; failed attempts are retried as the official SDKs do; a
-- response cache makes repeated (and resumed) calls free; usage and cost
-- are counted per call, per llm object and per meter (with a budget).
--   local llm = opro.llm{ provider = "openai", model = "gpt-4o-mini", temperature = 0 }
--   local text, info = llm:chat("Say hi")            -- inside a task
--   local texts, info = llm:chat_n(prompt, 8, { temperature = 1, sample = step })
--   local vectors, info = llm:embed({ "a", "b" })
-- Expected failures return nil, message, code (and an info table); the
-- API key never appears in messages, records or tostring(llm).
-- See docs/llm.md.
local http = require "opro.core.http"
local core = require "opro.core.task"
local cjson = require "cjson"
local sync = require "opro.sync"
local retry = require "opro.llm.retry"
local ratelimit = require "opro.llm.ratelimit"
local meter_mod = require "opro.llm.meter"
local keymod = require "opro.llm.key"
local sse = require "opro.llm.sse"

local request, now, sleep = http.request, core.now, core.sleep
-- replies and cache entries: the values cjson makes, each table made at
-- its final size (src/ljson.c)
local decode = require("opro.core.json").decode
local type, pairs, ipairs, tostring, error, setmetatable = type, pairs, ipairs, tostring, error, setmetatable

-- Request bodies (and cache entries) as canonical JSON, keys sorted: the
-- same call sends the same bytes in every process (cjson follows a table's
-- hash order, which Lua seeds per process), so what a server draws per
-- request (opro-sim's faults) repeats from run to run. Values canonical
-- JSON cannot hold (cjson.null, sparse arrays) fall back to cjson.
local canonical, cjson_encode, pcall = keymod.canonical, cjson.encode, pcall
local function encode(v)
  local ok, s = pcall(canonical, v)
  if ok then return s end
  return cjson_encode(v)
end
local fmt = string.format

local M = {}

local protocols = {
  openai = require "opro.llm.openai",
  anthropic = require "opro.llm.anthropic",
  gemini = require "opro.llm.gemini",
}

-- OpenAI-compatible local servers: the protocol and the usual address.
local compatible = {
  vllm = "http://localhost:8000/v1",
  llamacpp = "http://localhost:8080/v1",
  ["llama.cpp"] = "http://localhost:8080/v1",
  ollama = "http://localhost:11434/v1",
  lmstudio = "http://localhost:1234/v1",
}

M.DEFAULT_CONCURRENCY = 16
M.DEFAULT_TIMEOUT = 600         -- seconds per attempt, as the SDKs
M.DEFAULT_CONNECT_TIMEOUT = 10
M.DEFAULT_MAX_RETRIES = 2
M.DEFAULT_MAX_RETRY_AFTER = 60  -- a longer Retry-After ends the call instead
M.OUTPUT_ESTIMATE = 256         -- output tokens reserved when max_tokens is not set

-- API keys and the headers that carry them live here, not in the object.
local secret = setmetatable({}, { __mode = "k" })

-- The client's own random numbers (retry jitter): the user's math.random
-- sequence stays untouched, so seeded runs stay reproducible.
local rng = (os.time() * 2654435761 + math.floor(os.clock() * 1e6)) | 1
local function rand()
  rng = rng * 6364136223846793005 + 1442695040888963407
  return ((rng >> 11) & 0x1FFFFFFFFFFFFF) / 9007199254740992.0
end

---------------------------------------------------------------------------
-- caches

local MemoryCache = {}
MemoryCache.__index = MemoryCache
function MemoryCache:get(k) return self.map[k] end
function MemoryCache:put(k, v)
  if self.map[k] == nil then self.count = self.count + 1 end
  self.map[k] = v
end
function MemoryCache:size() return self.count end
MemoryCache.__tostring = function(self) return fmt("opro.llm.memory_cache(%d entries)", self.count) end

--- An in-memory response cache (the default of every llm object).
function M.memory_cache()
  return setmetatable({ map = {}, count = 0 }, MemoryCache)
end

--- A meter shared by the llm objects of a run: opro.llm.meter{budget={usd=, calls=, tokens=}}.
M.meter = meter_mod.new

---------------------------------------------------------------------------
-- option checking

local options = {
  provider = "string", base_url = "string", model = "string", api_key = "string",
  temperature = "number", max_tokens = "integer", top_p = "number", stop = "stop", seed = "integer",
  concurrency = "integer", rpm = "number", tpm = "number", timeout = "number", connect_timeout = "number",
  max_retries = "integer", max_retry_after = "number", price = "table", headers = "table",
  cache = "cache", meter = "meter", on_call = "function", stream = "boolean", extra = "table",
  native_n = "boolean", anthropic_version = "string",
}

local call_options = {
  temperature = "number", max_tokens = "integer", top_p = "number", stop = "stop", seed = "integer",
  sample = "integer", cache = "boolean", stream = "boolean", extra = "table", timeout = "number",
}

local function check_value(where, k, v, want, level)
  local ok
  if want == "integer" then ok = math.type(v) == "integer"
  elseif want == "stop" then
    ok = type(v) == "string"
    if type(v) == "table" then
      ok = #v > 0
      for _, s in ipairs(v) do if type(s) ~= "string" then ok = false end end
    end
  elseif want == "cache" then
    ok = v == false or ((type(v) == "table" or type(v) == "userdata") and type(v.get) == "function" and type(v.put) == "function")
    want = "false or an object with get and put"
  elseif want == "meter" then
    ok = getmetatable(v) == meter_mod.Meter
    want = "an opro.llm.meter{...}"
  else ok = type(v) == want end
  if not ok then error(fmt("%s: option '%s' must be %s %s, got %s", where, k,
    want:match("^[aeiou]") and "an" or "a", want == "stop" and "string or list of strings" or want, type(v)), level + 1) end
end

-- level: where the error points, counted from check_options' caller (1)
local function check_options(where, t, allowed, level)
  for k, v in pairs(t) do
    local want = allowed[k]
    if not want then error(require("opro.options").unknown(where, k, allowed, "docs/llm.md"), level + 1) end
    check_value(where, k, v, want, level + 1)
  end
end

local function positive(where, k, v, min)
  if v == nil then return end
  local ok
  if min then ok = v >= min else ok = v > 0 end
  if not ok then
    error(fmt("%s: option '%s' must be %s", where, k, min and ("at least " .. min) or "> 0"), 3)
  end
end

---------------------------------------------------------------------------
-- the llm object

local LLM = {}
LLM.__index = LLM
LLM.__name = "opro.llm"

function LLM:__tostring()
  return fmt("opro.llm(%s, model %s, %s)", self.provider, self.model, (self.base_url:gsub("[?#].*", "")))
end

local function scrub(S, s)
  if s == nil or not S.key then return s end
  s = tostring(s)
  local k = S.key
  local i = s:find(k, 1, true)
  while i do
    s = s:sub(1, i - 1) .. "[redacted]" .. s:sub(i + #k)
    i = s:find(k, i + 10, true)
  end
  return s
end

--- Creates an llm object; see docs/llm.md for every option.
function M.new(cfg)
  local where = "opro.llm"
  if type(cfg) ~= "table" then error("opro.llm: options must be a table {provider=, model=, ...}", 2) end
  check_options(where, cfg, options, 2)
  local name = cfg.provider or "openai"
  local protoname = compatible[name] and "openai" or name
  local proto = protocols[protoname]
  if not proto then
    error(fmt("opro.llm: unknown provider '%s' (openai, anthropic, gemini, vllm, llamacpp, ollama, lmstudio)", name), 2)
  end
  if not cfg.model or cfg.model == "" then error("opro.llm: option 'model' is required", 2) end
  local base = cfg.base_url or compatible[name] or os.getenv(proto.env_base_url) or proto.default_base_url
  base = base:gsub("/+$", "")
  if not base:match("^https?://") then
    error(fmt("opro.llm: base_url must start with http:// or https:// (got %q)", base), 2)
  end
  local key = cfg.api_key
  if key == nil and not compatible[name] then key = os.getenv(proto.env_key) end
  if key == "" then key = nil end
  if not key and base == proto.default_base_url then
    error(fmt("opro.llm: no API key for provider '%s' (set %s or pass api_key=)", name, proto.env_key), 2)
  end
  positive(where, "concurrency", cfg.concurrency, 1)
  positive(where, "rpm", cfg.rpm)
  positive(where, "tpm", cfg.tpm)
  positive(where, "timeout", cfg.timeout)
  positive(where, "connect_timeout", cfg.connect_timeout)
  positive(where, "max_retries", cfg.max_retries, 0)
  positive(where, "max_tokens", cfg.max_tokens, 1)
  positive(where, "temperature", cfg.temperature, 0)
  positive(where, "max_retry_after", cfg.max_retry_after, 0)
  local price = cfg.price
  if price then
    for k, v in pairs(price) do
      if (k ~= "input" and k ~= "output") or type(v) ~= "number" or v < 0 then
        error("opro.llm: price must be {input=, output=} in dollars per million tokens (numbers >= 0)", 2)
      end
    end
  end
  local self = setmetatable({
    provider = name,
    protocol = protoname,
    model = cfg.model,
    base_url = base,
    temperature = cfg.temperature,
    max_tokens = cfg.max_tokens,
    concurrency = cfg.concurrency or M.DEFAULT_CONCURRENCY,
    timeout = cfg.timeout or M.DEFAULT_TIMEOUT,
    connect_timeout = cfg.connect_timeout or M.DEFAULT_CONNECT_TIMEOUT,
    max_retries = cfg.max_retries or M.DEFAULT_MAX_RETRIES,
    max_retry_after = cfg.max_retry_after or M.DEFAULT_MAX_RETRY_AFTER,
    price = price and { input = price.input or 0, output = price.output or 0 } or nil,
    cache = cfg.cache == nil and M.memory_cache() or (cfg.cache or nil),
    meter = cfg.meter,
    on_call = cfg.on_call,
    stream = cfg.stream or false,
    native_n = cfg.native_n == nil and proto.native_n or cfg.native_n,
    anthropic_version = cfg.anthropic_version,
    own = meter_mod.new(),
  }, LLM)
  self.defaults = { temperature = cfg.temperature, max_tokens = cfg.max_tokens, top_p = cfg.top_p,
                    stop = cfg.stop, seed = cfg.seed, extra = cfg.extra, stream = self.stream }
  local headers = proto.headers(key, self)
  if cfg.headers then
    for k, v in pairs(cfg.headers) do
      if type(k) ~= "string" or type(v) ~= "string" then error("opro.llm: headers must map names to strings", 2) end
      headers[k:lower()] = v
    end
  end
  local sem = sync.semaphore(self.concurrency)
  secret[self] = {
    key = key,
    headers = headers,
    proto = proto,
    sem = sem,
    permit = setmetatable({}, { __close = function() sem:release() end }),
    rpm = cfg.rpm and ratelimit.bucket(cfg.rpm) or nil,
    tpm = cfg.tpm and ratelimit.bucket(cfg.tpm) or nil,
  }
  return self
end

--- Usage of this llm object: {calls=, retries=, cache_hits=, failures=, input_tokens=, output_tokens=, cost=}.
function LLM:totals() return self.own:totals() end

---------------------------------------------------------------------------
-- one call

local roles = { system = true, user = true, assistant = true, developer = true, tool = true }

local function messages_of(x, where)
  if type(x) == "string" then return { { role = "user", content = x } }, #x end
  if type(x) ~= "table" or x[1] == nil then
    error(fmt("%s: bad argument #1 (a prompt string or a non-empty list of messages expected, got %s)", where, type(x)), 3)
  end
  local chars = 0
  for i, m in ipairs(x) do
    if type(m) ~= "table" or not roles[m.role] then
      error(fmt("%s: message %d must be a table with role = system|user|assistant", where, i), 3)
    end
    local c = m.content
    if type(c) == "string" then chars = chars + #c
    elseif type(c) == "table" then
      for _, part in ipairs(c) do if type(part) == "table" and type(part.text) == "string" then chars = chars + #part.text end end
    else
      error(fmt("%s: message %d: content must be a string or a list of parts", where, i), 3)
    end
  end
  return x, chars
end

local function params_of(self, opts, where)
  local d = self.defaults
  if opts == nil then return d end
  if type(opts) ~= "table" then error(where .. ": options must be a table", 3) end
  check_options(where, opts, call_options, 3)
  local p = {}
  for k, v in pairs(d) do p[k] = v end
  for k, v in pairs(opts) do p[k] = v end
  if p.temperature and p.temperature < 0 then error(where .. ": temperature must be >= 0", 3) end
  if p.max_tokens and p.max_tokens < 1 then error(where .. ": max_tokens must be >= 1", 3) end
  return p
end

-- cache on for temperature 0 and for calls naming their sample index
local function cache_wanted(self, p)
  if not self.cache then return false end
  if p.cache ~= nil then return p.cache end
  return p.temperature == 0 or p.sample ~= nil
end

-- the cache key: SHA-256 of the canonical JSON of {provider=, model=,
-- messages=, params={temperature=, max_tokens=, top_p=, stop=, seed=, extra=},
-- sample=, choice=} (p holds no other sampling fields)
local function cache_key(self, messages, p, choice)
  return keymod.of_request(self.provider, self.model, messages, p, p.sample, choice)
end

local function cost_of(self, i, o)
  local pr = self.price
  if not pr then return 0 end
  return ((i or 0) * pr.input + (o or 0) * pr.output) / 1e6
end

local function meters(self)
  return self.own, self.meter
end

local function reserve(self, tokens, usd)
  local shared = self.meter
  local t2
  if shared then
    while true do
      local msg, may_wait
      t2, msg, may_wait = shared:reserve(1, tokens, usd)
      if t2 then break end
      -- only the estimates of calls in flight are in the way: wait for one to settle
      if not (may_wait and shared:wait_settle()) then return nil, msg end
    end
  end
  return self.own:reserve(1, tokens, usd), t2
end

-- closes a reservation that was never settled (the task was cancelled)
local reservation_mt = { __close = function(g)
  g[3].own:abandon(g[1])
  if g[2] then g[3].meter:abandon(g[2]) end
end }

local function settle(self, t1, t2, i, o, cost, failed, retries)
  local own, shared = meters(self)
  own:settle(t1, 1, i, o, cost, failed)
  if shared then shared:settle(t2, 1, i, o, cost, failed) end
  for _ = 1, retries do
    own:add_retry()
    if shared then shared:add_retry() end
  end
end

-- Sends `body` to `url`, retrying as the SDKs do. `parse(raw)` turns a 2xx
-- body into a result or nil, message, retryable, code. Returns the result
-- and a state table, or nil, message, code, state.
local function exchange(self, S, url, body, est_tokens, parse, timeout)
  local attempts, retries = 0, 0
  local t0 = now()
  local max_retries = self.max_retries
  local status, raw, headers, msg, code, http_time
  while true do
    attempts = attempts + 1
    if S.rpm then S.rpm:take(1) end
    if S.tpm then S.tpm:take(est_tokens) end
    local resp, err, ecode
    do
      S.sem:acquire()
      local permit <close> = S.permit
      resp, err, ecode = request{ url = url, method = "POST", headers = S.headers, body = body,
                                  timeout = timeout, connect_timeout = self.connect_timeout }
    end
    local retryable
    if resp then
      status, raw, headers, http_time = resp.status, resp.body, resp.headers, resp.time
      if status >= 200 and status < 300 then
        local out, perr, can_retry, pcode = parse(raw)
        if out then
          return out, { status = status, body = raw, headers = headers, attempts = attempts, retries = retries,
                        latency = now() - t0, http_time = http_time }
        end
        msg, code = perr, pcode or "bad_response"
        retryable = can_retry and retry.retryable(status, "bad_response", headers)
      else
        msg = fmt("HTTP %d: %s", status, S.proto.error_message(decode(raw), raw))
        code = "http_" .. status
        retryable = retry.retryable(status, code, headers)
      end
    else
      status, raw, headers = nil, nil, nil
      msg, code = err, ecode
      retryable = retry.retryable(nil, ecode, nil)
    end
    local delay, asked
    if retryable and retries < max_retries then
      delay, asked = retry.delay(retries, headers, self.max_retry_after, rand)
      if not delay then
        msg = fmt("%s (the server asked to retry after %g s, more than max_retry_after = %g s)",
          msg, asked, self.max_retry_after)
      end
    end
    if not delay then
      local st = { status = status, body = raw, headers = headers, attempts = attempts, retries = retries,
                   latency = now() - t0, http_time = http_time }
      local m = fmt("opro.llm %s %s: %s (%d attempt%s)", self.provider, self.model, msg, attempts,
        attempts == 1 and "" or "s")
      return nil, scrub(S, m), code, st
    end
    retries = retries + 1
    sleep(delay)
  end
end

local function request_id(st, out)
  local h = st.headers
  return h and (h["x-request-id"] or h["request-id"]) or out and out.id
end

-- The record passed to on_call.
local function record(self, S, fields)
  local cb = self.on_call
  if not cb then return end
  fields.provider = self.provider
  fields.model = self.model
  fields.request = scrub(S, fields.request)
  fields.response = scrub(S, fields.response)
  cb(fields)
end

-- "not valid JSON" with the decoder's reason and the start of the body
-- (an HTML error page from a proxy says more than any summary)
local function not_json(raw, why)
  local head = tostring(raw or ""):sub(1, 120):gsub("%s+", " ")
  if #raw > 120 then head = head .. "..." end
  return fmt("the response is not valid JSON (%s; %d bytes: %s)", tostring(why or "cannot decode"):gsub("^.-:%d+: ", ""),
    #raw, head == "" and "empty body" or head)
end

local function chat_parser(proto, stream)
  if stream then
    return function(raw)
      local events, clean = sse.parse(raw)
      local out, msg, can_retry, code = proto.parse_stream(events)
      if not out and not clean and code ~= "stream_error" then msg = msg .. " (the stream was cut)" end
      return out, msg, can_retry, code
    end
  end
  local skip = proto.reply_skip
  return function(raw)
    local obj, why = decode(raw, skip)
    if obj == nil then return nil, not_json(raw, why), true end
    return proto.parse_chat(obj)
  end
end

-- One request for n choices; puts each choice in the cache under keys[i].
-- Returns the list of choices and info, or nil, message, code, info.
local function request_chat(self, messages, chars, p, n, keys)
  local S = secret[self]
  local proto = S.proto
  local stream = p.stream
  local url, bodyt = proto.chat_request(self, messages, p, n, stream)
  local body = encode(bodyt)
  local est_in = chars // 4 + 4 * #messages
  local est_out = (p.max_tokens or M.OUTPUT_ESTIMATE) * n
  local t1, t2 = reserve(self, est_in + est_out, cost_of(self, est_in, est_out))
  if not t1 then
    return nil, scrub(S, fmt("opro.llm %s %s: %s", self.provider, self.model, t2)), "budget",
      { attempts = 0, cached = false, cost = 0 }
  end
  local reservation <close> = setmetatable({ t1, t2, self }, reservation_mt)
  local parsers
  if stream then
    parsers = S.stream_parser
    if not parsers then parsers = chat_parser(proto, true); S.stream_parser = parsers end
  else
    parsers = S.parser
    if not parsers then parsers = chat_parser(proto, false); S.parser = parsers end
  end
  local out, st, code, st2 = exchange(self, S, url, body, est_in, parsers, p.timeout or self.timeout)
  if not out then
    local msg = st
    st = st2
    -- no choice has text (a refusal, a content filter, a safety block):
    -- code bad_response as before, and info.no_text says which kind
    local no_text = code == "no_text" or nil
    if no_text then code = "bad_response" end
    settle(self, t1, t2, 0, 0, 0, true, st.retries)
    if S.tpm then S.tpm:adjust(-est_in * st.attempts) end
    record(self, S, { key = keys and keys[1], keys = keys and n > 1 and keys or nil, request = body,
      response = st.body, status = st.status, latency = st.latency, attempts = st.attempts, cost = 0,
      cached = false, error = msg, code = code })
    return nil, msg, code, { attempts = st.attempts, retries = st.retries, latency = st.latency,
      status = st.status, cached = false, cost = 0, no_text = no_text }
  end
  local usage = out.usage
  local estimated = false
  if not usage then
    -- servers without usage: count an estimate (about 4 characters a token)
    local outchars = 0
    for _, c in ipairs(out.choices) do outchars = outchars + #c.text end
    usage = { input_tokens = est_in, output_tokens = (outchars + 3) // 4 }
    estimated = true
  end
  local cost = cost_of(self, usage.input_tokens, usage.output_tokens)
  settle(self, t1, t2, usage.input_tokens, usage.output_tokens, cost, false, st.retries)
  if S.tpm then S.tpm:adjust(usage.input_tokens + usage.output_tokens - est_in) end
  local rid = request_id(st, out)
  local info = { usage = usage, latency = st.latency, http_time = st.http_time, attempts = st.attempts,
                 retries = st.retries, cached = false, finish_reason = out.choices[1].finish_reason,
                 request_id = rid, cost = cost, status = st.status, usage_estimated = estimated or nil }
  -- the paid response and its call record are written together: a cache
  -- that can (the store's) makes them one transaction, so a kill never keeps
  -- a response whose cost was not recorded
  if keys or self.on_call then
    local function keep()
      record(self, S, { key = keys and keys[1], keys = keys and n > 1 and keys or nil, request = body,
        response = st.body, status = st.status, usage = usage, latency = st.latency, attempts = st.attempts,
        cost = cost, cached = false, request_id = rid })
      if keys then
        for i, c in ipairs(out.choices) do
          local k = keys[i]
          if k and not c.no_text then   -- a choice without text is not an answer to replay
            self.cache:put(k, encode{ text = c.text, finish_reason = c.finish_reason, request_id = rid,
              usage = i == 1 and usage or nil })
          end
        end
      end
    end
    local cache = keys and self.cache
    if cache and cache.atomically then cache:atomically(keep) else keep() end
  end
  return out.choices, info
end

-- A cached answer: the decoded entry, or nil.
local function cache_lookup(self, k)
  local v = self.cache:get(k)
  if type(v) ~= "string" then return nil end
  local c = decode(v)
  if type(c) ~= "table" or type(c.text) ~= "string" then return nil end
  c.raw = v
  return c
end

local function count_hit(self, messages, p, k, c)
  self.own:add_cache_hit()
  if self.meter then self.meter:add_cache_hit() end
  if self.on_call then
    local S = secret[self]
    local _, bodyt = S.proto.chat_request(self, messages, p, 1, p.stream)
    record(self, S, { key = k, request = encode(bodyt), response = c.raw, status = 200,
      usage = type(c.usage) == "table" and c.usage or nil, latency = 0, attempts = 0, cost = 0, cached = true })
  end
end

local function hit_usage(c)
  local u = type(c.usage) == "table" and c.usage or {}
  return { input_tokens = tonumber(u.input_tokens) or 0, output_tokens = tonumber(u.output_tokens) or 0 }
end

-- the message of choice j of a response that came without text
local function no_text_message(self, j, c)
  return fmt("opro.llm %s %s: choice %d has no text (%s)", self.provider, self.model, j, c.no_text)
end

--- Asks for one answer. prompt: a string (one user message) or a list of
-- {role=, content=}. opts: temperature, max_tokens, top_p, stop, seed,
-- sample, cache, stream, extra, timeout. Returns text, info or nil,
-- message, code, info.
function LLM:chat(prompt, opts)
  local messages, chars = messages_of(prompt, "llm:chat")
  local p = params_of(self, opts, "llm:chat")
  local keys
  if cache_wanted(self, p) then
    local k = cache_key(self, messages, p, nil)
    local c = cache_lookup(self, k)
    if c then
      count_hit(self, messages, p, k, c)
      return c.text, { usage = hit_usage(c), latency = 0, attempts = 0, cached = true, cost = 0,
                       finish_reason = c.finish_reason, request_id = c.request_id, key = k }
    end
    keys = { k }
  end
  local choices, info, code, finfo = request_chat(self, messages, chars, p, 1, keys)
  if not choices then return nil, info, code, finfo end
  info.key = keys and keys[1]
  if choices[1].no_text then   -- a server that sent more choices than asked, the first without text
    info.no_text = true
    return nil, no_text_message(self, 1, choices[1]), "bad_response", info
  end
  return choices[1].text, info
end

local function add_info(total, info)
  local u = info.usage
  if u then
    total.usage.input_tokens = total.usage.input_tokens + u.input_tokens
    total.usage.output_tokens = total.usage.output_tokens + u.output_tokens
  end
  total.attempts = total.attempts + (info.attempts or 0)
  total.retries = total.retries + (info.retries or 0)
  total.cost = total.cost + (info.cost or 0)
  if info.latency and info.latency > total.latency then total.latency = info.latency end
end

--- Asks for n answers to one prompt: one request with `n` where the
-- protocol has it (OpenAI), else n concurrent requests. With a cache, each
-- answer is cached under its own key (sample index and choice number).
-- Returns the list of texts (in choice order; failed ones left out) and
-- info (summed usage and cost, finish_reasons, errors), or nil, message,
-- code, info when no answer came back.
function LLM:chat_n(prompt, n, opts)
  local messages, chars = messages_of(prompt, "llm:chat_n")
  if math.type(n) ~= "integer" or n < 1 then
    error("llm:chat_n: bad argument #2 (n must be an integer >= 1)", 2)
  end
  local p = params_of(self, opts, "llm:chat_n")
  local results = {}
  local total = { usage = { input_tokens = 0, output_tokens = 0 }, attempts = 0, retries = 0, cost = 0,
                  latency = 0, cached = true, finish_reasons = {}, request_ids = {}, errors = {} }
  local keys, missing = nil, {}
  local t0 = now()
  if cache_wanted(self, p) then
    keys = {}
    for i = 1, n do
      local k = cache_key(self, messages, p, i)
      keys[i] = k
      local c = cache_lookup(self, k)
      if c then
        count_hit(self, messages, p, k, c)
        results[i] = { text = c.text, finish_reason = c.finish_reason, request_id = c.request_id }
        add_info(total, { usage = hit_usage(c) })
      else
        missing[#missing + 1] = i
      end
    end
  else
    for i = 1, n do missing[i] = i end
  end
  local first_msg, first_code
  -- a choice paid for but without text: left out like a failed one
  local function no_text_error(m, i)
    first_msg, first_code = first_msg or m, first_code or "bad_response"
    total.errors[#total.errors + 1] = { index = i, message = m, code = "bad_response", no_text = true }
  end
  if #missing > 0 then
    total.cached = false
    if self.native_n and #missing > 1 then
      local mkeys = keys and {}
      if keys then for j, i in ipairs(missing) do mkeys[j] = keys[i] end end
      local choices, info, code, finfo = request_chat(self, messages, chars, p, #missing, mkeys)
      if choices then
        add_info(total, info)
        local rest = {}
        for j, i in ipairs(missing) do
          local c = choices[j]
          if c and c.no_text then   -- paid for, but no answer: left out like a failed one
            no_text_error(no_text_message(self, j, c), i)
          elseif c then
            results[i] = { text = c.text, finish_reason = c.finish_reason, request_id = info.request_id }
          else
            rest[#rest + 1] = i
          end
        end
        -- the server ignored n (llama.cpp, Ollama, ...): ask for the rest one by one
        if #rest > 0 then self.native_n = false end
        missing = rest
      else
        add_info(total, finfo)
        first_msg, first_code = info, code
        total.errors[#total.errors + 1] = { message = info, code = code, no_text = finfo and finfo.no_text }
        missing = {}
      end
    end
    if #missing > 0 then
      local tasks = {}
      for j, i in ipairs(missing) do
        local pi = p
        if p.seed ~= nil then   -- separate calls with one seed would all answer alike
          pi = {}
          for k, v in pairs(p) do pi[k] = v end
          pi.seed = p.seed + i - 1
        end
        tasks[j] = core.spawn(function()
          return { request_chat(self, messages, chars, pi, 1, keys and { keys[i] }) }
        end)
      end
      local opro = require "opro"
      local outs = opro.wait(tasks)
      for j, i in ipairs(missing) do
        local r = outs[j]
        local c = r[1] and r[1][1]
        if c and c.no_text then   -- more choices than asked, the first without text
          add_info(total, r[2])
          no_text_error(no_text_message(self, 1, c), i)
        elseif c then
          results[i] = { text = c.text, finish_reason = c.finish_reason, request_id = r[2].request_id }
          add_info(total, r[2])
        else
          if r[4] then add_info(total, r[4]) end
          first_msg, first_code = first_msg or r[2], first_code or r[3]
          total.errors[#total.errors + 1] = { index = i, message = r[2], code = r[3],
                                              no_text = r[4] and r[4].no_text or nil }
        end
      end
    end
  end
  local texts = {}
  for i = 1, n do
    local r = results[i]
    if r then
      texts[#texts + 1] = r.text
      total.finish_reasons[#texts] = r.finish_reason
      total.request_ids[#texts] = r.request_id
    end
  end
  total.latency = now() - t0
  if #total.errors == 0 then total.errors = nil end
  total.keys = keys
  if #texts == 0 then return nil, first_msg, first_code, total end
  return texts, total
end

---------------------------------------------------------------------------
-- embeddings

local vec_ok, vec = pcall(require, "opro.vec")
if not (vec_ok and type(vec) == "table" and type(vec.from_json) == "function") then vec = nil end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64 = {}
for i = 0, 63 do b64[i] = B64:sub(i + 1, i + 1) end

-- base64 of a byte string (the cached form of a vector: little-endian float32)
local function base64(s)
  local out, n = {}, #s
  for i = 1, n - 2, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = (a << 16) | (b << 8) | c
    out[#out + 1] = b64[v >> 18] .. b64[(v >> 12) & 63] .. b64[(v >> 6) & 63] .. b64[v & 63]
  end
  local r = n % 3
  if r == 1 then
    local v = s:byte(n) << 16
    out[#out + 1] = b64[v >> 18] .. b64[(v >> 12) & 63] .. "=="
  elseif r == 2 then
    local a, b = s:byte(n - 1, n)
    local v = (a << 16) | (b << 8)
    out[#out + 1] = b64[v >> 18] .. b64[(v >> 12) & 63] .. b64[(v >> 6) & 63] .. "="
  end
  return table.concat(out)
end

local embed_options = { dimensions = "integer", timeout = "number", cache = "boolean", batch = "integer" }

-- the cache key of one text's embedding
local function embed_key(self, text, dims)
  return keymod.of{ embedding = { provider = self.provider, model = self.model, text = text, dimensions = dims } }
end

-- a cached vector, or nil (entries: {"embedding":"<base64 float32>"})
local function embed_lookup(self, k)
  local v = self.cache:get(k)
  if type(v) ~= "string" then return nil end
  local m = vec.from_json(v, "embedding")
  if not m or m:rows() ~= 1 then return nil end
  return m:row(1), v
end

-- One request for `texts` (distinct, not cached). Returns the matrix of
-- their vectors and info, or nil, message, code, info. Caches each vector
-- under keys[i] (with the call record, atomically when the cache can).
local function request_embed(self, texts, keys, dims, timeout)
  local S = secret[self]
  local proto = S.proto
  local chars = 0
  for _, t in ipairs(texts) do chars = chars + #t end
  local url, bodyt = proto.embed_request(self, texts, { dimensions = dims })
  local body = encode(bodyt)
  local est = chars // 4 + #texts
  local t1, t2 = reserve(self, est, cost_of(self, est, 0))
  if not t1 then
    return nil, fmt("opro.llm %s %s: %s", self.provider, self.model, t2), "budget", { attempts = 0, cost = 0 }
  end
  local reservation <close> = setmetatable({ t1, t2, self }, reservation_mt)
  local count, field = #texts, proto.embed_field
  local function parse(raw)
    local m = vec.from_json(raw, field)
    if m and m:rows() == count then
      return { vectors = m, usage = { input_tokens = tonumber(raw:match('"prompt_tokens"%s*:%s*(%d+)')) or est,
                                      output_tokens = 0 } }
    end
    local obj, why = decode(raw)
    if obj == nil then return nil, not_json(raw, why), true end
    local v, u = proto.parse_embed(obj, count)
    if not v then return nil, u, true end
    local okm, mv = pcall(vec.matrix, v)
    if not okm then return nil, "bad embedding vectors: " .. tostring(mv), true end
    return { vectors = mv, usage = u or { input_tokens = est, output_tokens = 0 } }
  end
  local out, st, code, st2 = exchange(self, S, url, body, est, parse, timeout)
  if not out then
    local msg = st
    st = st2
    settle(self, t1, t2, 0, 0, 0, true, st.retries)
    record(self, S, { key = keys and keys[1], keys = keys and count > 1 and keys or nil, request = body,
      response = st.body, status = st.status, latency = st.latency, attempts = st.attempts, cost = 0,
      cached = false, error = msg, code = code })
    return nil, msg, code, { attempts = st.attempts, retries = st.retries, latency = st.latency, cost = 0 }
  end
  local u = out.usage
  local cost = cost_of(self, u.input_tokens, 0)
  settle(self, t1, t2, u.input_tokens, 0, cost, false, st.retries)
  if S.tpm then S.tpm:adjust(u.input_tokens - est) end
  local rid = request_id(st, nil)
  local m = out.vectors
  local function keep()
    record(self, S, { key = keys and keys[1], keys = keys and count > 1 and keys or nil, request = body,
      response = st.body, status = st.status, usage = u, latency = st.latency, attempts = st.attempts,
      cost = cost, cached = false, request_id = rid })
    if keys then
      for i, k in ipairs(keys) do
        self.cache:put(k, '{"embedding":"' .. base64(m:row(i):bytes()) .. '"}')
      end
    end
  end
  local cache = keys and self.cache
  if cache and cache.atomically then cache:atomically(keep) else keep() end
  return m, { usage = u, latency = st.latency, attempts = st.attempts, retries = st.retries, cost = cost,
              request_id = rid }
end

--- Embeds a list of strings (or one string). Each text's vector is cached
-- under its own key (provider, model, text, dimensions): only the texts
-- not cached are sent, in batches (one request per `batch` texts;
-- OpenAI-compatible: a list `input`, Gemini: batchEmbedContents), and a
-- cached text costs nothing and counts as a cache hit. Returns a matrix
-- (opro.vec, one row per text, in input order) and info, or nil, message,
-- code, info. opts: dimensions, batch, cache (false: neither read nor
-- write the cache), timeout.
function LLM:embed(texts, opts)
  if type(texts) == "string" then texts = { texts } end
  if type(texts) ~= "table" or texts[1] == nil then
    error("llm:embed: bad argument #1 (a string or a non-empty list of strings expected)", 2)
  end
  for i, t in ipairs(texts) do
    if type(t) ~= "string" then error(fmt("llm:embed: item %d is a %s, not a string", i, type(t)), 2) end
  end
  if opts ~= nil and type(opts) ~= "table" then error("llm:embed: options must be a table", 2) end
  opts = opts or {}
  check_options("llm:embed", opts, embed_options, 2)
  if opts.dimensions and opts.dimensions < 1 then error("llm:embed: dimensions must be >= 1", 2) end
  if opts.batch and opts.batch < 1 then error("llm:embed: batch must be >= 1", 2) end
  local S = secret[self]
  local proto = S.proto
  if not proto.embed_request then
    error(fmt("llm:embed: provider '%s' has no embeddings API", self.provider), 2)
  end
  if not vec then error("llm:embed: opro.vec is not built in", 2) end
  local dims = opts.dimensions
  local use_cache = self.cache and opts.cache ~= false
  local t0 = now()
  -- the vector of each distinct text: from the cache, or to be sent
  local got, keys, missing, seen = {}, {}, {}, {}
  local hits = 0
  for _, t in ipairs(texts) do
    if not seen[t] then
      seen[t] = true
      if use_cache then
        local k = embed_key(self, t, dims)
        keys[t] = k
        local v, raw = embed_lookup(self, k)
        if v then
          got[t] = v
          hits = hits + 1
          self.own:add_cache_hit()
          if self.meter then self.meter:add_cache_hit() end
          if self.on_call then
            local _, bodyt = proto.embed_request(self, { t }, { dimensions = dims })
            record(self, S, { key = k, request = encode(bodyt), response = raw, status = 200, latency = 0,
              attempts = 0, cost = 0, cached = true })
          end
        else
          missing[#missing + 1] = t
        end
      else
        missing[#missing + 1] = t
      end
    end
  end
  local info = { usage = { input_tokens = 0, output_tokens = 0 }, attempts = 0, retries = 0, cost = 0,
                 cached = #missing == 0, cache_hits = hits, requests = 0 }
  local size = opts.batch or proto.embed_batch or 256
  for first = 1, #missing, size do
    local part, pkeys = {}, use_cache and {} or nil
    for i = first, math.min(#missing, first + size - 1) do
      part[#part + 1] = missing[i]
      if pkeys then pkeys[#pkeys + 1] = keys[missing[i]] end
    end
    local m, binfo, code, finfo = request_embed(self, part, pkeys, dims, opts.timeout or self.timeout)
    if not m then
      finfo = finfo or {}
      info.attempts = info.attempts + (finfo.attempts or 0)
      info.retries = info.retries + (finfo.retries or 0)
      info.latency = now() - t0
      return nil, binfo, code, info
    end
    info.requests = info.requests + 1
    info.usage.input_tokens = info.usage.input_tokens + binfo.usage.input_tokens
    info.attempts = info.attempts + binfo.attempts
    info.retries = info.retries + binfo.retries
    info.cost = info.cost + binfo.cost
    info.request_id = binfo.request_id
    for i, t in ipairs(part) do got[t] = m:row(i) end
  end
  local dim
  for _, v in pairs(got) do
    if dim and v:dim() ~= dim then
      return nil, fmt("opro.llm %s %s: embeddings of different dimensions (%d and %d; a cache written with other dimensions?)",
        self.provider, self.model, dim, v:dim()), "bad_response", info
    end
    dim = v:dim()
  end
  local out = vec.matrix({}, dim)
  for _, t in ipairs(texts) do out:append(got[t]) end
  info.latency = now() - t0
  return out, info
end

-- the protocol modules (request building and parsing), for tests and tools
M.protocols = protocols
-- chat_parser(proto, stream)(raw body) -> result or nil, message, retryable, code
-- (what a 2xx chat reply goes through; for tests and tests/fuzz/fuzz_llm.lua)
M.chat_parser = chat_parser

return setmetatable(M, { __call = function(_, cfg) return M.new(cfg) end })
