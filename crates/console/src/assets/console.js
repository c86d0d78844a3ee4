// tripoint console: draws the early-warning charts (SVG) from the JSON
// the server provides. Loaded as a same-origin script (the CSP allows no
// inline script); builds elements through the DOM, never from HTML strings.
"use strict";
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#0b4f8a", "#b3261e", "#2e7d32", "#6a1b9a"];

  function el(name, attrs, text) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function day(s) { return Date.parse(s + "T00:00:00Z"); }

  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1e9) { return (v / 1e9).toFixed(1) + "G"; }
    if (a >= 1e6) { return (v / 1e6).toFixed(1) + "M"; }
    if (a >= 1e3) { return (v / 1e3).toFixed(1) + "k"; }
    return v.toFixed(a < 10 ? 2 : 0);
  }

  function emptyText(host, text) {
    var p = document.createElement("p");
    p.className = "empty";
    p.setAttribute("role", "status");
    p.textContent = text;
    host.appendChild(p);
  }

  var LEVEL_COLORS = { green: "#2e7d32", yellow: "#8a6d00", amber: "#c25e00", red: "#b3261e" };

  // A mineral's chart: its lines over time, the events (within the lines'
  // span) as dashed vertical lines and, with a strip, the signals as markers
  // (coloured by level) along the top. The options (`o`):
  //   series     the lines: [{name, unit, points: [[day, value], ...]}]
  //   minPoints  the points a line needs to be drawn
  //   height     of the drawing; top: the room above the plot (and the strip)
  //   strip      the signals' strip above the plot (0: no signals drawn)
  //   title      drawn on the top row with a legend beside it (and in the
  //              SVG's label and title); null: each line labelled in the plot
  //   fromZero   the value axis reaches down to 0
  //   caption    function (series, events, signals): the figcaption's text
  // The host gets `data-drawn` (points drawn) and, with a strip,
  // `data-events` and `data-signals` (markers drawn).
  function drawChart(host, data, o) {
    var series = o.series.filter(function (s) { return s.points && s.points.length >= o.minPoints; });
    host.textContent = "";
    var fig = host.closest("figure");
    var cap = fig ? fig.querySelector("figcaption") : null;
    if (series.length === 0) {
      emptyText(host, host.getAttribute("data-empty") || "");
      host.setAttribute("data-drawn", "0");
      if (o.strip) {
        host.setAttribute("data-events", "0");
        host.setAttribute("data-signals", "0");
      }
      if (cap) { cap.textContent = ""; }
      return;
    }
    series = series.slice(0, COLORS.length);
    var W = 900, H = o.height, L = 70, R = 20, T = o.top, B = 40, S = o.strip;
    var xs = [], ys = [];
    series.forEach(function (s) { s.points.forEach(function (pt) { xs.push(day(pt[0])); ys.push(pt[1]); }); });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (o.fromZero) { y0 = Math.min(0, y0); }
    if (x1 === x0) { x0 -= 86400000 * 180; x1 += 86400000 * 180; }
    if (y1 === y0) { y1 = y0 + 1; }
    function X(t) { return L + (t - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return H - B - (v - y0) / (y1 - y0) * (H - T - S - B); }
    var events = (data.events || []).filter(function (e) { var t = day(e.date); return t >= x0 && t <= x1; });
    var signals = S ? (data.signals || []).filter(function (g) { var t = day(g.date); return t >= x0 && t <= x1; }) : [];
    var label = o.title
      ? o.title + " — " + data.mineral + ": " + series.map(function (s) { return s.name + " (" + s.unit + ")"; }).join(", ") +
        "; " + events.length + " " + (host.getAttribute("data-events-word") || "events") +
        ", " + signals.length + " " + (host.getAttribute("data-signals-word") || "signals")
      : data.mineral + ": " + series.map(function (s) { return s.name; }).join(", ");
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label });
    if (o.title) {
      svg.appendChild(el("title", {}, label));
      svg.appendChild(el("text", { "class": "chart-title", x: L, y: 16 }, o.title + " — " + data.mineral));
    }
    svg.appendChild(el("line", { "class": "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    svg.appendChild(el("line", { "class": "axis", x1: L, y1: T + S, x2: L, y2: H - B }));
    for (var i = 0; i <= 4; i++) {
      var v = y0 + (y1 - y0) * i / 4;
      svg.appendChild(el("text", { "class": "label", x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, fmt(v)));
      var t = x0 + (x1 - x0) * i / 4;
      svg.appendChild(el("text", { "class": "label", x: X(t), y: H - B + 16, "text-anchor": i === 4 ? "end" : "middle" }, new Date(t).toISOString().slice(0, 7)));
    }
    events.forEach(function (e) {
      var t = day(e.date);
      var g = el("g", { "class": "event", "data-date": e.date });
      g.appendChild(el("line", { x1: X(t), y1: T, x2: X(t), y2: H - B, stroke: "#8a6d00", "stroke-dasharray": "4 3" }));
      g.appendChild(el("title", {}, e.date + " " + e.label));
      svg.appendChild(g);
    });
    if (S) {
      // Signals: a strip above the plot, one marker per signal (worst on top).
      var strip = el("g", { "class": "signals" });
      var rank = { green: 0, yellow: 1, amber: 2, red: 3 };
      signals.slice().sort(function (a, b) { return (rank[a.level] || 0) - (rank[b.level] || 0); }).forEach(function (g) {
        var t = day(g.date);
        var m = el("path", {
          "class": "signal signal-" + g.level, "data-level": g.level, "data-family": g.family,
          d: "M" + X(t).toFixed(1) + "," + (T + 4) + " l5,9 l-10,0 z",
          fill: LEVEL_COLORS[g.level] || "#4a4a4a", stroke: "#fff", "stroke-width": 0.5
        });
        m.appendChild(el("title", {}, g.date + " " + g.family + " " + g.name + " (" + g.level + ")"));
        strip.appendChild(m);
      });
      svg.appendChild(strip);
    }
    var drawn = 0;
    series.forEach(function (s, k) {
      var pts = s.points.map(function (pt) { return X(day(pt[0])).toFixed(1) + "," + Y(pt[1]).toFixed(1); });
      drawn += pts.length;
      var line = el("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[k], "stroke-width": 1.5, "data-series": s.name });
      line.appendChild(el("title", {}, s.name + " (" + s.unit + ")"));
      svg.appendChild(line);
      if (pts.length === 1) {
        svg.appendChild(el("circle", { cx: pts[0].split(",")[0], cy: pts[0].split(",")[1], r: 3, fill: COLORS[k] }));
      }
      if (!o.title) {
        svg.appendChild(el("text", { "class": "label", x: L + 8, y: T + 14 * (k + 1), fill: COLORS[k] }, s.name + " (" + s.unit + ")"));
      }
    });
    if (o.title) {
      // The legend: one entry per line, right of the title.
      var legend = el("g", { "class": "legend" });
      var texts = series.map(function (s) { return s.name + (series.length > 1 ? "" : " (" + s.unit + ")"); });
      var lx = W - R - texts.reduce(function (n, t) { return n + 26 + t.length * 6.5; }, 0);
      series.forEach(function (s, k) {
        var item = el("g", { "class": "legend-item", "data-series": s.name });
        item.appendChild(el("line", { x1: lx, y1: 12, x2: lx + 18, y2: 12, stroke: COLORS[k], "stroke-width": 3 }));
        item.appendChild(el("text", { "class": "label", x: lx + 22, y: 16 }, texts[k]));
        legend.appendChild(item);
        lx += 26 + texts[k].length * 6.5;
      });
      svg.appendChild(legend);
    }
    host.appendChild(svg);
    host.setAttribute("data-drawn", String(drawn));
    if (S) {
      host.setAttribute("data-events", String(events.length));
      host.setAttribute("data-signals", String(signals.length));
    }
    if (cap) { cap.textContent = o.caption(series, events, signals); }
  }

  function names(series) {
    return series.map(function (s) { return s.name + " (" + s.unit + ")"; }).join("; ");
  }

  // The quarterly report's chart of a mineral: the `series` of the series
  // JSON and its events.
  function draw(host, data) {
    drawChart(host, data, {
      series: data.series || [], minPoints: 2, height: 360, top: 20, strip: 0, title: null, fromZero: false,
      caption: function (series) {
        return names(series) + ((data.events || []).length ? " · " + data.events.length + " events" : "");
      }
    });
  }

  // One of the board's three charts (`data-kind`: prices, exports_by_partner,
  // concentration), with a legend, the events and the mineral's signals.
  function drawPanel(host, data) {
    var kind = host.getAttribute("data-kind");
    drawChart(host, data, {
      series: data[kind] || [], minPoints: 1, height: 340, top: 44, strip: 24,
      title: host.getAttribute("data-title") || kind, fromZero: kind !== "prices",
      caption: function (series, events, signals) {
        return names(series) +
          " · " + events.length + " " + (host.getAttribute("data-events-word") || "events") +
          " · " + signals.length + " " + (host.getAttribute("data-signals-word") || "signals");
      }
    });
  }

  // The back-test (`tripoint ews backtest` JSON) as a timeline: one row per
  // scored event; a bar from the first warning to the announcement, a dot
  // at the announcement (filled when warned in time), a diamond at the
  // effective date.
  function drawBacktest(host, r) {
    var events = (r.events || []).filter(function (e) { return !e.note; });
    host.textContent = "";
    if (events.length === 0) {
      var p = document.createElement("p");
      p.className = "empty";
      p.setAttribute("role", "status");
      p.textContent = host.getAttribute("data-empty") || "";
      host.appendChild(p);
      host.setAttribute("data-drawn", "0");
      return;
    }
    events.sort(function (a, b) { return day(a.announced) - day(b.announced); });
    var ROW = 26, W = 900, L = 210, R = 20, T = 20, B = 34;
    var H = T + B + ROW * events.length;
    var x0 = day(r.start), x1 = day(r.end);
    events.forEach(function (e) {
      [e.first_warning, e.announced, e.effective].forEach(function (d) {
        if (d) { x0 = Math.min(x0, day(d)); x1 = Math.max(x1, day(d)); }
      });
    });
    if (x1 === x0) { x1 = x0 + 1; }
    function X(t) { return L + (t - x0) / (x1 - x0) * (W - L - R); }
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
      "aria-label": events.length + " events, " + events.filter(function (e) { return e.warned_before_announcement; }).length + " warned" });
    svg.appendChild(el("line", { "class": "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    for (var i = 0; i <= 4; i++) {
      var t = x0 + (x1 - x0) * i / 4;
      svg.appendChild(el("text", { "class": "label", x: X(t), y: H - B + 16, "text-anchor": i === 4 ? "end" : i === 0 ? "start" : "middle" }, new Date(t).toISOString().slice(0, 7)));
    }
    events.forEach(function (e, k) {
      var y = T + ROW * k + ROW / 2;
      var g = el("g", { "class": "bt-event", "data-event": e.event_id, "data-warned": e.warned_before_announcement ? "1" : "0" });
      g.appendChild(el("text", { "class": "label", x: L - 8, y: y + 4, "text-anchor": "end" }, e.event_id + " · " + (e.minerals || []).join(", ")));
      if (e.first_warning) {
        var bar = el("rect", { "class": "bt-warning", x: X(day(e.first_warning)), y: y - 5,
          width: Math.max(1, X(day(e.announced)) - X(day(e.first_warning))), height: 10, fill: "#ffc000" });
        bar.appendChild(el("title", {}, (e.warning_alert || "") + ": " + e.first_warning + " → " + e.announced + " (" + e.lead_days_announced + " d)"));
        g.appendChild(bar);
      }
      var dot = el("circle", { "class": "bt-announced", cx: X(day(e.announced)), cy: y, r: 6, stroke: "#b3261e", "stroke-width": 2,
        fill: e.warned_before_announcement ? "#b3261e" : "#fff" });
      dot.appendChild(el("title", {}, e.event_id + " " + e.announced));
      g.appendChild(dot);
      if (e.effective) {
        var x = X(day(e.effective));
        var dia = el("path", { "class": "bt-effective", d: "M" + x + "," + (y - 7) + "l7,7l-7,7l-7,-7z", fill: "#0b4f8a" });
        dia.appendChild(el("title", {}, e.event_id + " " + e.effective));
        g.appendChild(dia);
      }
      svg.appendChild(g);
    });
    host.appendChild(svg);
    host.setAttribute("data-drawn", String(events.length));
    var fig = host.closest("figure");
    var cap = fig ? fig.querySelector("figcaption") : null;
    if (cap) {
      cap.textContent = r.start + " – " + r.end + " · " + r.events_warned + " / " + r.events_scored +
        " · " + r.warning_days + " d · " + r.data_origin + (r.synthetic ? " (SYNTHETIC)" : "");
    }
  }

  // Alerts: live over Server-Sent Events, newest first (prepended).
  function liveAlerts() {
    var live = document.getElementById("alert-live");
    var list = document.getElementById("alert-list");
    if (!live || !list || typeof EventSource !== "function") { return; }
    var words = JSON.parse(live.getAttribute("data-kinds") || "{}");
    var es = new EventSource(live.getAttribute("data-stream"));
    es.addEventListener("ready", function () { live.setAttribute("data-live", "1"); });
    es.addEventListener("alert", function (ev) {
      var a = JSON.parse(ev.data);
      if (list.querySelector("li[data-alert=\"" + a.alert_id + "\"]")) { return; }
      var li = document.createElement("li");
      li.setAttribute("data-seq", String(a.seq));
      li.setAttribute("data-alert", a.alert_id);
      li.className = "new";
      var when = document.createElement("span"); when.className = "when"; when.textContent = a.time;
      var kind = document.createElement("strong"); kind.textContent = a.kind_text || words[a.kind] || a.kind;
      var link = document.createElement("a"); link.href = a.href; link.textContent = a.case_name;
      var to = document.createElement("code"); to.textContent = a.to;
      li.appendChild(when); li.appendChild(document.createTextNode(" "));
      li.appendChild(kind); li.appendChild(document.createTextNode(" "));
      li.appendChild(link); li.appendChild(document.createTextNode(": " + a.taint + " → "));
      li.appendChild(to);
      if (a.service) { li.appendChild(document.createTextNode(" · " + a.service + (a.partner ? " (" + a.partner + ")" : ""))); }
      list.insertBefore(li, list.firstChild);
      live.textContent = words.live || "";
      live.setAttribute("data-received", String(Number(live.getAttribute("data-received") || "0") + 1));
    });
    // A chain reorganisation orphaned the alert's block: the watch withdrew it.
    es.addEventListener("retraction", function (ev) {
      var r = JSON.parse(ev.data);
      list.querySelectorAll("li[data-alert=\"" + r.alert_id + "\"]").forEach(function (li) { li.remove(); });
      live.setAttribute("data-retracted", String(Number(live.getAttribute("data-retracted") || "0") + 1));
    });
  }

  function start() {
    liveAlerts();
    // The board's chart, and the report's (one per mineral).
    var bt = document.getElementById("ews-backtest");
    if (bt) {
      fetch(bt.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (r) { drawBacktest(bt, r); })
        .catch(function (e) {
          bt.textContent = String(e);
          bt.setAttribute("data-drawn", "error");
        });
    }
    // The board's three charts, from one fetch of the series JSON.
    var charts = document.getElementById("ews-charts");
    if (charts) {
      var panels = charts.querySelectorAll(".ews-panel");
      fetch(charts.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (data) { panels.forEach(function (host) { drawPanel(host, data); }); })
        .catch(function (e) {
          panels.forEach(function (host) {
            host.textContent = String(e);
            host.setAttribute("data-drawn", "error");
          });
        });
    }
    document.querySelectorAll(".ews-chart").forEach(function (host) {
      fetch(host.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (data) { draw(host, data); })
        .catch(function (e) {
          host.textContent = String(e);
          host.setAttribute("data-drawn", "error");
        });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
