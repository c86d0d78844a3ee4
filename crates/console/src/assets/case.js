// tripoint console: the case graph. Draws the tainted transfers of a case
// (graph.json from the server) with the embedded Cytoscape.js, left to right
// by hops from the seeds; expands a node on click, collapses, filters by time
// window, asset and minimum amount, selects by degree, finds the path
// between two addresses, shows the address panel, exports PNG and SVG.
// Amounts stay exact: filters compare base units as BigInt.
"use strict";
(function () {
  var host = document.getElementById("case-graph");
  if (!host || typeof cytoscape !== "function") { return; }
  var T = JSON.parse(host.getAttribute("data-t") || "{}");
  var status = document.getElementById("graph-status");
  var panel = document.getElementById("address-panel");
  var data, byId = {}, outEdges = {}, inEdges = {};
  var shown = {};      // node id -> true when on the canvas
  var cy;

  function text(tag, s, cls) {
    var e = document.createElement(tag);
    if (s !== undefined) { e.textContent = s; }
    if (cls) { e.className = cls; }
    return e;
  }

  function short(a) { return a.length > 14 ? a.slice(0, 8) + "…" + a.slice(-4) : a; }

  function nodeLabel(n) {
    var l = n.labels && n.labels.length ? n.labels[0].label : "";
    return l ? l + "\n" + short(n.id) : short(n.id);
  }

  // "12.5" whole units -> base units (BigInt) with `decimals` places.
  function toBase(s, decimals) {
    s = String(s).trim().replace(/,/g, "");
    if (!/^\d*(\.\d*)?$/.test(s) || s === "" || s === ".") { return null; }
    var parts = s.split(".");
    var frac = (parts[1] || "").slice(0, decimals);
    while (frac.length < decimals) { frac += "0"; }
    return BigInt(parts[0] || "0") * (BigInt(10) ** BigInt(decimals)) + BigInt(frac || "0");
  }

  function localTime(input) {
    if (!input.value) { return null; }
    // datetime-local is read as UTC, like every time the console shows.
    var t = Date.parse(input.value + (input.value.length === 16 ? ":00Z" : "Z"));
    return isNaN(t) ? null : t / 1000;
  }

  // The filters as a predicate on edges.
  function edgeFilter() {
    var from = localTime(document.getElementById("f-from"));
    var to = localTime(document.getElementById("f-to"));
    var asset = document.getElementById("f-asset").value;
    var minText = document.getElementById("f-min").value;
    return function (e) {
      if (from !== null && e.time < from) { return false; }
      if (to !== null && e.time > to) { return false; }
      if (asset && e.asset !== asset) { return false; }
      if (minText) {
        var min = toBase(minText, e.decimals || 0);
        if (min !== null && BigInt(e.amount) < min) { return false; }
      }
      return true;
    };
  }

  // Left-to-right layers by hops; within a layer, ordered by the mean
  // position of the visible predecessors (fewer crossings).
  function layout() {
    var layers = {};
    cy.nodes(":visible").forEach(function (n) {
      var h = n.data("hops") || 0;
      (layers[h] = layers[h] || []).push(n);
    });
    var y = {};
    // A tall layer wraps into several sub-columns of its band, so wide
    // fan-outs stay readable; bands still go left to right by hops.
    var PER_COLUMN = 12, ROW = 70, COLUMN = 150, GAP = 260;
    var x0 = 0;
    Object.keys(layers).map(Number).sort(function (a, b) { return a - b; }).forEach(function (h) {
      var layer = layers[h];
      layer.forEach(function (n) {
        var ys = n.incomers("node:visible").map(function (p) { return y[p.id()]; }).filter(function (v) { return v !== undefined; });
        n.scratch("_k", ys.length ? ys.reduce(function (a, b) { return a + b; }, 0) / ys.length : 0);
      });
      layer.sort(function (a, b) { return a.scratch("_k") - b.scratch("_k") || (a.id() < b.id() ? -1 : 1); });
      var cols = Math.ceil(layer.length / PER_COLUMN);
      var rows = Math.min(layer.length, PER_COLUMN);
      layer.forEach(function (n, i) {
        var col = Math.floor(i / rows), row = i % rows;
        y[n.id()] = (row - (rows - 1) / 2) * ROW + (col % 2) * ROW / 2;
        n.position({ x: x0 + col * COLUMN, y: y[n.id()] });
      });
      x0 += (cols - 1) * COLUMN + GAP;
    });
    cy.fit(cy.elements(":visible"), 30);
  }

  // Show the nodes in `shown` and the edges between them that pass the filters.
  function render() {
    var keep = edgeFilter();
    cy.batch(function () {
      var connected = {};
      cy.edges().forEach(function (e) {
        var d = e.data("raw");
        var vis = shown[d.source] && shown[d.target] && keep(d);
        e.style("display", vis ? "element" : "none");
        if (vis) { connected[d.source] = true; connected[d.target] = true; }
      });
      cy.nodes().forEach(function (n) {
        var d = byId[n.id()];
        var vis = shown[n.id()] && (d.seed || connected[n.id()]);
        n.style("display", vis ? "element" : "none");
      });
    });
    layout();
    var count = cy.nodes(":visible").length;
    host.setAttribute("data-nodes", String(count));
    host.setAttribute("data-edges", String(cy.edges(":visible").length));
    status.textContent = count + " / " + data.nodes.length + " " + (T.shown || "");
  }

  function expand(id) {
    (outEdges[id] || []).forEach(function (e) { shown[e.target] = true; });
  }

  // Hide what `id` paid (never seeds), then what is left with no visible payer.
  function collapse(id) {
    var hidden = {};
    var direct = {};
    (outEdges[id] || []).forEach(function (e) { direct[e.target] = true; });
    var queue = Object.keys(direct);
    while (queue.length) {
      var m = queue.shift();
      if (hidden[m] || !shown[m] || byId[m].seed || m === id) { continue; }
      var other = !direct[m] && (inEdges[m] || []).some(function (e) {
        return shown[e.source] && !hidden[e.source];
      });
      if (other) { continue; }
      hidden[m] = true;
      (outEdges[m] || []).forEach(function (e) { queue.push(e.target); });
    }
    Object.keys(hidden).forEach(function (m) { delete shown[m]; });
  }

  function row(dl, k, v) {
    dl.appendChild(text("dt", k));
    dl.appendChild(text("dd", v));
  }

  function amounts(m) {
    var ks = Object.keys(m || {});
    return ks.length ? ks.map(function (k) { return m[k]; }).join("; ") : "—";
  }

  function showPanel(id) {
    var n = byId[id];
    panel.textContent = "";
    panel.appendChild(text("h3", T.address || "Address")).id = "panel-title";
    var code = text("p"); code.appendChild(text("code", n.id)); panel.appendChild(code);
    var dl = text("dl", undefined, "fields");
    row(dl, T.labels, n.labels.length ? n.labels.map(function (l) { return l.label + " (" + l.category + ")"; }).join("; ") : "—");
    var actors = n.labels.map(function (l) { return l.actor; }).filter(Boolean);
    row(dl, T.actor, actors.length ? actors.join(", ") : "—");
    row(dl, T.jurisdiction, n.jurisdictions.length ? n.jurisdictions.join(", ") : "—");
    row(dl, T.partner, n.partner || "—");
    row(dl, T.role, n.role + (n.freeze ? " · " + T.freeze : ""));
    row(dl, T.hops, String(n.hops));
    row(dl, T.tainted, amounts(n.taint));
    row(dl, T.held, amounts(n.held));
    row(dl, T.balance, amounts(n.balance));
    row(dl, T.exposure, amounts(n.exposure));
    row(dl, T.first, n.first_tainted || "—");
    panel.appendChild(dl);
    panel.setAttribute("data-address", n.id);
  }

  // Breadth-first over all tainted transfers (not only the visible ones).
  function findPath(from, to) {
    var prev = {}; prev[from] = null;
    var queue = [from];
    while (queue.length) {
      var a = queue.shift();
      if (a === to) { break; }
      (outEdges[a] || []).forEach(function (e) {
        if (!(e.target in prev)) { prev[e.target] = e; queue.push(e.target); }
      });
    }
    if (!(to in prev)) { return null; }
    var hops = [];
    for (var at = to; prev[at]; at = prev[at].source) { hops.unshift(prev[at]); }
    return hops;
  }

  function download(name, blob) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;" }[c]; });
  }

  // The visible graph as a standalone SVG document.
  function toSvg() {
    var bb = cy.elements(":visible").boundingBox();
    var pad = 40, w = bb.w + 2 * pad, h = bb.h + 2 * pad;
    var X = function (x) { return (x - bb.x1 + pad).toFixed(1); };
    var Y = function (y) { return (y - bb.y1 + pad).toFixed(1); };
    var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + w.toFixed(0) + " " + h.toFixed(0) + "\" font-family=\"sans-serif\" font-size=\"10\">",
      "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#555\"/></marker></defs>",
      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"];
    cy.edges(":visible").forEach(function (e) {
      var s = e.source().position(), t = e.target().position(), d = e.data("raw");
      out.push("<line x1=\"" + X(s.x) + "\" y1=\"" + Y(s.y) + "\" x2=\"" + X(t.x) + "\" y2=\"" + Y(t.y) + "\" stroke=\"#555\" marker-end=\"url(#arrow)\"><title>" + esc(d.shown + " " + d.tx) + "</title></line>");
    });
    cy.nodes(":visible").forEach(function (n) {
      var p = n.position(), d = byId[n.id()];
      var fill = d.seed ? "#b3261e" : d.freeze ? "#0b4f8a" : d.endpoint ? "#2e7d32" : "#777";
      out.push("<g><circle cx=\"" + X(p.x) + "\" cy=\"" + Y(p.y) + "\" r=\"12\" fill=\"" + fill + "\"/>");
      nodeLabel(d).split("\n").forEach(function (line, i) {
        out.push("<text x=\"" + X(p.x) + "\" y=\"" + (Number(Y(p.y)) + 24 + 11 * i).toFixed(1) + "\" text-anchor=\"middle\">" + esc(line) + "</text>");
      });
      out.push("<title>" + esc(d.id) + "</title></g>");
    });
    out.push("</svg>");
    return out.join("\n");
  }

  function fillSelects() {
    var assets = document.getElementById("f-asset");
    Object.keys(data.assets).forEach(function (k) {
      var o = text("option", data.assets[k].symbol || k); o.value = k; assets.appendChild(o);
    });
    ["path-from", "path-to"].forEach(function (sid, i) {
      var sel = document.getElementById(sid);
      var nodes = data.nodes.slice().sort(function (a, b) { return (b.seed - a.seed) || (b.endpoint - a.endpoint) || a.hops - b.hops; });
      nodes.forEach(function (n) {
        var o = text("option", (n.labels.length ? n.labels[0].label + " — " : "") + n.id);
        o.value = n.id; sel.appendChild(o);
      });
      if (i === 1) {
        var ep = nodes.find(function (n) { return n.freeze; }) || nodes.find(function (n) { return n.endpoint; });
        if (ep) { sel.value = ep.id; }
      }
    });
  }

  function start(d) {
    data = d;
    data.nodes.forEach(function (n) { byId[n.id] = n; outEdges[n.id] = []; inEdges[n.id] = []; });
    data.edges = data.edges.filter(function (e) { return byId[e.source] && byId[e.target]; });
    data.edges.forEach(function (e) { outEdges[e.source].push(e); inEdges[e.target].push(e); });
    var elements = data.nodes.map(function (n) {
      return { group: "nodes", data: { id: n.id, label: nodeLabel(n), hops: n.hops }, classes: (n.seed ? "seed " : "") + (n.freeze ? "freeze " : "") + (n.endpoint ? "endpoint" : "") };
    }).concat(data.edges.map(function (e) {
      return { group: "edges", data: { id: e.id, source: e.source, target: e.target, label: e.shown, raw: e } };
    }));
    cy = cytoscape({
      container: host,
      elements: elements,
      layout: { name: "preset" },
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 4,
      style: [
        { selector: "node", style: { "label": "data(label)", "text-wrap": "wrap", "font-size": 9, "text-valign": "bottom", "text-margin-y": 3, "background-color": "#777", "width": 22, "height": 22 } },
        { selector: "node.endpoint", style: { "background-color": "#2e7d32", "shape": "round-rectangle" } },
        { selector: "node.freeze", style: { "background-color": "#0b4f8a", "shape": "round-rectangle", "border-width": 3, "border-color": "#ffc000" } },
        { selector: "node.seed", style: { "background-color": "#b3261e", "shape": "diamond", "width": 28, "height": 28 } },
        { selector: "node:selected", style: { "border-width": 4, "border-color": "#ff00aa" } },
        { selector: "edge", style: { "width": 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#888", "target-arrow-color": "#888", "label": "data(label)", "font-size": 7, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
        { selector: ".path", style: { "line-color": "#ff00aa", "target-arrow-color": "#ff00aa", "width": 4, "border-width": 4, "border-color": "#ff00aa" } }
      ]
    });
    // Start with the seeds and what they paid directly; everything when small.
    data.nodes.forEach(function (n) { if (n.hops <= 1 || data.nodes.length <= 40) { shown[n.id] = true; } });
    cy.on("tap", "node", function (ev) {
      var id = ev.target.id();
      showPanel(id);
      expand(id);
      render();
    });
    document.getElementById("graph-filters").addEventListener("submit", function (ev) { ev.preventDefault(); render(); });
    document.getElementById("g-expand-all").addEventListener("click", function () {
      data.nodes.forEach(function (n) { shown[n.id] = true; });
      render();
    });
    document.getElementById("g-collapse").addEventListener("click", function () {
      cy.nodes(":selected").forEach(function (n) { collapse(n.id()); });
      render();
    });
    document.getElementById("g-select-degree").addEventListener("click", function () {
      var k = parseInt(document.getElementById("g-degree").value, 10) || 1;
      cy.nodes().unselect();
      var sel = cy.nodes(":visible").filter(function (n) { return n.degree(false) >= k; });
      sel.select();
      host.setAttribute("data-selected", String(sel.length));
      status.textContent = sel.length + " ≥ " + k;
    });
    document.getElementById("g-png").addEventListener("click", function () {
      download(host.getAttribute("data-case") + ".png", cy.png({ output: "blob", bg: "#ffffff", full: true, scale: 2 }));
    });
    document.getElementById("g-svg").addEventListener("click", function () {
      download(host.getAttribute("data-case") + ".svg", new Blob([toSvg()], { type: "image/svg+xml" }));
    });
    document.getElementById("path-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var from = document.getElementById("path-from").value, to = document.getElementById("path-to").value;
      var list = document.getElementById("path-result");
      list.textContent = "";
      cy.elements().removeClass("path");
      var hops = findPath(from, to);
      if (!hops) { list.appendChild(text("li", T.nopath)); list.setAttribute("data-hops", "0"); return; }
      shown[from] = true;
      hops.forEach(function (e) {
        shown[e.target] = true;
        cy.getElementById(e.id).addClass("path");
        cy.getElementById(e.source).addClass("path");
        cy.getElementById(e.target).addClass("path");
        list.appendChild(text("li", short(e.source) + " → " + short(e.target) + ": " + e.shown + " (" + new Date(e.time * 1000).toISOString().replace(".000Z", "Z") + ", " + short(e.tx) + ")"));
      });
      list.setAttribute("data-hops", String(hops.length));
      render();
    });
    fillSelects();
    // Opened from an alert: show and highlight the alerting transfer.
    var tx = new URLSearchParams(window.location.search).get("tx");
    var focus = tx ? data.edges.filter(function (e) { return e.tx === tx; }) : [];
    focus.forEach(function (e) {
      shown[e.source] = true; shown[e.target] = true;
      cy.getElementById(e.id).addClass("path");
      cy.getElementById(e.target).addClass("path");
    });
    if (focus.length) {
      showPanel(focus[0].target);
      host.setAttribute("data-focus", tx);
    }
    render();
    window.tripointCase = { cy: cy, render: render };
  }

  fetch(host.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(start)
    .catch(function (e) { status.textContent = String(e); host.setAttribute("data-nodes", "error"); });
})();
