-- The driver of opro-lua's main task: runs the command line's -e, -l and
-- script actions in order. Called by src/host.c with (actions, args...).
-- A script name without a file of that name that matches a module
-- lua/opro/cmd/NAME.lua runs that subcommand (`opro-lua report run.db`).
local function run(actions, ...)
  opro = require "opro"
  for _, act in ipairs(actions) do
    local kind, text = act[1], act[2]
    if kind == "exec" then
      local chunk, err = load(text, "=(command line)", "t")
      if not chunk then error(err, 0) end
      chunk()
    elseif kind == "require" then
      local name = text:match("^([^=]+)=(.+)$")
      if name then
        _G[name] = require(text:match("=(.+)$"))
      else
        _G[text] = require(text)
      end
    elseif kind == "script" and text:match("^[%w_-]+$") and not io.open(text, "r")
           and package.searchpath("opro.cmd." .. text, "") == nil
           and pcall(require, "opro.cmd." .. text) then
      -- a subcommand: `opro-lua report run.db` runs lua/opro/cmd/report.lua,
      -- which returns function(...) receiving the remaining arguments
      local cmd = require("opro.cmd." .. text)
      local status = cmd(...)
      if type(status) == "number" and status ~= 0 then os.exit(status) end
    else
      local path = text ~= "-" and text or nil
      if path then
        -- modules beside the script can be required, as with `lua`'s path
        local dir = path:match("^(.*)/[^/]*$") or "."
        package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. package.path
      end
      local chunk, err = loadfile(path)
      if not chunk then error(err, 0) end
      chunk(...)
    end
  end
end
return run
