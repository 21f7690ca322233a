-- The benchmarks' stand-ins for the reference implementation's imports
-- (bench/ref_stub: the old `openai` client over HTTP, absl flags) against
-- opro-sim, and the reference bench's skip lines. Needs Debian's python3.
local T = require "testlib"
local S = require "simlib"

local PY = "/usr/bin/python3"
local stub = T.root .. "/bench/ref_stub"

local function python(code, env)
  local dir = T.tmpdir()
  T.write(dir .. "/t.py", code)
  return T.sh(string.format("env %s PYTHONPATH=%s:%s/absl_stub %s %s/t.py", env or "", T.shquote(stub), T.shquote(stub),
    PY, dir))
end

T.test("reference bench without OPRO_REF: its section says it was skipped, exit 0", function()
  local rc, out = T.sh("env -u OPRO_REF sh " .. T.shquote(T.root .. "/bench/reference_linreg_bench.sh"))
  T.eq(rc, 0)
  T.match(out, "^## The reference implementation")
  T.contains(out, "\nSkipped: OPRO_REF is not set.")
end)

T.test("reference bench with OPRO_REF that is not a checkout: skipped, saying why", function()
  local dir = T.tmpdir()
  local rc, out = T.sh("OPRO_REF=" .. dir .. " sh " .. T.shquote(T.root .. "/bench/reference_linreg_bench.sh"))
  T.eq(rc, 0)
  T.contains(out, "Skipped: OPRO_REF=" .. dir .. " is not a checkout of google-deepmind/opro")
end)

if not io.open(PY) then
  T.skip("openai stand-in against opro-sim", PY .. " is not installed")
  T.done()
end

T.test("openai stand-in: ChatCompletion.create reaches opro-sim and returns its text", function()
  local sim = S.start("--seed 3")
  -- the body exactly as the stand-in sends it (json.dumps of the keyword
  -- arguments in order): opro-sim's answer depends on the body's bytes
  local body = '{"model": "gpt-3.5-turbo", "temperature": 0, "max_tokens": 50, "messages": '
    .. '[{"role": "user", "content": "Q: Tom has 3 apples and buys 4 more. How many apples does he have?\\nA:"}]}'
  local resp, want = sim:post("/v1/chat/completions", body)
  T.eq(resp.status, 200)
  local rc, out, err = python([[
import json, os, openai
openai.api_key = "sk-test"
c = openai.ChatCompletion.create(**json.loads(os.environ["BODY"]))
print(c.choices[0].message.content, end="")
print("\n--usage %d" % c["usage"]["total_tokens"])
]], "OPENAI_API_BASE=" .. sim.base .. "/v1 BODY=" .. T.shquote(body))
  T.eq(rc, 0, err)
  local text, usage = out:match("^(.*)\n%-%-usage (%d+)\n$")
  T.eq(text, want.choices[1].message.content)
  T.eq(tonumber(usage), want.usage.total_tokens)
  T.eq(sim:stats().paths["/v1/chat/completions"], 2)
  sim:shutdown()
end)

T.test("openai stand-in: a 429 raises openai.error.RateLimitError with retry_after", function()
  local sim = S.start("--seed 1 --faults 429:1:retry-after=2")
  local rc, out, err = python([[
import openai
try:
    openai.ChatCompletion.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    print("no error")
except openai.error.RateLimitError as e:
    print("RateLimitError", e.http_status, e.retry_after)
]], "OPENAI_API_BASE=" .. sim.base .. "/v1")
  T.eq(rc, 0, err)
  T.eq(out, "RateLimitError 429 2.0\n")
  sim:shutdown()
end)

T.test("openai stand-in: a refused connection raises APIConnectionError", function()
  local rc, out, err = python([[
import openai
try:
    openai.ChatCompletion.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
except openai.error.APIConnectionError:
    print("APIConnectionError")
]], "OPENAI_API_BASE=http://127.0.0.1:1/v1")
  T.eq(rc, 0, err)
  T.eq(out, "APIConnectionError\n")
end)

T.test("absl stand-in: flags from --name=value, --name value, --[no]bool; app.run calls main", function()
  local rc, out, err = T.sh(string.format([[PYTHONPATH=%s/absl_stub %s -c '
import sys
from absl import app, flags
A = flags.DEFINE_string("optimizer", "gpt-3.5-turbo", "model")
K = flags.DEFINE_string("openai_api_key", "", "key")
N = flags.DEFINE_integer("steps", 5, "steps")
B = flags.DEFINE_bool("verbose", True, "chatty")
def main(argv):
    print(A.value, K.value, N.value, B.value, argv[1:])
sys.argv = ["x", "--optimizer=gpt-4", "--openai_api_key", "sk-1", "--steps=7", "--noverbose", "rest"]
app.run(main)
']], T.shquote(stub), PY))
  T.eq(rc, 0, err)
  T.eq(out, "gpt-4 sk-1 7 False ['rest']\n")
  local rc2, _, err2 = T.sh(string.format([[PYTHONPATH=%s/absl_stub %s -c '
import sys
from absl import app, flags
sys.argv = ["x", "--nosuchflag=1"]
app.run(lambda argv: 0)
']], T.shquote(stub), PY))
  T.ne(rc2, 0)
  T.contains(err2, "Unknown command line flag 'nosuchflag'")
end)

T.done()
