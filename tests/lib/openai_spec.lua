--- Where the OpenAI OpenAPI description for the schema tests is: the full
-- file ($OPRO_SPECS/openai-openapi.json, else ../shared/specs beside the
-- checkout or beside its parent) when it is there, else the committed
-- subset tests/fixtures/openai/openapi-subset.json (made from it by
-- scripts/openai-spec-subset: the schemas the tests use and all they reach).
--   local spec = require "openai_spec"
--   spec.path, spec.full (the full file's path or nil), spec.subset
local T = require "testlib"

local M = { subset = T.root .. "/tests/fixtures/openai/openapi-subset.json" }
for _, d in ipairs({ os.getenv("OPRO_SPECS") or false, T.root .. "/../shared/specs", T.root .. "/../../shared/specs" }) do
  if d and T.read(d .. "/openai-openapi.json") then M.full = d .. "/openai-openapi.json"; break end
end
M.path = M.full or (T.read(M.subset) and M.subset) or nil
M.which = M.full and ("the full spec " .. M.full) or M.path and "the committed subset (tests/fixtures/openai)" or nil
return M
