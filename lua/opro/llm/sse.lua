--- opro.llm.sse: an incremental parser of Server-Sent Events (the WHATWG
-- HTML "event stream" format). Lines end in CR, LF or CRLF, also when the
-- CR and the LF arrive in different chunks; lines starting with ":" are
-- comments (keep-alive pings); several "data:" lines join with "\n"; an
-- empty line dispatches the event; an event without data is not
-- dispatched; an unfinished event at the end of the stream is dropped.
--   local p = sse.parser()
--   for _, ev in ipairs(p:feed(chunk)) do ... ev.event, ev.data, ev.id end
--   p:close() -> true, or false when the stream stopped inside an event
local M = {}

local Parser = {}
Parser.__index = Parser

function M.parser()
  return setmetatable({ buf = "", cr = false, started = false, data = nil, event = nil,
                        last_id = "", retry = nil, comments = 0 }, Parser)
end

local function dispatch(self, out)
  local data = self.data
  local ev = self.event
  self.data, self.event = nil, nil
  if not data then return end
  out[#out + 1] = { event = ev or "message", data = table.concat(data, "\n"), id = self.last_id }
end

local function field(self, line, out)
  if line == "" then return dispatch(self, out) end
  local colon = line:find(":", 1, true)
  if colon == 1 then
    self.comments = self.comments + 1
    return
  end
  local name, value
  if colon then
    name = line:sub(1, colon - 1)
    value = line:sub(colon + 1)
    if value:byte(1) == 32 then value = value:sub(2) end
  else
    name, value = line, ""
  end
  if name == "data" then
    local d = self.data
    if not d then d = {}; self.data = d end
    d[#d + 1] = value
  elseif name == "event" then
    self.event = value
  elseif name == "id" then
    if not value:find("\0", 1, true) then self.last_id = value end
  elseif name == "retry" then
    if value:match("^%d+$") then self.retry = tonumber(value) end
  end
  -- other field names are ignored, as the spec says
end

--- Feeds a chunk of the stream; returns the list of events it completed.
function Parser:feed(chunk)
  local s = self.buf == "" and chunk or self.buf .. chunk
  local out = {}
  local pos = 1
  if not self.started then
    if #s < 3 and ("\239\187\191"):sub(1, #s) == s then
      self.buf = s            -- maybe the start of a byte order mark
      return out
    end
    self.started = true
    if s:sub(1, 3) == "\239\187\191" then pos = 4 end
  end
  if self.cr and pos <= #s then   -- the LF of a CRLF split across chunks
    self.cr = false
    if s:byte(pos) == 10 then pos = pos + 1 end
  end
  local n = #s
  while pos <= n do
    local i = s:find("[\r\n]", pos)
    if not i then break end
    local line = s:sub(pos, i - 1)
    if s:byte(i) == 13 then
      if i == n then
        self.cr = true
        pos = i + 1
      elseif s:byte(i + 1) == 10 then
        pos = i + 2
      else
        pos = i + 1
      end
    else
      pos = i + 1
    end
    field(self, line, out)
  end
  self.buf = pos > n and "" or s:sub(pos)
  return out
end

--- Ends the stream. Returns false when it stopped inside an event (the
-- spec drops that event), true otherwise.
function Parser:close()
  local clean = self.buf == "" and self.data == nil and self.event == nil
  self.buf, self.data, self.event = "", nil, nil
  return clean
end

--- Parses a whole stream held in one string: the list of events, and
-- whether it ended cleanly.
function M.parse(text)
  local p = M.parser()
  local events = p:feed(text)
  return events, p:close(), p
end

return M
