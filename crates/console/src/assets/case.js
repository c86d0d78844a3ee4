// tripoint console: the case graph. Draws the tainted transfers of a case
// (graph.json from the server) with the embedded Cytoscape.js, left to right
// by hops from the seeds; expands a node on click, collapses, filters by time
// window, asset and minimum amount, selects by degree, finds the path
// between two addresses, shows the address panel, exports PNG and SVG.
// Addresses of one cluster (the server's `cluster`: one actor, or an
// exchange with its deposit addresses) sit in a compound node; a collapsed
// cluster is one node standing for all of them, its transfers merged.
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
  var clusters = {};   // cluster id -> {id, name, basis, members: [address]}
  var collapsed = {};  // cluster id -> true when drawn as one node
  var pathIds = {};    // element id -> true when on the highlighted path
  var cy, styledLarge = false;

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

  // Left to right in columns by hops; a cluster's addresses form one unit
  // (one compound box) in one column, moved right of every unit that pays
  // it. Within a column, units are ordered by the mean height of their
  // visible payers (fewer crossings); a tall column wraps into sub-columns.
  // Works on plain data (`nodes`: drawn nodes {id, hops, unit}; `edges`:
  // drawn edges {source, target}) and returns positions: asking Cytoscape's
  // selectors for thousands of elements is what made a large graph slow.
  function layout(nodes, edges, aspect) {
    var units = {}, unitOf = {}, hopsOf = {}, payers = {};
    nodes.forEach(function (n) {
      unitOf[n.id] = n.unit;
      hopsOf[n.id] = n.hops;
      payers[n.id] = [];
      if (!units[n.unit]) { units[n.unit] = { id: n.unit, nodes: [], col: n.hops }; }
      units[n.unit].nodes.push(n);
      units[n.unit].col = Math.min(units[n.unit].col, n.hops);
    });
    edges.forEach(function (e) { if (payers[e.target]) { payers[e.target].push(e.source); } });
    // Longest-path relaxation over edges that go to a larger hop count
    // (bounded: clusters paying each other can form a cycle).
    var forward = edges.filter(function (e) {
      return unitOf[e.source] !== unitOf[e.target] && hopsOf[e.source] < hopsOf[e.target];
    });
    for (var round = 0, changed = true; changed && round < 50; round++) {
      changed = false;
      forward.forEach(function (e) {
        var su = units[unitOf[e.source]], tu = units[unitOf[e.target]];
        if (tu.col <= su.col) { tu.col = su.col + 1; changed = true; }
      });
    }
    var layers = {};
    Object.keys(units).forEach(function (k) {
      var u = units[k];
      u.nodes.sort(function (a, b) { return (a.hops - b.hops) || (a.id < b.id ? -1 : 1); });
      (layers[u.col] = layers[u.col] || []).push(u);
    });
    var y = {}, pos = {};
    var ROW = 70, COLUMN = 150, GAP = 260, BOX = 40;
    // Rows per sub-column: at least 12, more for a large graph, so that the
    // whole drawing has about the canvas's proportions (w/h = aspect) and
    // a fitted view of thousands of addresses is not a thin strip:
    // (n / r * COLUMN + columns * GAP) / (r * ROW) = aspect, solved for r.
    var columns = Object.keys(layers).length, a = aspect * ROW, b = columns * GAP;
    var PER_COLUMN = Math.max(12, Math.round((b + Math.sqrt(b * b + 4 * a * nodes.length * COLUMN)) / (2 * a)));
    var x0 = 0;
    Object.keys(layers).map(Number).sort(function (a, b) { return a - b; }).forEach(function (col) {
      var layer = layers[col];
      layer.forEach(function (u) {
        var sum = 0, count = 0;
        u.nodes.forEach(function (n) {
          payers[n.id].forEach(function (p) {
            if (unitOf[p] !== u.id && y[p] !== undefined) { sum += y[p]; count += 1; }
          });
        });
        u.k = count ? sum / count : 0;
      });
      layer.sort(function (a, b) { return a.k - b.k || (a.id < b.id ? -1 : 1); });
      // Fill sub-columns of at most PER_COLUMN rows; a unit stays in one
      // sub-column unless it alone is taller.
      var subs = [[]], rows = 0;
      layer.forEach(function (u) {
        if (rows > 0 && rows + u.nodes.length > PER_COLUMN) { subs.push([]); rows = 0; }
        subs[subs.length - 1].push(u);
        rows += u.nodes.length;
      });
      var width = 0, xs = 0;
      subs.forEach(function (sub, si) {
        var wide = 0;
        var items = [], height = 0;
        sub.forEach(function (u, ui) {
          var boxed = u.id.indexOf("c:") === 0;
          if (ui > 0 && (boxed || sub[ui - 1].id.indexOf("c:") === 0)) { height += BOX; }
          u.nodes.forEach(function (n, i) {
            var wrap = Math.floor(i / PER_COLUMN);
            items.push({ n: n, x: wrap, y: height + (i % PER_COLUMN) * ROW });
          });
          height += Math.min(u.nodes.length, PER_COLUMN) * ROW;
          wide = Math.max(wide, Math.ceil(u.nodes.length / PER_COLUMN) - 1);
        });
        var off = (height - ROW) / 2 - (si % 2) * ROW / 2;
        items.forEach(function (it) {
          y[it.n.id] = it.y - off;
          pos[it.n.id] = { x: x0 + (xs + it.x) * COLUMN, y: y[it.n.id] };
        });
        width = xs + wide;
        xs += wide + 1;
      });
      x0 += width * COLUMN + GAP;
    });
    return pos;
  }

  // Fit the view to the laid-out positions. Cytoscape's own `fit` measures
  // every label of every element first, which costs seconds at 2,000
  // addresses; the positions are known, so their box (with room for a node
  // and its label) is enough.
  function fitTo(pos) {
    var x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    Object.keys(pos).forEach(function (k) {
      var p = pos[k];
      x1 = Math.min(x1, p.x); x2 = Math.max(x2, p.x);
      y1 = Math.min(y1, p.y); y2 = Math.max(y2, p.y);
    });
    if (x1 === Infinity) { return; }
    var M = 40, PAD = 30;
    x1 -= M; y1 -= M; x2 += M; y2 += M;
    var w = cy.width(), h = cy.height();
    var zoom = Math.min((w - 2 * PAD) / (x2 - x1), (h - 2 * PAD) / (y2 - y1));
    zoom = Math.max(cy.minZoom(), Math.min(cy.maxZoom(), zoom));
    cy.viewport({ zoom: zoom, pan: { x: (w - zoom * (x1 + x2)) / 2, y: (h - zoom * (y1 + y2)) / 2 } });
  }

  // In a large view, addresses and transfers carry their labels only once
  // zoomed in far enough to read them, and only those on screen: labelling
  // thousands of elements is what makes Cytoscape slow.
  var READABLE = 0.6, near = null, nearTimer = null;
  function labelOnScreen() {
    nearTimer = null;
    var now = cy.collection();
    if (styledLarge && cy.zoom() >= READABLE) {
      var ext = cy.extent();
      var nodes = cy.nodes(".address").filter(function (n) {
        var p = n.position();
        return p.x >= ext.x1 && p.x <= ext.x2 && p.y >= ext.y1 && p.y <= ext.y2;
      });
      now = nodes.union(nodes.edgesWith(nodes));
    }
    var before = near ? near.filter(function (el) { return el.inside(); }) : cy.collection();
    cy.batch(function () {
      before.difference(now).removeClass("near");
      now.difference(before).addClass("near");
    });
    near = now;
  }
  function labelSoon() {
    if (nearTimer !== null) { clearTimeout(nearTimer); }
    nearTimer = setTimeout(labelOnScreen, 150);
  }

  // The node an address is drawn as: itself, or its collapsed cluster.
  function drawnAs(id) {
    var c = byId[id].cluster;
    return c && collapsed[c.id] ? "k:" + c.id : id;
  }

  function addressClasses(n) {
    return "address " + (n.labels && n.labels.length ? "named " : "") + (n.seed ? "seed " : "") + (n.freeze ? "freeze " : "") + (n.endpoint ? "endpoint" : "");
  }

  // Work out what is drawn: the nodes in `shown` and the edges between them
  // that pass the filters; a collapsed cluster's transfers become merged
  // edges of its node. Only what is drawn is in Cytoscape (elements come
  // and go by id), laid out by `layout` and positioned in one batch.
  function render() {
    var keep = edgeFilter();
    var connected = {}, merged = {}, drawnEdges = [];
    data.edges.forEach(function (e) {
      if (!(shown[e.source] && shown[e.target] && keep(e))) { return; }
      connected[e.source] = true; connected[e.target] = true;
      var s = drawnAs(e.source), t = drawnAs(e.target);
      if (s === e.source && t === e.target) { drawnEdges.push(e); return; }
      // Inside one collapsed cluster: not drawn; otherwise merged.
      if (s !== t) {
        var m = merged[s + ">" + t] = merged[s + ">" + t] || { source: s, target: t, count: 0 };
        m.count += 1;
      }
    });
    var want = {}, order = [], present = {}, nodes = [];
    function put(el) { want[el.data.id] = el; order.push(el.data.id); }
    data.nodes.forEach(function (n) {
      if (!(shown[n.id] && (n.seed || connected[n.id]))) { return; }
      if (n.cluster) { present[n.cluster.id] = true; }
    });
    Object.keys(present).forEach(function (k) {
      var c = clusters[k];
      if (collapsed[k]) {
        put({ group: "nodes", data: { id: "k:" + k, label: c.name + " (" + c.members.length + ")", cluster: k, hops: c.hops }, classes: "cluster-collapsed" });
        nodes.push({ id: "k:" + k, hops: c.hops, unit: "k:" + k });
      } else {
        put({ group: "nodes", data: { id: "c:" + k, label: c.name, cluster: k }, classes: "cluster" });
      }
    });
    data.nodes.forEach(function (n) {
      if (!(shown[n.id] && (n.seed || connected[n.id])) || drawnAs(n.id) !== n.id) { return; }
      var d = { id: n.id, label: nodeLabel(n), hops: n.hops };
      if (n.cluster) { d.parent = "c:" + n.cluster.id; d.cluster = n.cluster.id; }
      put({ group: "nodes", data: d, classes: addressClasses(n) });
      nodes.push({ id: n.id, hops: n.hops, unit: n.cluster ? "c:" + n.cluster.id : n.id });
    });
    drawnEdges.forEach(function (e) {
      put({ group: "edges", data: { id: e.id, source: e.source, target: e.target, label: e.shown, raw: e } });
    });
    var mergedEdges = Object.keys(merged).map(function (k) {
      var m = merged[k];
      put({ group: "edges", data: { id: "m:" + k, source: m.source, target: m.target, label: "× " + m.count, count: m.count }, classes: "merged" });
      return m;
    });
    var pos = layout(nodes, drawnEdges.concat(mergedEdges), Math.max(0.5, cy.width() / Math.max(1, cy.height())));
    var fresh = order.filter(function (id) { return cy.getElementById(id).empty(); });
    // Many new elements (Expand all, a large first view): start again from
    // an empty canvas, which is cheaper than adding beside what is there.
    var rebuild = fresh.length > REBUILD;
    var selected = {};
    if (rebuild) { cy.nodes(":selected").forEach(function (n) { selected[n.id()] = true; }); }
    cy.batch(function () {
      cy.remove(rebuild ? cy.elements() : cy.elements().filter(function (el) { return !want[el.id()]; }));
    });
    // Switch the stylesheet between what is left and what is added: few
    // elements are restyled.
    var large = drawnEdges.length + mergedEdges.length > LARGE;
    if (large !== styledLarge) {
      styledLarge = large;
      cy.style(stylesheet(large));
    }
    function prepared(id) {
      var w = want[id];
      if (pos[id]) { w.position = pos[id]; }
      if (pathIds[id]) { w.classes = (w.classes ? w.classes + " " : "") + "path"; }
      if (selected[id]) { w.selected = true; }
      return w;
    }
    if (rebuild) {
      // While a graph has compound nodes, Cytoscape restyles an element's
      // parents, descendants and their edges for every style property it
      // applies to it, which made styling thousands of new elements cost
      // seconds. So the addresses outside boxes and their transfers are
      // added and styled first, while there is no compound node; then the
      // boxes, their members and the members' transfers.
      var later = [], first = [], inBox = {};
      order.forEach(function (id) {
        var w = prepared(id);
        if (w.classes === "cluster" || w.data.parent) { inBox[id] = true; later.push(w); }
      });
      order.forEach(function (id) {
        var w = want[id];
        if (inBox[id]) { return; }
        if (w.group === "edges" && (inBox[w.data.source] || inBox[w.data.target])) { later.push(w); } else { first.push(w); }
      });
      // (Styling inside a batch: the renderer hears of it once.)
      cy.batch(function () {
        cy.add(first).forEach(function (el) { el.numericStyle("width"); });
      });
      cy.batch(function () {
        cy.add(later).forEach(function (el) { el.numericStyle("width"); });
      });
    } else {
      cy.batch(function () {
        // New elements come with their position and classes; elements kept
        // are touched only where something changed (every position or class
        // set on thousands of elements costs events and restyling).
        var add = [];
        order.forEach(function (id) {
          var el = cy.getElementById(id), w = want[id], p = pos[id];
          if (el.empty()) {
            add.push(prepared(id));
            return;
          }
          if (w.classes === "merged") {
            el.data({ label: w.data.label, count: w.data.count });
          }
          if (p) {
            var q = el.position();
            if (q.x !== p.x || q.y !== p.y) { el.position(p); }
          }
          if (el.hasClass("path") !== !!pathIds[id]) { el.toggleClass("path", !!pathIds[id]); }
        });
        cy.add(add);
      });
    }
    // Every bounding box now: Cytoscape works out a missing one while
    // drawing, and that asks for the whole graph to be drawn again in the
    // next frame.
    cy.elements().boundingBox();
    fitTo(pos);
    labelSoon();
    var count = 0, boxes = 0, stand = 0;
    nodes.forEach(function (n) { if (n.id.indexOf("k:") !== 0) { count += 1; } else { stand += 1; } });
    Object.keys(present).forEach(function (k) { if (!collapsed[k]) { boxes += 1; } });
    host.setAttribute("data-nodes", String(count));
    host.setAttribute("data-edges", String(drawnEdges.length));
    host.setAttribute("data-clusters", String(boxes));
    host.setAttribute("data-collapsed", String(stand));
    status.textContent = count + " / " + data.nodes.length + " " + (T.shown || "");
  }

  function showClusterPanel(cid) {
    var c = clusters[cid];
    panel.textContent = "";
    panel.appendChild(text("h3", T.cluster || "Cluster")).id = "panel-title";
    panel.appendChild(text("p", c.name));
    var dl = text("dl", undefined, "fields");
    row(dl, T.members, String(c.members.length));
    panel.appendChild(dl);
    var ul = text("ul");
    c.members.forEach(function (a) {
      var li = ul.appendChild(text("li"));
      li.appendChild(text("code", a));
      // Why the address is in the cluster: its label's actor, or the deposit-address heuristic.
      li.appendChild(document.createTextNode(" · " + byId[a].cluster.basis));
    });
    panel.appendChild(ul);
    panel.setAttribute("data-address", "");
    panel.setAttribute("data-cluster", cid);
  }

  // Shows what `id` paid; true when that changed what is drawn.
  function expand(id) {
    var more = false;
    (outEdges[id] || []).forEach(function (e) {
      if (!shown[e.target]) { shown[e.target] = true; more = true; }
    });
    return more;
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
    panel.setAttribute("data-cluster", n.cluster ? n.cluster.id : "");
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
    // The download reads the blob after this returns: revoke it much later.
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
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
    cy.nodes(".cluster:visible").forEach(function (n) {
      var b = n.boundingBox({ includeLabels: false });
      out.push("<g class=\"cluster\"><rect x=\"" + X(b.x1) + "\" y=\"" + Y(b.y1) + "\" width=\"" + b.w.toFixed(1) + "\" height=\"" + b.h.toFixed(1) + "\" rx=\"6\" fill=\"#eef3f8\" stroke=\"#6b8db5\"/>" +
        "<text x=\"" + X(b.x1 + 4) + "\" y=\"" + Y(b.y1 - 3) + "\">" + esc(n.data("label")) + "</text></g>");
    });
    cy.edges(":visible").forEach(function (e) {
      var s = e.source().position(), t = e.target().position(), d = e.data("raw");
      var title = d ? d.shown + " " + d.tx : e.data("label");
      out.push("<line x1=\"" + X(s.x) + "\" y1=\"" + Y(s.y) + "\" x2=\"" + X(t.x) + "\" y2=\"" + Y(t.y) + "\" stroke=\"#555\" marker-end=\"url(#arrow)\"><title>" + esc(title) + "</title></line>");
    });
    cy.nodes(".cluster-collapsed:visible").forEach(function (n) {
      var p = n.position();
      out.push("<g class=\"cluster-collapsed\"><rect x=\"" + (Number(X(p.x)) - 17).toFixed(1) + "\" y=\"" + (Number(Y(p.y)) - 13).toFixed(1) + "\" width=\"34\" height=\"26\" rx=\"4\" fill=\"#6b8db5\"/>" +
        "<text x=\"" + X(p.x) + "\" y=\"" + (Number(Y(p.y)) + 26).toFixed(1) + "\" text-anchor=\"middle\">" + esc(n.data("label")) + "</text></g>");
    });
    cy.nodes(".address:visible").forEach(function (n) {
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
    var nodes = data.nodes.slice().sort(function (a, b) { return (b.seed - a.seed) || (b.endpoint - a.endpoint) || a.hops - b.hops; });
    var options = document.createDocumentFragment();
    nodes.forEach(function (n) {
      var o = text("option", (n.labels.length ? n.labels[0].label + " — " : "") + n.id);
      o.value = n.id; options.appendChild(o);
    });
    ["path-from", "path-to"].forEach(function (sid, i) {
      var sel = document.getElementById(sid);
      // Thousands of options: made once, copied for the second list.
      sel.appendChild(i === 0 ? options.cloneNode(true) : options);
      if (i === 1) {
        var ep = nodes.find(function (n) { return n.freeze; }) || nodes.find(function (n) { return n.endpoint; });
        if (ep) { sel.value = ep.id; }
      }
    });
  }

  // Above this many drawn transfers the view is a large one: edges are
  // straight "haystack" lines with an arrow at their middle and no label
  // (a label shows on a selected or highlighted transfer), which Cytoscape
  // styles and draws several times faster than labelled bezier curves.
  var LARGE = 400;
  // Above this many new elements, a render starts from an empty canvas.
  var REBUILD = 300;

  function stylesheet(large) {
    var edge = large
      ? { "width": 1, "curve-style": "haystack", "mid-target-arrow-shape": "triangle" }
      : { "width": 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", "line-color": "#888", "target-arrow-color": "#888", "label": "data(label)", "font-size": 7, "min-zoomed-font-size": 6, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 };
    var sheet = [
      // Few properties per element: each one applied costs Cytoscape events
      // and cache work (defaults: grey #999 nodes, 30 px).
      { selector: large ? "node.named, node.seed, node.endpoint, node.freeze, node:selected, node.path, node.cluster-collapsed, node.near" : "node", style: { "label": "data(label)", "font-size": 9, "min-zoomed-font-size": 6, "text-valign": "bottom" } },
      { selector: "node.named", style: { "text-wrap": "wrap" } },
      { selector: "node.endpoint", style: { "background-color": "#2e7d32", "shape": "round-rectangle" } },
      { selector: "node.freeze", style: { "background-color": "#0b4f8a", "shape": "round-rectangle", "border-width": 3, "border-color": "#ffc000" } },
      { selector: "node.seed", style: { "background-color": "#b3261e", "shape": "diamond", "width": 28, "height": 28 } },
      { selector: "node:selected", style: { "border-width": 4, "border-color": "#ff00aa" } },
      { selector: "edge", style: edge },
      { selector: "node.cluster", style: { "label": "data(label)", "shape": "round-rectangle", "background-color": "#eef3f8", "border-width": 1, "border-color": "#6b8db5", "padding": 14, "text-valign": "top", "text-halign": "center", "font-size": 11, "font-weight": "bold", "color": "#1f3b5c", "text-events": "yes" } },
      { selector: "node.cluster-collapsed", style: { "label": "data(label)", "shape": "round-rectangle", "background-color": "#6b8db5", "width": 34, "height": 26, "font-size": 9, "text-valign": "bottom", "text-margin-y": 3, "text-wrap": "wrap" } },
      { selector: "edge.merged", style: { "line-style": "dashed", "line-color": "#6b8db5", "target-arrow-color": "#6b8db5", "mid-target-arrow-color": "#6b8db5" } },
      { selector: ".path", style: { "line-color": "#ff00aa", "target-arrow-color": "#ff00aa", "mid-target-arrow-color": "#ff00aa", "width": 4, "border-width": 4, "border-color": "#ff00aa" } }
    ];
    if (large) {
      sheet.push({ selector: "edge:selected, edge.path, edge.near", style: { "label": "data(label)", "font-size": 7, "min-zoomed-font-size": 6, "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } });
    }
    return sheet;
  }

  // The canvas is made while graph.json is on its way. Cytoscape draws
  // into a child of the host: it watches its container's attributes and
  // size and redraws everything 100 ms after any change (the host's data-*
  // attributes change with every render), and it does so once after it
  // starts; the first view waits for that (at most 250 ms), or the redraw
  // landed on the next, perhaps large, view.
  function makeCanvas() {
    var canvas = document.createElement("div");
    canvas.className = "graph-canvas";
    host.appendChild(canvas);
    cy = cytoscape({
      container: canvas,
      elements: [],
      // Cheaper drawing while panning and zooming a large graph.
      hideEdgesOnViewport: true,
      textureOnViewport: true,
      layout: { name: "preset" },
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 4,
      style: stylesheet(false)
    });
    return new Promise(function (resolve) {
      cy.one("resize", resolve);
      setTimeout(resolve, 250);
    });
  }

  function start(d) {
    data = d;
    data.nodes.forEach(function (n) { byId[n.id] = n; outEdges[n.id] = []; inEdges[n.id] = []; });
    data.edges = data.edges.filter(function (e) { return byId[e.source] && byId[e.target]; });
    data.edges.forEach(function (e) { outEdges[e.source].push(e); inEdges[e.target].push(e); });
    data.nodes.forEach(function (n) {
      if (!n.cluster) { return; }
      var c = clusters[n.cluster.id] = clusters[n.cluster.id] || { id: n.cluster.id, name: n.cluster.name, members: [], hops: n.hops };
      c.members.push(n.id);
      c.hops = Math.min(c.hops, n.hops);
    });
    cy.on("viewport", labelSoon);
    // Start with the seeds and what they paid directly; everything when small.
    data.nodes.forEach(function (n) { if (n.hops <= 1 || data.nodes.length <= 40) { shown[n.id] = true; } });
    cy.on("tap", "node.address", function (ev) {
      var id = ev.target.id();
      showPanel(id);
      // Nothing new to draw (its receivers are on the canvas already):
      // only the panel changes.
      if (expand(id)) { render(); }
    });
    // A click on a cluster's box or title collapses it; on its collapsed
    // node, opens it.
    cy.on("tap", "node.cluster", function (ev) {
      if (ev.target !== ev.cy && ev.target.hasClass("cluster")) {
        collapsed[ev.target.data("cluster")] = true;
        showClusterPanel(ev.target.data("cluster"));
        render();
      }
    });
    cy.on("tap", "node.cluster-collapsed", function (ev) {
      delete collapsed[ev.target.data("cluster")];
      showClusterPanel(ev.target.data("cluster"));
      render();
    });
    document.getElementById("g-clusters-collapse").addEventListener("click", function () {
      Object.keys(clusters).forEach(function (k) { collapsed[k] = true; });
      render();
    });
    document.getElementById("g-clusters-expand").addEventListener("click", function () {
      collapsed = {};
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
      var sel = cy.nodes(".address:visible").filter(function (n) { return n.degree(false) >= k; });
      sel.select();
      host.setAttribute("data-selected", String(sel.length));
      status.textContent = sel.length + " ≥ " + k;
    });
    document.getElementById("g-png").addEventListener("click", function () {
      // Twice the model's size, but at most 6,000 px a side: a canvas of a
      // few thousand addresses at scale 2 is beyond the browser's limit and
      // came out empty.
      var bb = cy.elements().boundingBox();
      var scale = Math.min(2, 6000 / Math.max(1, bb.w), 6000 / Math.max(1, bb.h));
      download(host.getAttribute("data-case") + ".png", cy.png({ output: "blob", bg: "#ffffff", full: true, scale: scale }));
    });
    document.getElementById("g-svg").addEventListener("click", function () {
      download(host.getAttribute("data-case") + ".svg", new Blob([toSvg()], { type: "image/svg+xml" }));
    });
    document.getElementById("path-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var from = document.getElementById("path-from").value, to = document.getElementById("path-to").value;
      var list = document.getElementById("path-result");
      list.textContent = "";
      pathIds = {};
      var hops = findPath(from, to);
      if (!hops) { list.appendChild(text("li", T.nopath)); list.setAttribute("data-hops", "0"); return; }
      shown[from] = true;
      hops.forEach(function (e) {
        shown[e.target] = true;
        [e.source, e.target].forEach(function (a) { if (byId[a].cluster) { delete collapsed[byId[a].cluster.id]; } });
        pathIds[e.id] = true; pathIds[e.source] = true; pathIds[e.target] = true;
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
      pathIds[e.id] = true; pathIds[e.target] = true;
    });
    if (focus.length) {
      showPanel(focus[0].target);
      host.setAttribute("data-focus", tx);
    }
    render();
    window.tripointCase = { cy: cy, render: render, clusters: clusters, data: data };
  }

  var settled = makeCanvas();
  fetch(host.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (d) { return settled.then(function () { start(d); }); })
    .catch(function (e) { status.textContent = String(e); host.setAttribute("data-nodes", "error"); });
})();
