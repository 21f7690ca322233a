-- scripts/fetch-datasets --from: copies a local mirror into the reference
-- layout and checks what it copied (no network: downloads are not tested).
local T = require "testlib"
local FIX = T.root .. "/tests/fixtures/datasets"
local SCRIPT = T.shquote(T.root .. "/scripts/fetch-datasets")

T.test("--help prints the usage", function()
  local rc, out = T.sh("sh " .. SCRIPT .. " --help")
  T.eq(rc, 0)
  T.contains(out, "Usage: scripts/fetch-datasets")
  T.contains(out, "--from DIR")
end)

T.test("--from a mirror in the short layout writes the reference layout the loaders read", function()
  local dir = T.tmpdir() .. "/data"
  local rc, out, err = T.sh(string.format("sh %s --from %s %s", SCRIPT, T.shquote(FIX .. "/mirror"), T.shquote(dir)))
  T.eq(rc, 0, err)
  T.contains(out, "gsm8k: 2 file(s)")
  T.contains(out, "done: 6 file(s) written")
  T.contains(out, "differ from the public copies", "fixtures are not the public files")
  T.ok(T.read(dir .. "/gsm_data/gsm_train.tsv") == T.read(FIX .. "/mirror/gsm8k/gsm_train.tsv"))
  T.ok(T.read(dir .. "/MMLU-data/test/tiny_test.csv"))
  T.ok(T.read(dir .. "/BIG-Bench-Hard-data/navigate.json"))
  T.eq(#opro.dataset.load("gsm8k", { data_dir = dir, split = "test" }), 2)
  T.eq(#opro.dataset.load("mmlu:tiny", { data_dir = dir }), 3)
  T.eq(#opro.dataset.load("multiarith", { data_dir = dir }), 2)
  T.eq(#opro.dataset.load("aqua", { data_dir = dir }), 2)
  T.eq(#opro.dataset.load("bbh:navigate", { data_dir = dir }), 3)
  -- a second run keeps what is there unless --force
  rc, out = T.sh(string.format("sh %s --from %s %s", SCRIPT, T.shquote(FIX .. "/mirror"), T.shquote(dir)))
  T.eq(rc, 0)
  T.contains(out, "6 file(s) were already there")
  rc, out = T.sh(string.format("sh %s --force --only gsm8k --from %s %s", SCRIPT, T.shquote(FIX .. "/mirror"), T.shquote(dir)))
  T.eq(rc, 0)
  T.contains(out, "done: 2 file(s) written")
end)

T.test("--from a reference-layout mirror; --only picks datasets", function()
  local dir = T.tmpdir() .. "/out"
  local rc, out, err = T.sh(string.format("sh %s --only aqua,multiarith --from %s %s", SCRIPT, T.shquote(FIX .. "/ref"), T.shquote(dir)))
  T.eq(rc, 0, err)
  T.contains(out, "done: 2 file(s) written")
  T.ok(T.read(dir .. "/AQuA-data/AQuA.json"))
  T.eq(T.read(dir .. "/gsm_data/gsm_train.tsv"), nil)
end)

T.test("bad mirrors and arguments fail with a clear message", function()
  local dir = T.tmpdir()
  local rc, _, err = T.sh(string.format("sh %s --only gsm8k,bbh --from %s %s/o", SCRIPT, T.shquote(FIX .. "/mirror_bad"), dir))
  T.ne(rc, 0)
  T.contains(err, "gsm_test.tsv is missing")
  T.contains(err, "navigate.json: bad file: not JSON")
  rc, _, err = T.sh(string.format("sh %s --from %s/none %s/o", SCRIPT, dir, dir))
  T.ne(rc, 0)
  T.contains(err, "is not a directory")
  rc, _, err = T.sh(string.format("sh %s --only squad --from %s %s/o", SCRIPT, T.shquote(FIX .. "/mirror"), dir))
  T.ne(rc, 0)
  T.contains(err, "unknown dataset 'squad'")
  rc, _, err = T.sh("sh " .. SCRIPT .. " --bogus")
  T.ne(rc, 0)
  T.contains(err, "unknown option --bogus")
end)

T.done()
