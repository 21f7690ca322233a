--- opro.report.html: renders the report data (opro.report.data) as one
-- self-contained HTML page: inline CSS, inline SVG charts drawn here,
-- a small inline script for sorting and searching. Every text that came
-- from an LLM, a user or a file goes through esc().
local assets = require "opro.report.assets"
local json = require "opro.store.json"

local M = {}

local function esc(s)
  if s == nil then return "" end
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;", ["'"] = "&#39;" }))
end
M.esc = esc

local function num(v, digits)
  if type(v) ~= "number" then return "" end
  if math.type(v) == "integer" then return string.format("%d", v) end
  return string.format("%." .. (digits or 4) .. "g", v)
end

local function money(v) return string.format("$%.4f", v or 0) end

local function date(t)
  if type(t) ~= "number" then return "" end
  return os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(t))
end

-- pretty JSON (sorted keys, two-space indent)
local function pretty(v, indent)
  indent = indent or ""
  if type(v) ~= "table" then return json.encode(v) end
  local n, count = #v, 0
  for _ in pairs(v) do count = count + 1 end
  if count == 0 then return "{}" end
  local inner = indent .. "  "
  local parts = {}
  if count == n then
    for i = 1, n do parts[i] = inner .. pretty(v[i], inner) end
    return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for i, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    parts[i] = inner .. json.quote(k) .. ": " .. pretty(x, inner)
  end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end
M.pretty = pretty

local palette = { "#2e6bd8", "#d1483b", "#2b9a66", "#9b59b6", "#e6a23c", "#17a2b8", "#6c757d", "#c0392b" }

-- a linear scale from [d0, d1] to [r0, r1], padded when the domain is a point
local function scale(d0, d1, r0, r1)
  if d0 == d1 then d0, d1 = d0 - 1, d1 + 1 end
  return function(v) return r0 + (v - d0) / (d1 - d0) * (r1 - r0) end
end

-- "nice" ticks over [a, b]
local function ticks(a, b, n)
  if a == b then return { a } end
  local span = b - a
  local step = 10 ^ math.floor(math.log(span / n, 10))
  for _, m in ipairs({ 1, 2, 5, 10 }) do
    if span / (step * m) <= n then step = step * m break end
  end
  local out, v = {}, math.ceil(a / step) * step
  while v <= b + step * 1e-9 do
    out[#out + 1] = math.abs(v) < step * 1e-9 and 0 or v
    v = v + step
  end
  return out
end

local function f2(v) return string.format("%.2f", v) end

local function axes(out, W, H, m, xs, ys, x0, x1, y0, y1, xlabel, ylabel, integer_x, yticks)
  for _, t in ipairs(yticks or ticks(y0, y1, 6)) do
    local y = ys(t)
    out[#out + 1] = string.format('<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>', m.l, W - m.r, f2(y), f2(y))
    out[#out + 1] = string.format('<text x="%s" y="%s" text-anchor="end">%s</text>', m.l - 6, f2(y + 4), esc(num(t, 3)))
  end
  for _, t in ipairs(ticks(x0, x1, 10)) do
    if not integer_x or t == math.floor(t) then
      local x = xs(t)
      out[#out + 1] = string.format('<text x="%s" y="%s" text-anchor="middle">%s</text>', f2(x), H - m.b + 16,
        esc(integer_x and string.format("%d", t) or num(t, 3)))
    end
  end
  out[#out + 1] = string.format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', m.l, W - m.r, H - m.b, H - m.b)
  out[#out + 1] = string.format('<line class="axis" x1="%s" x2="%s" y1="%s" y2="%s"/>', m.l, m.l, m.t, H - m.b)
  out[#out + 1] = string.format('<text x="%s" y="%s" text-anchor="middle">%s</text>', (m.l + W - m.r) / 2, H - 4, esc(xlabel))
  out[#out + 1] = string.format('<text transform="translate(12,%s) rotate(-90)" text-anchor="middle">%s</text>',
    (m.t + H - m.b) / 2, esc(ylabel))
end

-- the paper's chart: every scored candidate a dot at (step, score), the
-- best-so-far line of every rep
local function score_chart(d)
  local W, H, m = 760, 360, { l = 58, r = 16, t = 12, b = 40 }
  local pts, reps = {}, {}
  local x0, x1, y0, y1 = math.huge, -math.huge, math.huge, -math.huge
  for _, c in ipairs(d.candidates) do
    if type(c.score) == "number" then
      pts[#pts + 1] = c
      reps[c.rep] = true
      x0, x1 = math.min(x0, c.step), math.max(x1, c.step)
      y0, y1 = math.min(y0, c.score), math.max(y1, c.score)
    end
  end
  if #pts == 0 then return '<p class="muted">No scored candidates yet.</p>', 0 end
  local ylabel = d.kind == "instruction" and "training accuracy" or "score"
  local ys, yticks
  if y0 > 0 and y1 / y0 >= 1000 then
    -- positive scores over three or more orders of magnitude (linear
    -- regression losses): a log scale, or the best-so-far line is flat at 0
    local l0, l1 = math.log(y0, 10), math.log(y1, 10)
    local pad = (l1 - l0) * 0.05
    local ls = scale(l0 - pad, l1 + pad, H - m.b, m.t)
    ys = function(v) return ls(math.log(v, 10)) end
    yticks = {}
    for e = math.ceil(l0 - pad), math.floor(l1 + pad) do yticks[#yticks + 1] = 10.0 ^ e end
    y0, y1 = 10 ^ (l0 - pad), 10 ^ (l1 + pad)
    ylabel = ylabel .. " (log scale)"
  else
    local pad = (y1 - y0) * 0.05
    if pad == 0 then pad = math.abs(y0) * 0.05 + 0.05 end
    y0, y1 = y0 - pad, y1 + pad
    ys = scale(y0, y1, H - m.b, m.t)
  end
  local xs = scale(x0 - 0.5, x1 + 0.5, m.l, W - m.r)
  local out = { string.format('<svg id="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="score of every candidate by step">', W, H, W, H) }
  axes(out, W, H, m, xs, ys, x0 - 0.5, x1 + 0.5, y0, y1, "step", ylabel, true, yticks)
  -- spread the dots of one step a little so they do not hide each other
  local per_step, seen = {}, {}
  for _, c in ipairs(pts) do per_step[c.step] = (per_step[c.step] or 0) + 1 end
  local rep_list = {}
  for r in pairs(reps) do rep_list[#rep_list + 1] = r end
  table.sort(rep_list)
  local color = {}
  for i, r in ipairs(rep_list) do color[r] = palette[(i - 1) % #palette + 1] end
  for _, c in ipairs(pts) do
    local k = seen[c.step] or 0
    seen[c.step] = k + 1
    local spread = per_step[c.step] > 1 and (k / (per_step[c.step] - 1) - 0.5) * 0.5 or 0
    out[#out + 1] = string.format('<circle class="pt" cx="%s" cy="%s" r="3.5" fill="%s"><title>%s</title></circle>',
      f2(xs(c.step + spread)), f2(ys(c.score)), color[c.rep],
      esc(string.format("rep %d, step %d, score %s\n%s", c.rep, c.step, num(c.score), c.text)))
  end
  for _, r in ipairs(rep_list) do
    local best, by_step = nil, {}
    for _, c in ipairs(pts) do
      if c.rep == r then
        local b = by_step[c.step]
        if b == nil or (d.better == "higher" and c.score > b) or (d.better == "lower" and c.score < b) then
          by_step[c.step] = c.score
        end
      end
    end
    local steps = {}
    for s in pairs(by_step) do steps[#steps + 1] = s end
    table.sort(steps)
    local path = {}
    for _, s in ipairs(steps) do
      local v = by_step[s]
      if best == nil or (d.better == "higher" and v > best) or (d.better == "lower" and v < best) then best = v end
      path[#path + 1] = f2(xs(s)) .. "," .. f2(ys(best))
    end
    out[#out + 1] = string.format('<polyline class="bestline" stroke="%s" points="%s"><title>best so far, rep %d</title></polyline>',
      color[r], table.concat(path, " "), r)
  end
  out[#out + 1] = "</svg>"
  local legend = {}
  if #rep_list > 1 then
    legend[1] = '<div class="legend">'
    for _, r in ipairs(rep_list) do
      legend[#legend + 1] = string.format('<span><i style="background:%s"></i>rep %d</span>', color[r], r)
    end
    legend[#legend + 1] = "</div>"
  end
  return table.concat(out, "\n") .. table.concat(legend), #pts
end

-- linear regression: the proposed (w, b) pairs and the best-so-far path
local function lr_chart(d)
  local pts = {}
  for _, c in ipairs(d.candidates) do
    local s = c.solution
    if type(s) == "table" and type(s.w) == "number" and type(s.b) == "number" then pts[#pts + 1] = c end
  end
  if #pts == 0 then return "" end
  local W, H, m = 520, 420, { l = 58, r = 16, t = 12, b = 40 }
  local w0, w1, b0, b1 = math.huge, -math.huge, math.huge, -math.huge
  local function extend(w, b)
    w0, w1, b0, b1 = math.min(w0, w), math.max(w1, w), math.min(b0, b), math.max(b1, b)
  end
  for _, c in ipairs(pts) do extend(c.solution.w, c.solution.b) end
  local truth = d.lr_true
  if truth and type(truth.w) == "number" and type(truth.b) == "number" then extend(truth.w, truth.b) else truth = nil end
  local pw, pb = (w1 - w0) * 0.05 + 0.5, (b1 - b0) * 0.05 + 0.5
  w0, w1, b0, b1 = w0 - pw, w1 + pw, b0 - pb, b1 + pb
  local xs, ys = scale(w0, w1, m.l, W - m.r), scale(b0, b1, H - m.b, m.t)
  local out = { string.format('<svg id="lr" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="(w, b) trajectory">', W, H, W, H) }
  axes(out, W, H, m, xs, ys, w0, w1, b0, b1, "w", "b", false)
  local maxstep = 0
  for _, c in ipairs(pts) do maxstep = math.max(maxstep, c.step) end
  for _, c in ipairs(pts) do
    local f = maxstep > 0 and math.max(0, c.step) / maxstep or 0
    local col = string.format("rgb(%d,%d,%d)", math.floor(46 + f * 163), math.floor(107 - f * 35), math.floor(216 - f * 157))
    out[#out + 1] = string.format('<circle class="lr-pt" cx="%s" cy="%s" r="3" fill="%s" fill-opacity=".6"><title>%s</title></circle>',
      f2(xs(c.solution.w)), f2(ys(c.solution.b)), col,
      esc(string.format("step %d: w=%s, b=%s, score %s", c.step, num(c.solution.w), num(c.solution.b), num(c.score))))
  end
  -- best so far, step by step (rep 1, or the only rep)
  local best, path = nil, {}
  local sorted = {}
  for _, c in ipairs(pts) do if type(c.score) == "number" and c.rep == pts[1].rep then sorted[#sorted + 1] = c end end
  for _, c in ipairs(sorted) do
    if best == nil or (d.better == "higher" and c.score > best.score) or (d.better == "lower" and c.score < best.score) then
      best = c
      path[#path + 1] = f2(xs(c.solution.w)) .. "," .. f2(ys(c.solution.b))
    end
  end
  if #path > 0 then
    out[#out + 1] = string.format('<polyline class="bestline" stroke="#d1483b" points="%s"><title>best so far</title></polyline>', table.concat(path, " "))
  end
  if truth then
    out[#out + 1] = string.format('<path d="M%s %s l4 8 h-8 z" fill="#2b9a66" transform="translate(0,-5)"><title>%s</title></path>',
      f2(xs(truth.w)), f2(ys(truth.b)), esc(string.format("true w=%s, b=%s", num(truth.w), num(truth.b))))
  end
  out[#out + 1] = "</svg>"
  return "<h2>Trajectory of (w, b)</h2>\n" .. table.concat(out, "\n")
    .. '<p class="muted">Dots: proposed (w, b), blue (early) to orange (late); red line: best so far'
    .. (truth and "; green: the true (w, b)." or ".") .. "</p>"
end

-- TSP: the best tour over the node coordinates
local function tsp_chart(d)
  local best = d.best
  if not best or type(best.solution) ~= "table" then return "" end
  local coords = d.tsp_coords
  if not coords then
    return '<h2>Best tour</h2><p class="muted">The node coordinates are not stored in the run (config task.coords, or task.x and task.y); tour: '
      .. esc(json.encode(best.solution)) .. "</p>"
  end
  local W, H, m = 520, 520, { l = 20, r = 20, t = 20, b = 20 }
  local x0, x1, y0, y1 = math.huge, -math.huge, math.huge, -math.huge
  for _, p in ipairs(coords) do
    x0, x1, y0, y1 = math.min(x0, p[1]), math.max(x1, p[1]), math.min(y0, p[2]), math.max(y1, p[2])
  end
  local span = math.max(x1 - x0, y1 - y0, 1e-9)
  local xs = scale(x0, x0 + span, m.l, W - m.r)
  local ys = scale(y0, y0 + span, H - m.b, m.t)
  local out = { string.format('<svg id="tsp" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="best tour">', W, H, W, H) }
  local path, bad = {}, false
  for _, node in ipairs(best.solution) do
    local p = math.type(node) == "integer" and coords[node + 1]
    if not p then bad = true break end
    path[#path + 1] = f2(xs(p[1])) .. "," .. f2(ys(p[2]))
  end
  if not bad and #path > 0 then
    out[#out + 1] = string.format('<polygon class="tour" points="%s"/>', table.concat(path, " "))
  end
  for i, p in ipairs(coords) do
    out[#out + 1] = string.format('<circle class="node" cx="%s" cy="%s" r="4" fill="#1d2330"><title>node %d (%s, %s)</title></circle>',
      f2(xs(p[1])), f2(ys(p[2])), i - 1, num(p[1]), num(p[2]))
  end
  out[#out + 1] = "</svg>"
  return "<h2>Best tour</h2>\n" .. table.concat(out, "\n") .. string.format(
    '<p class="muted">%d nodes; length (score) %s; tour %s%s</p>', #coords, esc(num(best.score)),
    esc(json.encode(best.solution)), bad and " (it names nodes without coordinates)" or "")
end

local function cards(list)
  local out = { '<div class="cards">' }
  for _, c in ipairs(list) do
    out[#out + 1] = string.format('<div class="card"><b>%s</b><span class="muted">%s</span></div>', esc(c[2]), esc(c[1]))
  end
  out[#out + 1] = "</div>"
  return table.concat(out)
end

local function candidates_table(d)
  local out = {
    '<input type="search" placeholder="Search instructions…" data-filter="cands" aria-label="search">',
    ' <span class="muted"><span id="cands-count"></span> shown</span>',
    '<table id="cands" class="sortable"><thead><tr><th class="num">rep</th><th class="num">step</th>'
      .. '<th class="num">score</th><th class="num">test</th><th>solution</th></tr></thead><tbody>' }
  local best = d.best
  for _, c in ipairs(d.candidates) do
    local isbest = best and c.key == best.key and c.rep == best.rep
    local text = c.text or ""
    -- an exploration stage's rejection is not a parse error
    local err = c.parse_error and string.format('<div class="err">%s: %s</div>',
      tostring(c.parse_error):find("^rejected before scoring") and "not scored" or "parse error", esc(c.parse_error)) or ""
    out[#out + 1] = string.format(
      '<tr%s><td class="num">%d</td><td class="num">%d</td><td class="num" data-v="%s">%s</td><td class="num" data-v="%s">%s</td><td class="text">%s%s</td></tr>',
      isbest and ' class="best"' or "", c.rep, c.step, c.score and num(c.score, 17) or "", esc(num(c.score)),
      c.test_accuracy and num(c.test_accuracy, 17) or "", esc(num(c.test_accuracy)), esc(text), err)
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out, "\n")
end

local function test_section(d)
  local list = {}
  for _, c in ipairs(d.candidates) do if c.test_accuracy then list[#list + 1] = c end end
  if #list == 0 then return "" end
  table.sort(list, function(a, b)
    if a.test_accuracy ~= b.test_accuracy then return a.test_accuracy > b.test_accuracy end
    return (a.score or -math.huge) > (b.score or -math.huge)
  end)
  local out = { "<h2>Test accuracy of the top instructions</h2>",
    '<table id="test"><thead><tr><th class="num">#</th><th class="num">train</th><th class="num">test</th><th></th><th>instruction</th></tr></thead><tbody>' }
  for i, c in ipairs(list) do
    if i > 20 then break end
    local w = math.floor(math.max(0, math.min(1, c.test_accuracy)) * 120 + 0.5)
    out[#out + 1] = string.format(
      '<tr><td class="num">%d</td><td class="num">%s</td><td class="num">%s <span class="muted">(n=%d)</span></td>'
        .. '<td><svg class="bar" width="122" height="12"><rect width="%d" height="12" fill="#2b9a66"/><rect width="121" height="11" x=".5" y=".5" fill="none" stroke="#d0d5dd"/></svg></td><td class="text">%s</td></tr>',
      i, esc(num(c.score)), esc(num(c.test_accuracy)), c.test_n or 0, w, esc(c.text))
  end
  out[#out + 1] = "</tbody></table>"
  return table.concat(out, "\n")
end

local function calls_section(d)
  local s = d.summary
  local out = { "<h2>Cost and calls</h2>", cards({
    { "calls", num(s.calls) }, { "cache hits", num(s.cached) }, { "failed", num(s.failed) },
    { "retries", num(s.retries) }, { "input tokens", num(s.input_tokens) }, { "output tokens", num(s.output_tokens) },
    { "cost", money(s.cost) }, { "mean latency", s.latency_mean and string.format("%.2f s", s.latency_mean) or "-" } }) }
  if #d.by_model > 0 then
    out[#out + 1] = '<table id="models" class="sortable"><thead><tr><th>provider</th><th>model</th><th class="num">calls</th>'
      .. '<th class="num">cached</th><th class="num">failed</th><th class="num">retries</th><th class="num">input tokens</th>'
      .. '<th class="num">output tokens</th><th class="num">cost</th><th class="num">p50 latency</th><th class="num">p95 latency</th></tr></thead><tbody>'
    for _, m in ipairs(d.by_model) do
      out[#out + 1] = string.format(
        '<tr><td>%s</td><td>%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td><td class="num">%s</td>'
          .. '<td class="num">%s</td><td class="num">%s</td><td class="num" data-v="%s">%s</td><td class="num">%s</td><td class="num">%s</td></tr>',
        esc(m.provider), esc(m.model), num(m.calls), num(m.cached), num(m.failed), num(m.retries),
        num(m.input_tokens), num(m.output_tokens), num(m.cost, 17), money(m.cost),
        m.latency_p50 and string.format("%.2f s", m.latency_p50) or "", m.latency_p95 and string.format("%.2f s", m.latency_p95) or "")
    end
    out[#out + 1] = "</tbody></table>"
  end
  if #d.codes > 0 then
    local parts = {}
    for _, c in ipairs(d.codes) do parts[#parts + 1] = esc(c.code) .. " × " .. c.n end
    out[#out + 1] = '<p class="muted">Failures by code: ' .. table.concat(parts, ", ") .. "</p>"
  end
  return table.concat(out, "\n")
end

-- diversity per step (docs/vectors.md): mean pairwise cosine of each
-- step's new texts (solid) and of the 20 best shown (dashed), a line per rep
local function diversity_chart(d)
  local series, reps, seen = {}, {}, {}
  local x0, x1, y0, y1 = math.huge, -math.huge, 0, 1
  for _, m in ipairs(d.metrics or {}) do
    local v = type(m.metrics) == "table" and m.metrics or {}
    for _, k in ipairs({ "mean_pairwise_cos", "top20_mean_pairwise_cos" }) do
      if type(v[k]) == "number" and math.type(m.step) == "integer" then
        local key = m.rep .. "\0" .. k
        if not series[key] then
          series[key] = { rep = m.rep, name = k, pts = {} }
          if not seen[m.rep] then seen[m.rep] = true; reps[#reps + 1] = m.rep end
        end
        local p = series[key].pts
        p[#p + 1] = { m.step, v[k] }
        x0, x1 = math.min(x0, m.step), math.max(x1, m.step)
        y0, y1 = math.min(y0, v[k]), math.max(y1, v[k])
      end
    end
  end
  if x0 > x1 then return "" end
  table.sort(reps)
  local W, H, m = 760, 220, { l = 58, r = 16, t = 12, b = 40 }
  local xs = scale(x0 - 0.5, x1 + 0.5, m.l, W - m.r)
  local ys = scale(y0, y1, H - m.b, m.t)
  local out = { string.format('<svg id="diversity" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="diversity by step">', W, H, W, H) }
  axes(out, W, H, m, xs, ys, x0 - 0.5, x1 + 0.5, y0, y1, "step", "mean pairwise cosine", true)
  for i, r in ipairs(reps) do
    local color = palette[(i - 1) % #palette + 1]
    for _, k in ipairs({ "mean_pairwise_cos", "top20_mean_pairwise_cos" }) do
      local sr = series[r .. "\0" .. k]
      if sr then
        table.sort(sr.pts, function(a, b) return a[1] < b[1] end)
        local path = {}
        for _, p in ipairs(sr.pts) do path[#path + 1] = f2(xs(p[1])) .. "," .. f2(ys(p[2])) end
        out[#out + 1] = string.format('<polyline class="divline" stroke="%s"%s points="%s"><title>%s</title></polyline>',
          color, k == "mean_pairwise_cos" and "" or ' stroke-dasharray="5 4"', table.concat(path, " "),
          esc(string.format("rep %d: %s", r, k == "mean_pairwise_cos" and "new texts of the step" or "the 20 best so far")))
      end
    end
  end
  out[#out + 1] = "</svg>"
  return "<h2>Diversity by step</h2>\n" .. table.concat(out, "\n")
    .. '<p class="muted">Mean pairwise cosine of the hashed embeddings: solid, the new texts of each step; '
    .. 'dashed, the 20 best texts after it (what the meta-prompt shows). Higher means more alike.</p>'
end

-- per-step metrics (diversity, ...): a table of the numeric ones
local function metrics_section(d)
  if not d.metrics or #d.metrics == 0 then return "" end
  local names, seen = {}, {}
  for _, m in ipairs(d.metrics) do
    for k, v in pairs(m.metrics) do
      if type(v) == "number" and not seen[k] then seen[k] = true; names[#names + 1] = k end
    end
  end
  if #names == 0 then return "" end
  table.sort(names)
  local out = { diversity_chart(d), "<h2>Step metrics</h2>",
    '<div class="scroll"><table id="metrics" class="sortable"><thead><tr><th class="num">rep</th><th class="num">step</th>' }
  -- long metric names may break after their underscores
  for _, k in ipairs(names) do out[#out + 1] = '<th class="num wrap">' .. esc(k):gsub("_", "_<wbr>") .. "</th>" end
  out[#out + 1] = "</tr></thead><tbody>"
  for _, m in ipairs(d.metrics) do
    local row = { string.format('<tr><td class="num">%d</td><td class="num">%d</td>', m.rep, m.step) }
    for _, k in ipairs(names) do row[#row + 1] = '<td class="num">' .. esc(num(m.metrics[k])) .. "</td>" end
    out[#out + 1] = table.concat(row) .. "</tr>"
  end
  out[#out + 1] = "</tbody></table></div>"
  return table.concat(out, "\n")
end

--- The page.
function M.render(d)
  local r, s = d.run, d.summary
  local best = d.best
  local chart, npoints = score_chart(d)
  local body = {
    string.format("<h1>%s</h1>", esc("OPRO run: " .. r.name)),
    string.format('<div class="muted">run %d of %s · %s · task %s · started %s%s</div>', r.id, esc(r.path), esc(r.status),
      esc(d.kind), esc(date(r.started)), r.finished and (" · finished " .. esc(date(r.finished))) or ""),
    cards({ { "steps", num(s.steps) }, { "candidates", num(s.candidates) }, { "scored", num(s.scored) },
            { "best score", best and num(best.score) or "-" }, { "calls", num(s.calls) }, { "cost", money(s.cost) } }),
  }
  if best then
    body[#body + 1] = string.format('<p><b>Best</b> (rep %d, step %d, score %s):</p><pre class="best">%s</pre>', best.rep, best.step,
      esc(num(best.score)), esc(best.text or json.encode(best.solution)))
  end
  body[#body + 1] = string.format('<h2>%s by step</h2>', d.kind == "instruction" and "Training accuracy" or "Score")
  body[#body + 1] = chart
  body[#body + 1] = string.format(
    '<p class="muted"><span id="chart-count">%d</span> scored candidates, one dot each; line: best so far (%s is better).%s</p>',
    npoints, d.better, s.candidates > npoints and string.format(" Candidates without a score (%d) are listed below only.", s.candidates - npoints) or "")
  if d.kind == "linear_regression" then body[#body + 1] = lr_chart(d) end
  if d.kind == "tsp" then body[#body + 1] = tsp_chart(d) end
  body[#body + 1] = test_section(d)
  body[#body + 1] = metrics_section(d)
  body[#body + 1] = "<h2>Candidates</h2>"
  body[#body + 1] = candidates_table(d)
  body[#body + 1] = calls_section(d)
  body[#body + 1] = "<h2>Configuration</h2>"
  body[#body + 1] = string.format("<p>seed %s</p>", esc(r.seed ~= nil and tostring(r.seed) or "none"))
  body[#body + 1] = "<pre>" .. esc(pretty(r.config or {})) .. "</pre>"
  if r.versions then body[#body + 1] = '<p class="muted">versions: ' .. esc(json.encode(r.versions)) .. "</p>" end
  if r.script then
    body[#body + 1] = "<details><summary>script</summary><pre>" .. esc(r.script) .. "</pre></details>"
  end
  return table.concat({
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
    "<title>" .. esc("OPRO report: " .. r.name) .. "</title>",
    "<style>" .. assets.css .. "</style></head><body>",
    table.concat(body, "\n"),
    '<p class="muted">Generated by opro-lua.</p>',
    "<script>" .. assets.js .. "</script>",
    "</body></html>", "" }, "\n")
end

return M
