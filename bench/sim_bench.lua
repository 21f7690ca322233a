-- opro-sim's own CPU cost per request at zero latency: user + system time
-- of the simulator process (/proc/PID/stat) before and after N requests,
-- for the main kinds of request. Prints a Markdown section.
local T = require "testlib"
local S = require "simlib"
local cjson = require "cjson"
local http = require "opro.core.http"
local problems = require "opro.sim.problems"

local N = tonumber(os.getenv("SIM_BENCH_N")) or 2000
local RUNS = 3
local CONC = 32

local sim = S.start("--seed 1 --quiet")
local tick = tonumber(io.popen("getconf CLK_TCK"):read("l")) or 100

local function cpu_seconds()
  local stat = assert(io.open("/proc/" .. sim.pid .. "/stat")):read("a")
  local rest = stat:match("%) (.*)$")
  local f = {}
  for x in rest:gmatch("%S+") do f[#f + 1] = x end
  -- after "(comm)": state is field 1, utime 12, stime 13
  return (tonumber(f[12]) + tonumber(f[13])) / tick
end

local items = problems.generate(200, 1)
local meta = "Your task is to generate the instruction <INS>. Below are some previous instructions with their scores. The score ranges from 0 to 100.\n"
  .. "\ntext:\nLet's solve the problem.\nscore:\n41\n\ntext:\nLet's think step by step.\nscore:\n63\n"
  .. "\n\nGenerate an instruction that is different from all the instructions <INS> above, and has a higher score than all the instructions <INS> above. The instruction should begin with <INS> and end with </INS>. The instruction should be concise, effective, and generally applicable to all problems above."

local WORKLOADS = {
  { "OpenAI chat, scorer prompt", "/v1/chat/completions", S.headers.openai, function(i)
      local it = items[i % #items + 1]
      return { model = "sim-1", temperature = 0, messages = { { role = "user", content = "Q: Let's think step by step.\n" .. it.input .. "\n\nA:" } } }
    end },
  { "OpenAI chat, optimizer meta-prompt (n=1, T=1)", "/v1/chat/completions", S.headers.openai, function(i)
      return { model = "sim-1", temperature = 1, seed = i, messages = { { role = "user", content = meta } } }
    end },
  { "OpenAI chat, stream", "/v1/chat/completions", S.headers.openai, function(i)
      return { model = "sim-1", stream = true, messages = { { role = "user", content = "Tell me something " .. i } } }
    end },
  { "OpenAI embeddings (1 text, 256 dims)", "/v1/embeddings", S.headers.openai, function(i)
      return { model = "sim-embed-1", input = "a sentence to embed, number " .. i }
    end },
  { "Anthropic messages", "/v1/messages", S.headers.anthropic, function(i)
      return { model = "claude-sim-1", max_tokens = 256, messages = { { role = "user", content = "Hello " .. i } } }
    end },
}

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

print("## opro-sim: CPU time per request")
print()
print(string.format("The simulator's own user+system CPU time (from /proc/PID/stat) over %d requests at zero", N))
print(string.format("latency, %d concurrent clients on loopback; median of %d runs. Wall rate includes the client.", CONC, RUNS))
print()
print("| request | sim CPU per request | requests/s (wall) |")
print("|---|---:|---:|")
local list = {}
for i = 1, N do list[i] = i end
for _, w in ipairs(WORKLOADS) do
  local name, path, headers, make = w[1], w[2], w[3], w[4]
  local bodies = {}
  for i = 1, N do bodies[i] = cjson.encode(make(i)) end
  local cpus, rates = {}, {}
  for run = 1, RUNS do
    local c0, t0 = cpu_seconds(), opro.now()
    opro.map(list, function(i)
      local resp = assert(http.request { url = sim.base .. path, headers = headers, body = bodies[i] .. string.rep(" ", run) })
      assert(resp.status == 200, resp.body)
    end, { concurrency = CONC })
    local dt = opro.now() - t0
    cpus[run] = (cpu_seconds() - c0) / N
    rates[run] = N / dt
  end
  print(string.format("| %s | %.0f µs | %.0f |", name, median(cpus) * 1e6, median(rates)))
end
print()
sim:shutdown()
os.execute("rm -rf " .. T.shquote(sim.dir))
