--- opro.sim.generate: asks the persona for n replies and applies what every
-- provider applies alike: stop sequences, the output token limit, the
-- sample a reply belongs to. Used by the protocol modules.
local util = require "opro.sim.util"

local M = {}

--- Joins message contents into the prompt text the persona reads.
function M.prompt_of(system, messages)
  local parts = {}
  if system and system ~= "" then parts[#parts + 1] = system end
  for _, m in ipairs(messages or {}) do
    if m.content and m.content ~= "" then parts[#parts + 1] = m.content end
  end
  return table.concat(parts, "\n\n")
end

--- opts = {system=, messages={{role=, content=}}, prompt=, model=, temperature=,
--          max_tokens=, stop={...}, n=, seed=, provider=}
-- Returns a list of {text=, finish="stop"|"length"|"stop_sequence", stop_sequence=, tokens=}.
function M.replies(ctx, opts)
  local persona = ctx.env.persona
  local prompt = opts.prompt or M.prompt_of(opts.system, opts.messages)
  local temperature = opts.temperature or 1
  local out = {}
  for i = 1, opts.n or 1 do
    -- which sample this is: the request's seed when given; otherwise, when
    -- sampling (temperature > 0), how often this same request came before
    local sample = 0
    if opts.seed ~= nil then sample = util.hash("seed", opts.seed, temperature > 0 and i or 1)
    elseif temperature > 0 then sample = util.hash("occ", ctx.req.occurrence, i) end
    local r = persona.reply {
      prompt = prompt, messages = opts.messages, system = opts.system, model = opts.model,
      temperature = temperature, max_tokens = opts.max_tokens, n = opts.n or 1, index = i - 1,
      sample = sample, seed = ctx.env.seed, provider = opts.provider,
    }
    local text, finish = r, "stop"
    if type(r) == "table" then text, finish = r.text, r.finish_reason or "stop" end
    text = tostring(text or "")
    local stop_seq
    for _, s in ipairs(opts.stop or {}) do
      if type(s) == "string" and s ~= "" then
        local at = text:find(s, 1, true)
        if at then text, finish, stop_seq = text:sub(1, at - 1), "stop_sequence", s end
      end
    end
    if opts.max_tokens and util.tokens(text) > opts.max_tokens then
      text, finish = text:sub(1, math.max(0, opts.max_tokens) * 4), "length"
    end
    out[i] = { text = text, finish = finish, stop_sequence = stop_seq, tokens = util.tokens(text) }
  end
  return out, prompt
end

--- Prompt tokens: the text plus a few tokens of framing per message.
function M.prompt_tokens(prompt, nmessages)
  return util.tokens(prompt) + 3 * (nmessages or 1) + 3
end

--- Text of OpenAI/Anthropic message content: a string or a list of parts.
function M.content_text(c)
  if type(c) == "string" then return c end
  if type(c) ~= "table" then return "" end
  local parts = {}
  for _, p in ipairs(c) do
    if type(p) == "string" then parts[#parts + 1] = p
    elseif type(p) == "table" and type(p.text) == "string" then parts[#parts + 1] = p.text end
  end
  return table.concat(parts, "\n")
end

--- A stable id suffix from the request id.
function M.id_suffix(req, n)
  local hex = req.request_id:gsub("^req_", "")
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
  local r = util.rng(util.hash(hex))
  local out = {}
  for i = 1, n or 24 do
    local k = r:int(1, #alphabet)
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

return M
