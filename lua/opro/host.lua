-- The driver of opro-lua's main task: runs the command line's -e, -l and
-- script actions in order. Called by src/host.c with (actions, args...).
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
