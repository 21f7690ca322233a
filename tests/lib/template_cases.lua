--- template_cases: the cases tests/fixtures/template/gen.py writes
-- (cases.json: name, template, history, opts; <name>.txt: the reference's
-- meta-prompt) as the Lua templates take them.
local cjson = require "cjson"

local M = {}

--- The case's options for opro.template.<template>(history, opts): JSON
-- nulls (the reference's None) are left out.
function M.opts(case)
  local opts = {}
  for k, v in pairs(case.opts) do
    if v ~= cjson.null then opts[k] = v end
  end
  return opts
end

return M
