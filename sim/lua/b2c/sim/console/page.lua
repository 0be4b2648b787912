-- The console's page: one HTML document with its CSS and JS inline (no
-- external file, no CDN). It polls /state every POLL_MS, updates the
-- tables row by row (a button keeps its place while the page updates) and
-- draws the charts as inline SVG.
local M = {}

M.HTML = [==[<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>b2c-sim console</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #ddd; white-space: nowrap; }
td.num { text-align: right; }
.completed, .delivered { color: #176e2c; } .failed { color: #a31515; } .pending { color: #8a6100; }
#summary span { margin-right: 1.5em; }
#message { min-height: 1.4em; color: #1a4f8b; }
.charts { display: flex; gap: 1.5em; flex-wrap: wrap; }
.charts figure { margin: 0; } figcaption { font-size: .9em; color: #555; }
svg text { font: 10px system-ui, sans-serif; fill: #444; }
button { font-size: 12px; }
fieldset { display: inline-block; border: 1px solid #ccc; margin-right: 1em; }
</style>
</head>
<body>
<h1>b2c-sim console</h1>
<div id="summary"></div>
<div id="message" role="status"></div>

<fieldset><legend>Gateway</legend>
<button data-action="drop-next">drop the next request</button>
<button data-action="revoke-tokens">revoke the token</button>
</fieldset>
<fieldset><legend>Arm a fault</legend>
<input id="fault-spec" value="spike" size="14" aria-label="fault spec">
count <input id="fault-count" value="1" size="3" aria-label="fault count">
<button data-action="fault">arm a fault</button>
</fieldset>
<div id="faults"></div>

<h2>Charts</h2>
<div class="charts">
<figure><svg id="chart-rate" width="360" height="140"></svg><figcaption>payouts per second</figcaption></figure>
<figure><svg id="chart-latency" width="360" height="140"></svg>
<figcaption>answer latency, ms (mean; longest dotted)</figcaption></figure>
<figure><svg id="chart-outcomes" width="300" height="140"></svg><figcaption>outcomes by class</figcaption></figure>
</div>

<section id="ledger" hidden>
<h2>Ledger: payouts by state</h2>
<div id="ledger-url"></div>
<table id="ledger-states"><thead><tr><th>state</th><th>payouts</th></tr></thead><tbody></tbody></table>
<h2>Ledger: newest payouts</h2>
<table id="ledger-rows"><thead><tr><th>id</th><th>reference</th><th>OCID</th><th>recipient</th>
<th>amount</th><th>state</th><th>attention</th></tr></thead><tbody></tbody></table>
</section>

<h2>Payouts</h2>
<table id="payouts"><thead><tr><th>OCID</th><th>operation</th><th>recipient</th><th>amount</th>
<th>scenario</th><th>state</th><th>code</th><th>receipt</th><th>actions</th></tr></thead><tbody></tbody></table>

<h2>Callbacks</h2>
<table id="callbacks"><thead><tr><th>#</th><th>kind</th><th>OCID</th><th>URL</th><th>status</th>
<th>attempts</th><th>actions</th></tr></thead><tbody></tbody></table>

<script>
"use strict";
var POLL_MS = 500;
var SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  var e = document.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function show(text) { document.getElementById("message").textContent = text; }

function act(action, body) {
  return fetch("/sim/" + action, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}) })
    .then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
    .then(function (a) {
      var j = a[1];
      show(a[0] === 200 ? action + ": done" + (j.callback ? " (callback #" + j.callback + ")" : "")
        : action + ": " + (j.errorMessage || ("HTTP " + a[0])));
      poll();
    })
    .catch(function (e) { show(action + ": " + e); });
}

document.body.addEventListener("click", function (ev) {
  var b = ev.target.closest("button[data-action]");
  if (!b) return;
  var a = b.dataset.action;
  if (a === "drop-next") act("fault", { spec: "drop", count: 1 });
  else if (a === "fault") {
    var body = { spec: document.getElementById("fault-spec").value };
    var n = parseInt(document.getElementById("fault-count").value, 10);
    if (n > 0) body.count = n;
    act("fault", body);
  }
  else if (a === "revoke-tokens") act("revoke-tokens");
  else if (a === "redeliver") act("redeliver", { id: Number(b.dataset.id) });
  else act(a, { ocid: b.dataset.ocid });
});

// One row per key, kept across polls: its cells change, its buttons stay.
function upsert(tbody, key, attr, cells, buttons, cls) {
  var row = tbody.querySelector("tr[" + attr + "=\"" + CSS.escape(key) + "\"]");
  if (!row) {
    row = el("tr");
    row.setAttribute(attr, key);
    for (var i = 0; i < cells.length; i++) row.appendChild(el("td"));
    var actions = el("td");
    buttons.forEach(function (b) {
      var btn = el("button", { "data-action": b[0] }, b[1]);
      btn.dataset[b[2]] = key;
      actions.appendChild(btn);
    });
    row.appendChild(actions);
    tbody.insertBefore(row, tbody.firstChild);
  }
  cells.forEach(function (c, i) {
    var td = row.children[i];
    if (td.textContent !== String(c)) td.textContent = c;
  });
  row.className = cls || "";
}

function trim(tbody, keep) {
  while (tbody.children.length > keep) tbody.removeChild(tbody.lastChild);
}

function draw(svg, build) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  build(function (tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  }, Number(svg.getAttribute("width")), Number(svg.getAttribute("height")));
}

// Lines over time (the x axis is the series' seconds).
function lines(svg, series, keys, styles) {
  draw(svg, function (add, w, h) {
    var top = 0;
    series.forEach(function (s) { keys.forEach(function (k) { top = Math.max(top, s[k]); }); });
    top = top > 0 ? top : 1;
    var left = 40, bottom = h - 18, n = Math.max(series.length - 1, 1);
    add("line", { x1: left, y1: 4, x2: left, y2: bottom, stroke: "#999" });
    add("line", { x1: left, y1: bottom, x2: w - 4, y2: bottom, stroke: "#999" });
    add("text", { x: 2, y: 12 }, top < 10 ? top.toFixed(1) : Math.round(top));
    add("text", { x: 2, y: bottom }, "0");
    add("text", { x: left, y: h - 4 }, series.length + " s");
    keys.forEach(function (k, j) {
      var pts = series.map(function (s, i) {
        return (left + (w - 8 - left) * i / n).toFixed(1) + "," + (bottom - (bottom - 6) * s[k] / top).toFixed(1);
      });
      if (pts.length === 1) pts.push(left + (w - 8 - left) + "," + pts[0].split(",")[1]);
      add("polyline", Object.assign({ points: pts.join(" "), fill: "none" }, styles[j]));
    });
  });
}

function bars(svg, counts) {
  draw(svg, function (add, w, h) {
    var names = Object.keys(counts), top = 1;
    names.forEach(function (k) { top = Math.max(top, counts[k]); });
    var rowH = (h - 8) / names.length;
    var colors = { completed: "#2e8b57", failed: "#c0392b", refused: "#d68910", dropped: "#7f8c8d" };
    names.forEach(function (k, i) {
      var y = 4 + i * rowH, bw = (w - 150) * counts[k] / top;
      add("text", { x: 2, y: y + rowH / 2 + 4 }, k);
      add("rect", { x: 70, y: y + 3, width: Math.max(bw, 0.5), height: rowH - 6, fill: colors[k] || "#555" });
      add("text", { x: 74 + bw, y: y + rowH / 2 + 4 }, counts[k]);
    });
  });
}

function render(s) {
  var sum = document.getElementById("summary");
  sum.textContent = "";
  [["gateway", s.gateway], ["payouts", s.payoutsTotal], ["tokens issued", s.tokensIssued],
   ["tokens valid", s.tokensValid], ["callbacks", s.callbacksTotal],
   ["delivered", s.callbacksDelivered], ["failed", s.callbacksFailed]].forEach(function (p) {
    sum.appendChild(el("span", { "data-field": p[0] }, p[0] + ": " + p[1]));
  });
  document.getElementById("faults").textContent = "faults armed: " + (s.faults.length ? s.faults.map(function (f) {
    return f.spec + (f.count ? " x" + f.count : "") + (f.path ? " on " + f.path : "");
  }).join(", ") : "none");

  var pb = document.querySelector("#payouts tbody");
  s.payouts.slice().reverse().forEach(function (p) {
    upsert(pb, p.ocid, "data-ocid", [p.ocid, p.api, p.recipient, p.amount, p.scenario, p.state, p.resultCode,
      p.receipt || ""], [["deliver", "deliver the result now", "ocid"],
      ["queue-timeout", "send a queue timeout", "ocid"]], p.state);
  });
  trim(pb, s.payouts.length);
  var cb = document.querySelector("#callbacks tbody");
  s.callbacks.slice().reverse().forEach(function (c) {
    var status = c.pending ? (c.attempts ? "sending" : "waiting") : c.delivered ? "delivered HTTP " + c.status
      : "failed " + (c.status ? "HTTP " + c.status : (c.error || ""));
    upsert(cb, String(c.id), "data-id", [c.id + (c.redelivery ? " (again #" + c.redelivery + ")" : ""), c.kind,
      c.ocid, c.url, status, c.attempts], [["redeliver", "redeliver", "id"]],
      c.pending ? "pending" : c.delivered ? "delivered" : "failed");
  });
  trim(cb, s.callbacks.length);

  lines(document.getElementById("chart-rate"), s.series, ["payouts"], [{ stroke: "#1a4f8b", "stroke-width": 2 }]);
  lines(document.getElementById("chart-latency"), s.series, ["meanMs", "maxMs"],
    [{ stroke: "#2e8b57", "stroke-width": 2 }, { stroke: "#c0392b", "stroke-dasharray": "3,3" }]);
  bars(document.getElementById("chart-outcomes"), s.outcomes);

  var lg = document.getElementById("ledger");
  lg.hidden = !s.ledger;
  if (s.ledger) {
    document.getElementById("ledger-url").textContent = s.ledger.error ? "ledger: " + s.ledger.error
      : s.ledger.url + ": " + s.ledger.total + " payouts, " + s.ledger.attention + " need attention";
    var st = document.querySelector("#ledger-states tbody");
    st.textContent = "";
    Object.keys(s.ledger.byState || {}).sort().forEach(function (k) {
      var tr = el("tr", { "data-state": k });
      tr.appendChild(el("td", {}, k));
      tr.appendChild(el("td", { "class": "num" }, s.ledger.byState[k]));
      st.appendChild(tr);
    });
    var lr = document.querySelector("#ledger-rows tbody");
    lr.textContent = "";
    (s.ledger.newest || []).forEach(function (r) {
      var tr = el("tr");
      [r.id, r.reference, r.ocid, r.recipient, r.amount, r.state, r.attention || ""].forEach(function (v) {
        tr.appendChild(el("td", {}, v === undefined || v === null ? "" : v));
      });
      lr.appendChild(tr);
    });
  }
}

var busy = false;
function poll() {
  if (busy) return;
  busy = true;
  fetch("/state", { cache: "no-store" }).then(function (r) { return r.json(); })
    .then(function (s) { render(s); document.body.dataset.polls = (Number(document.body.dataset.polls) || 0) + 1; })
    .catch(function (e) { show("cannot reach the simulator: " + e); })
    .then(function () { busy = false; });
}
poll();
setInterval(poll, POLL_MS);
</script>
</body>
</html>
]==]

return M
