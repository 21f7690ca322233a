-- `opro-lua version`: prints the versions of opro-lua and its libraries.
return function()
  local cjson = require "cjson"
  print("opro-lua " .. opro.version)
  print(_VERSION)
  print("lua-cjson " .. (cjson._VERSION or "?"))
  return 0
end
