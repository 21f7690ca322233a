--- opro.report.assets: the report's inline CSS and JavaScript. The script
-- only sorts and filters rows that the server side rendered (every text
-- already HTML-escaped); it never builds markup from text.
local M = {}

M.css = [[
:root { --fg:#1d2330; --muted:#667085; --line:#d0d5dd; --bg:#fff; --accent:#2e6bd8; --best:#d1483b; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg);
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 18px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.wrap { white-space: normal; }
td.text { white-space: pre-wrap; word-break: break-word; }
.scroll { overflow-x: auto; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-dir="asc"]::after { content: " \25B2"; }
table.sortable th[data-dir="desc"]::after { content: " \25BC"; }
tr.best td { background: #fff4e5; }
td.err { color: var(--best); }
input[type=search] { width: 100%; max-width: 420px; padding: 6px 8px; margin: 4px 0 8px; border: 1px solid var(--line); border-radius: 4px; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 4px; padding: 10px; overflow: auto; max-height: 420px; }
pre.best { white-space: pre-wrap; word-break: break-word; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .axis { stroke: #98a2b3; }
svg .grid { stroke: #eaecf0; }
svg .bestline { fill: none; stroke-width: 2; }
svg .divline { fill: none; stroke-width: 1.5; }
svg .pt { fill-opacity: .55; }
svg .tour { fill: none; stroke: var(--accent); stroke-width: 2; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
]]

M.js = [[
(function () {
  "use strict";
  function cellValue(row, i) {
    var c = row.cells[i];
    if (!c) return "";
    var v = c.getAttribute("data-v");
    return v === null ? c.textContent : v;
  }
  function sortBy(table, th, i, forced) {
    var dir = forced || (th.getAttribute("data-dir") === "asc" ? "desc" : "asc");
    var ths = table.tHead.rows[0].cells;
    for (var k = 0; k < ths.length; k++) ths[k].removeAttribute("data-dir");
    th.setAttribute("data-dir", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = th.classList.contains("num");
    rows.sort(function (a, b) {
      var x = cellValue(a, i), y = cellValue(b, i), r;
      if (numeric) {
        var fx = x === "" ? -Infinity : parseFloat(x), fy = y === "" ? -Infinity : parseFloat(y);
        r = fx - fy;
      } else {
        r = x.localeCompare(y);
      }
      return dir === "asc" ? r : -r;
    });
    for (var j = 0; j < rows.length; j++) body.appendChild(rows[j]);
  }
  function setup() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        th.addEventListener("click", function () { sortBy(table, th, i); });
      });
    });
    var inputs = document.querySelectorAll("input[data-filter]");
    Array.prototype.forEach.call(inputs, function (input) {
      var table = document.getElementById(input.getAttribute("data-filter"));
      var count = document.getElementById(input.getAttribute("data-filter") + "-count");
      function apply() {
        var q = input.value.toLowerCase(), shown = 0;
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          var hit = q === "" || row.textContent.toLowerCase().indexOf(q) >= 0;
          row.hidden = !hit;
          if (hit) shown++;
        });
        if (count) count.textContent = String(shown);
      }
      input.addEventListener("input", apply);
      apply();
    });
    // a link may carry a view of the candidates: #q=TEXT&sort=COLUMN&dir=asc|desc
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var at = kv.indexOf("=");
      if (at <= 0) return;
      var v = kv.slice(at + 1).replace(/\+/g, " ");
      try { v = decodeURIComponent(v); } catch (e) { /* keep it raw */ }
      params[kv.slice(0, at)] = v;
    });
    var cands = document.getElementById("cands");
    if (cands && params.sort) {
      var ths = cands.tHead.rows[0].cells;
      for (var k = 0; k < ths.length; k++) {
        if (ths[k].textContent === params.sort) sortBy(cands, ths[k], k, params.dir === "asc" ? "asc" : "desc");
      }
    }
    var search = document.querySelector('input[data-filter="cands"]');
    if (search && params.q) { search.value = params.q; search.dispatchEvent(new Event("input")); }
    var n = document.querySelectorAll("#chart circle.pt").length;
    var out = document.getElementById("chart-count");
    if (out) out.textContent = String(n);
    document.body.setAttribute("data-ready", "1");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
]]

return M
