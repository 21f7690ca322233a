--- opro.template: meta-prompt templates. A template is any
-- `function(history, opts) -> string`; the defaults reproduce the reference
-- code (google-deepmind/opro) byte for byte given the same history and
-- settings. See docs/templates.md.
local M = {}

M.instruction = require "opro.template.instruction"
M.linear_regression = require "opro.template.linear_regression"
M.tsp = require "opro.template.tsp"
M.exemplars = require "opro.template.exemplars"
M.num = require "opro.template.num"

return M
