--- opro.dataset.csv: an RFC 4180 parser (quoted fields, "" escapes, CRLF or
-- LF line ends, line breaks inside quoted fields).
--
--   local rows = csv.parse(text, { sep = ",", file = "x.csv" })
--   rows[i] = { "field1", "field2", ..., line = <line where the record starts> }
--
-- Malformed input (an unterminated quote, text after a closing quote)
-- raises an error naming the file and line.
local M = {}

local function where(file, line)
  return string.format("opro.dataset: %s:%d", file or "(csv)", line)
end

function M.parse(text, opts)
  opts = opts or {}
  local sep = opts.sep or ","
  if #sep ~= 1 or sep == '"' or sep == "\n" or sep == "\r" then
    error("csv.parse: sep must be one character other than a quote or line break", 2)
  end
  local file = opts.file
  local rows = {}
  local pos, len, line = 1, #text, 1
  if text:sub(1, 3) == "\239\187\191" then pos = 4 end       -- UTF-8 BOM
  local esep = sep:gsub("%p", "%%%0")
  local special, stops = "[" .. esep .. "\r\n\"]", "[" .. esep .. "\r\n]"
  while pos <= len do
    local row, start_line = {}, line
    while true do
      local field
      if text:byte(pos) == 34 then                              -- quoted field
        local qline = line
        local parts = {}
        local p = pos + 1
        while true do
          local q = text:find('"', p, true)
          if not q then
            error(string.format("%s: unterminated quoted field (opened here)", where(file, qline)), 0)
          end
          local chunk = text:sub(p, q - 1)
          local _, nl = chunk:gsub("\n", "")
          line = line + nl
          parts[#parts + 1] = chunk
          if text:byte(q + 1) == 34 then                        -- "" -> "
            parts[#parts + 1] = '"'
            p = q + 2
          else
            pos = q + 1
            break
          end
        end
        field = table.concat(parts)
        local c = text:sub(pos, pos)
        if c ~= "" and c ~= sep and c ~= "\n" and c ~= "\r" then
          error(string.format("%s: unexpected %q after a closing quote (a quote inside a field must be doubled)",
            where(file, line), c), 0)
        end
      else
        local e = text:find(special, pos)
        if e and text:byte(e) == 34 then
          -- a bare quote inside an unquoted field: RFC 4180 forbids it, but
          -- real files (and pandas) keep it as a character
          e = text:find(stops, pos)
        end
        field = text:sub(pos, (e or len + 1) - 1)
        pos = e or len + 1
      end
      row[#row + 1] = field
      local c = text:sub(pos, pos)
      if c == sep then
        pos = pos + 1
      else
        if c == "\r" then pos = pos + 1 end
        if text:sub(pos, pos) == "\n" then pos = pos + 1 end
        line = line + 1
        break
      end
    end
    -- a blank line is no record
    if not (#row == 1 and row[1] == "") then
      row.line = start_line
      rows[#rows + 1] = row
    end
  end
  return rows
end

return M
