(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var LEVEL_COLORS = {province: "#6a1b9a", province_department: "#1565c0", district: "#00897b",
                      commune: "#ef6c00", unknown: "#78909c"};
  var SERIES_COLORS = {on_time_rate: "#2e7d32", online_rate: "#1565c0",
                       full_process_online_rate: "#ef6c00", online_payment_rate: "#6a1b9a"};

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function txt(parent, x, y, s, attrs) {
    var node = el("text", Object.assign({x: x, y: y}, attrs || {}), parent);
    node.textContent = s;
    return node;
  }
  function tip(node, s) { el("title", {}, node).textContent = s; }
  function pct(v) {
    if (v === null || v === undefined) { return "—"; }
    return (100 * v).toFixed(1).replace(".", ",") + " %";
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function svg(container, width, height, label) {
    var root = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label});
    container.appendChild(root);
    return root;
  }
  function xAxis(root, x0, x1, y0, y1) {
    [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
      var x = x0 + t * (x1 - x0);
      el("line", {x1: x, x2: x, y1: y0, y2: y1, "class": "grid"}, root);
      txt(root, x, y0 - 6, (100 * t) + " %", {"text-anchor": "middle"});
    });
  }

  // Units against targets: one bar per unit with data, a marker per target, best first.
  function targetChart(container, block) {
    var rows = block.rows, rowH = 22, top = 26, left = 250, right = 70, width = 640;
    var height = top + rows.length * rowH + 10;
    var root = svg(container, width, height, block.name);
    root.setAttribute("data-metric", block.metric);
    var x0 = left, x1 = width - right;
    xAxis(root, x0, x1, top - 4, height - 8);
    var rank = 0;
    rows.forEach(function (r, i) {
      var y = top + i * rowH, g = el("g", {"class": "row", "data-unit": r.code}, root);
      var label = r.actual === null ? "" : String(++rank) + ". ";
      txt(g, left - 8, y + 15, clip(label + r.name, 38), {"text-anchor": "end"});
      tip(g, r.name + " — trong kỳ: " + pct(r.actual) + (r.den ? " (" + r.num + "/" + r.den + ")" : "") +
          "; chỉ tiêu: " + pct(r.target) + "; lũy kế năm: " + pct(r.yearActual));
      if (r.actual !== null) {
        var met = r.target === null || r.actual >= r.target;
        el("rect", {x: x0, y: y + 4, height: rowH - 8, width: Math.max(0.5, r.actual * (x1 - x0)),
                    fill: met ? "#2e7d32" : "#c62828", "class": "bar"}, g);
        txt(g, x1 + 6, y + 15, pct(r.actual));
      } else {
        txt(g, x0 + 4, y + 15, "chưa có số liệu trong kỳ", {"class": "nodata"});
      }
      if (r.target !== null) {
        var tx = x0 + r.target * (x1 - x0);
        el("line", {x1: tx, x2: tx, y1: y + 1, y2: y + rowH - 1, "class": "target"}, g);
      }
    });
  }

  function rankingChart(container, metric) {
    while (container.firstChild) { container.removeChild(container.firstChild); }
    var rows = data.units.filter(function (u) { return u.rates[metric] !== null; })
      .sort(function (a, b) { return b.rates[metric] - a.rates[metric] || a.name.localeCompare(b.name, "vi"); });
    if (!rows.length) {
      var p = document.createElement("p");
      p.className = "note";
      p.textContent = "Không có đơn vị nào có số liệu cho tỷ lệ này trong kỳ.";
      container.appendChild(p);
      return;
    }
    var rowH = 18, top = 24, left = 300, right = 150, width = 1200;
    var height = top + rows.length * rowH + 8;
    var root = svg(container, width, height, data.rateNames[metric]);
    var x0 = left, x1 = width - right;
    xAxis(root, x0, x1, top - 4, height - 6);
    rows.forEach(function (u, i) {
      var y = top + i * rowH, v = u.rates[metric], g = el("g", {"class": "row", "data-unit": u.code}, root);
      txt(g, left - 8, y + 13, clip((i + 1) + ". " + u.name, 46), {"text-anchor": "end"});
      el("rect", {x: x0, y: y + 3, height: rowH - 6, width: Math.max(0.5, v * (x1 - x0)),
                  fill: LEVEL_COLORS[u.level] || "#78909c", "class": "bar"}, g);
      txt(g, x1 + 6, y + 13, pct(v) + " (" + u.num[metric] + "/" + u.den[metric] + ")");
      tip(g, u.name + " — " + data.levelNames[u.level] + ": " + pct(v));
    });
  }

  function trendChart(container, series) {
    var pts = series.points, width = 620, height = 280, left = 44, right = 14, top = 14, bottom = 46;
    var root = svg(container, width, height, series.title);
    root.setAttribute("data-grain", series.grain);
    if (!pts.length) { txt(root, width / 2, height / 2, "Chưa có số liệu", {"text-anchor": "middle", "class": "nodata"}); return; }
    var x0 = left, x1 = width - right, y0 = height - bottom, y1 = top;
    var step = pts.length > 1 ? (x1 - x0) / (pts.length - 1) : 0;
    function X(i) { return pts.length > 1 ? x0 + i * step : (x0 + x1) / 2; }
    function Y(v) { return y0 - v * (y0 - y1); }
    [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
      el("line", {x1: x0, x2: x1, y1: Y(t), y2: Y(t), "class": "grid"}, root);
      txt(root, x0 - 6, Y(t) + 4, (100 * t) + "%", {"text-anchor": "end"});
    });
    el("line", {x1: x0, x2: x1, y1: y0, y2: y0, "class": "axis"}, root);
    var every = Math.ceil(pts.length / 12);
    pts.forEach(function (p, i) {
      if (p.current) {
        el("rect", {x: X(i) - Math.max(step, 16) / 2, y: y1, width: Math.max(step, 16), height: y0 - y1,
                    fill: "#fff3c4", "class": "current"}, root);
      }
      if (i % every === 0 || i === pts.length - 1) {
        txt(root, X(i), y0 + 14, p.label, {"text-anchor": "end", transform: "rotate(-35 " + X(i) + " " + (y0 + 14) + ")"});
      }
    });
    data.trendRates.forEach(function (rate) {
      var d = "", pen = false;
      pts.forEach(function (p, i) {
        var v = p.rates[rate];
        if (v === null) { pen = false; return; }
        d += (pen ? " L" : " M") + X(i).toFixed(1) + " " + Y(v).toFixed(1);
        pen = true;
      });
      if (d) { el("path", {d: d.trim(), fill: "none", stroke: SERIES_COLORS[rate], "stroke-width": 2, "class": "line"}, root); }
      pts.forEach(function (p, i) {
        var v = p.rates[rate];
        if (v === null) { return; }
        var c = el("circle", {cx: X(i), cy: Y(v), r: p.current ? 4.5 : 3, fill: SERIES_COLORS[rate],
                              "class": "pt", "data-rate": rate}, root);
        tip(c, p.title + " — " + data.rateNames[rate] + ": " + pct(v));
      });
    });
  }

  function legend(container, items) {
    items.forEach(function (it) {
      var span = document.createElement("span"), sw = document.createElement("i");
      sw.className = "sw";
      sw.style.background = it[1];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(it[0]));
      container.appendChild(span);
    });
  }

  data.targets.forEach(function (block) {
    var host = document.getElementById("target-" + block.metric);
    if (host) { targetChart(host, block); }
  });
  legend(document.getElementById("ranking-legend"), Object.keys(data.levelNames)
    .filter(function (lv) { return data.units.some(function (u) { return u.level === lv; }); })
    .map(function (lv) { return [data.levelNames[lv], LEVEL_COLORS[lv] || "#78909c"]; }));
  var select = document.getElementById("ranking-metric");
  select.value = data.rankingDefault;
  select.addEventListener("change", function () { rankingChart(document.getElementById("ranking"), select.value); });
  rankingChart(document.getElementById("ranking"), select.value);
  legend(document.getElementById("trend-legend"), data.trendRates.map(function (r) { return [data.rateNames[r], SERIES_COLORS[r]]; }));
  data.trend.forEach(function (series) {
    var host = document.getElementById("trend-" + series.grain.replace("cal_", ""));
    if (host) { trendChart(host, series); }
  });
  document.body.setAttribute("data-rendered", "1");
}());
