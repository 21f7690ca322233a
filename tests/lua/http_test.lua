-- The HTTP transport (opro.core.http) against a small local fixture server.
local T = require "testlib"
local http = require "opro.core.http"
local cjson = require "cjson"

local dir = T.tmpdir()
local portfile = dir .. "/port"
os.execute(string.format("python3 %s/tests/lib/http_fixture_server.py %s >/dev/null 2>&1 & echo $! > %s/pid",
  T.root, portfile, dir))
local pid = T.read(dir .. "/pid"):match("%d+")
T.cleanup(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
local port
for _ = 1, 200 do
  port = T.read(portfile)
  if port then break end
  opro.sleep(0.025)
end
assert(port, "fixture server did not start")
local base = "http://127.0.0.1:" .. port

T.test("POST sends method, headers and body; response has status, headers, body, time", function()
  local resp, err = http.request{ url = base .. "/echo?x=1", body = '{"a":1}',
    headers = { ["content-type"] = "application/json", ["X-Test"] = "yes" } }
  T.ok(resp, err)
  T.eq(resp.status, 200)
  local echo = cjson.decode(resp.body)
  T.eq(echo.method, "POST")
  T.eq(echo.body, '{"a":1}')
  T.eq(echo.query, "x=1")
  T.eq(echo.headers["x-test"], "yes")
  T.eq(echo.headers["content-type"], "application/json")
  T.eq(echo.headers["expect"], nil, "no Expect: 100-continue")
  T.eq(resp.headers["content-type"], "application/json")
  T.eq(resp.headers["x-multi"], "a, b", "repeated headers are joined")
  T.ok(resp.time >= 0 and resp.time < 10)
end)

T.test("GET by default without a body; other methods by name", function()
  local resp = assert(http.request{ url = base .. "/echo" })
  T.eq(cjson.decode(resp.body).method, "GET")
  resp = assert(http.request{ url = base .. "/echo", method = "DELETE" })
  T.eq(cjson.decode(resp.body).method, "DELETE")
end)

T.test("reused handles carry nothing from one request to the next (method, body, headers, timeout)", function()
  -- one after another, so each request gets the handle the last one left
  local seq = {
    { method = "POST", body = "one", headers = { ["X-A"] = "1" }, timeout = 0.2 },
    { method = "POST", body = "second body", headers = { ["X-B"] = "2" } },
    {},
    { method = "PUT", body = "put body" },
    { method = "DELETE" },
    { method = "POST" },
    { body = "" },
    { method = "GET" },
    { method = "POST", body = "last" },
  }
  for round = 1, 2 do
    for i, r in ipairs(seq) do
      local what = string.format("round %d request %d", round, i)
      local resp, err = http.request{ url = base .. "/echo", method = r.method, body = r.body, headers = r.headers,
                                      timeout = r.timeout }
      T.ok(resp, tostring(err) .. " " .. what)
      local echo = cjson.decode(resp.body)
      T.eq(echo.method, r.method or (r.body and "POST" or "GET"), what)
      T.eq(echo.body, r.body or "", what)
      local sent_len = echo.headers["content-length"]
      if r.body or r.method == "POST" then
        T.eq(sent_len, tostring(#(r.body or "")), what .. " content-length")
      else
        T.eq(sent_len, nil, what .. " no content-length")
      end
      T.eq(echo.headers["x-a"], r.headers and r.headers["X-A"] or nil, what)
      T.eq(echo.headers["x-b"], r.headers and r.headers["X-B"] or nil, what)
    end
  end
  -- a timeout set on an earlier request does not stay with the handle
  local resp, err = http.request{ url = base .. "/sleep?ms=400" }
  T.ok(resp, err)
end)

T.test("reused handles keep their parsed URL only for the same URL: each request goes where it says", function()
  -- one after another, so each request gets the handle the last one left
  local urls = { "/echo?q=1", "/echo?q=1", "/echo?q=2", "/echo", "/echo?q=%20a%2Fb", "/echo?q=1#frag", "/echo?q=1" }
  for round = 1, 2 do
    for i, u in ipairs(urls) do
      local what = string.format("round %d request %d (%s)", round, i, u)
      local resp, err = http.request{ url = base .. u, body = i % 2 == 0 and "b" or nil }
      T.ok(resp, tostring(err) .. " " .. what)
      local echo = cjson.decode(resp.body)
      T.eq(echo.path, "/echo", what)
      T.eq(echo.query, (u:match("%?([^#]*)") or ""), what)
    end
  end
  -- a URL curl's parser refuses fails as curl reports it; the next request is fine
  local resp, err, code = http.request{ url = "http://127.0.0.1:99999/echo", body = "x" }
  T.eq(resp, nil)
  T.ok(tostring(err):find("127.0.0.1:99999", 1, true), err)
  T.eq(code, "transport")
  resp, err = http.request{ url = base .. "/echo?after=1", body = "x" }
  T.ok(resp, err)
  T.eq(cjson.decode(resp.body).query, "after=1")
  -- the same path on another host name goes to that host
  resp, err = http.request{ url = "http://localhost:" .. port .. "/echo?host=2", body = "x" }
  T.ok(resp, err)
  T.eq(cjson.decode(resp.body).query, "host=2")
end)

T.test("reused handles keep their response buffers emptied: no body or header line carries over", function()
  -- one after another, so each request gets the handle the last one left
  local seq = { "/status/503", "/echo", "/big?n=300000", "/big?n=5", "/echo", "/big?n=70000", "/status/429", "/big?n=0" }
  for round = 1, 2 do
    for i, u in ipairs(seq) do
      local what = string.format("round %d request %d (%s)", round, i, u)
      local resp, err = http.request{ url = base .. u }
      T.ok(resp, tostring(err) .. " " .. what)
      local n = tonumber(u:match("n=(%d+)"))
      if n then
        T.eq(#resp.body, n, what)
        T.eq(resp.body, ("x"):rep(n), what)
      elseif u == "/echo" then
        T.eq(cjson.decode(resp.body).path, "/echo", what)
      else
        T.eq(resp.body, '{"error":"x"}', what)
      end
      -- only the error statuses send Retry-After
      T.eq(resp.headers["retry-after"], u:find("^/status/") and "1" or nil, what)
      T.eq(resp.headers["x-multi"], u == "/echo" and "a, b" or nil, what)
    end
  end
end)

T.test("a keep-alive connection the server closes while idle: no busy loop, the next request reconnects", function()
  for round = 1, 3 do
    local resp, err = http.request{ url = base .. "/close_later" }
    T.ok(resp, err)
    T.eq(resp and resp.status, 200)
    -- the server closes the idle connection: the loop must not spin on it
    local c0 = os.clock()
    opro.sleep(0.3)
    local cpu = os.clock() - c0
    T.ok(cpu < 0.1, string.format("round %d: %.3f s of CPU while idle for 0.3 s", round, cpu))
    resp, err = http.request{ url = base .. "/echo", body = "after close " .. round }
    T.ok(resp, err)
    T.eq(resp and cjson.decode(resp.body).body, "after close " .. round)
  end
end)

T.test("a large body is sent without an Expect: 100-continue round trip", function()
  local big = ("x"):rep(3 * 1024 * 1024)
  local resp, err = http.request{ url = base .. "/echo", body = big }
  T.ok(resp, err)
  local echo = cjson.decode(resp.body)
  T.eq(echo.headers["expect"], nil)
  T.eq(#echo.body, #big)
end)

T.test("a proxy in the environment is used; without one, none is", function()
  -- a host that does not resolve: only a proxy can answer for it
  local code = [[local http = require 'opro.core.http'
    local r, err = http.request{ url = 'http://opro-proxy-test.invalid/echo', timeout = 5 }
    io.write(r and (r.status .. ' ' .. require('cjson').decode(r.body).method) or ('failed: ' .. tostring(err)))]]
  local rc, out, err = T.sh(string.format("env -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy http_proxy=%s %s -e %s",
    T.shquote(base), T.shquote(T.bin), T.shquote(code)))
  T.eq(rc, 0, err)
  T.eq(out, "200 GET", "through the proxy")
  rc, out, err = T.sh(string.format("env -u http_proxy -u HTTP_PROXY -u HTTPS_PROXY -u https_proxy -u ALL_PROXY -u all_proxy %s -e %s",
    T.shquote(T.bin), T.shquote(code)))
  T.eq(rc, 0, err)
  T.match(out, "^failed: ", "no proxy: the name does not resolve")
end)

T.test("HTTP error statuses are responses, not failures", function()
  local resp = assert(http.request{ url = base .. "/status/429" })
  T.eq(resp.status, 429)
  T.eq(resp.headers["retry-after"], "1")
end)

T.test("concurrent requests overlap", function()
  local list = {}
  for i = 1, 20 do list[i] = i end
  local t0 = opro.now()
  local r = opro.map(list, function() return http.request{ url = base .. "/sleep?ms=300" }.status end)
  local dt = opro.now() - t0
  for i = 1, 20 do T.eq(r[i], 200) end
  T.ok(dt < 3.0, string.format("20 x 300 ms took %.2f s (sequential: 6 s)", dt))
  T.ok(http.stats().peak >= 10, "peak in flight " .. http.stats().peak)
end)

T.test("a timeout returns nil, message, 'timeout'", function()
  local resp, msg, code = http.request{ url = base .. "/sleep?ms=3000", timeout = 0.2 }
  T.eq(resp, nil)
  T.eq(code, "timeout")
  T.contains(msg, "/sleep")
end)

T.test("a refused connection returns code 'connect'", function()
  local _, msg, code = http.request{ url = "http://127.0.0.1:9/x", connect_timeout = 2 }
  T.eq(code, "connect")
  T.contains(msg, "127.0.0.1:9")
end)

T.test("a connection closed without an answer returns code 'reset'", function()
  local _, _, code = http.request{ url = base .. "/reset" }
  T.eq(code, "reset")
end)

T.test("error messages never include the query string (API keys live there)", function()
  local _, msg = http.request{ url = "http://127.0.0.1:9/v1/x?key=SECRET123", connect_timeout = 2 }
  T.ok(not msg:find("SECRET123", 1, true), msg)
end)

T.test("a large body arrives whole", function()
  local resp = assert(http.request{ url = base .. "/big?n=3000000" })
  T.eq(#resp.body, 3000000)
end)

T.test("cancelling a task mid-request aborts the transfer", function()
  local t = opro.spawn(function() return http.request{ url = base .. "/sleep?ms=5000" } end)
  opro.sleep(0.1)
  T.eq(http.stats().inflight, 1)
  t:cancel()
  T.eq(http.stats().inflight, 0)
  T.eq(t:status(), "cancelled")
end)

T.test("a failing map item cancels the others' transfers: none left in flight", function()
  local line = debug.getinfo(1, "l").currentline + 4
  local t0 = opro.now()
  local err = T.raises(function()
    opro.map({ 1, 2, 3, 4, 5, 6 }, function(i)
      if i == 4 then opro.sleep(0.2) error("item four failed") end
      return http.request{ url = base .. "/sleep?ms=5000" }
    end)
  end, "item four failed")
  T.contains(err, "http_test.lua:" .. line .. ":")
  T.contains(err, "stack traceback")
  T.ok(opro.now() - t0 < 4, "did not wait for the 5 s transfers")
  T.eq(http.stats().inflight, 0, "every transfer of the cancelled tasks was removed")
  -- the transport still works afterwards
  local resp = assert(http.request{ url = base .. "/echo", method = "POST", body = "after" })
  T.eq(resp.status, 200)
end)

T.test("misuse raises", function()
  T.raises(function() http.request{} end, "field 'url'")
  T.raises(function() http.request{ url = "ftp://x" } end, "http:// or https://")
  T.raises(function() http.request{ url = base, timeout = "soon" } end, "field 'timeout'")
  T.raises(function() http.request{ url = base, headers = { [1] = "x" } } end, "headers must map")
  T.raises(function() http.request("x") end, "table expected")
end)

T.done()
