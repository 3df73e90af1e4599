(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  // Okabe–Ito palette (colour-blind safe).
  var LEVEL_COLORS = {province: "#CC79A7", province_department: "#0072B2", district: "#009E73",
                      commune: "#E69F00", unknown: "#999999"};
  var SERIES_COLORS = {on_time_rate: "#009E73", online_rate: "#0072B2",
                       full_process_online_rate: "#D55E00", online_payment_rate: "#CC79A7"};
  var SERIES_DASH = {on_time_rate: "", online_rate: "6 3", full_process_online_rate: "2 2",
                     online_payment_rate: "8 3 2 3"};

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function h(tag, cls, text, parent) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
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
    return (100 * v).toFixed(1).replace(".", ",") + "\u00a0%";
  }
  function num(v) { return v === null || v === undefined ? "—" : String(v).replace(/\B(?=(\d{3})+(?!\d))/g, "."); }
  function svg(container, width, height, label) {
    var root = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label});
    container.appendChild(root);
    return root;
  }

  // Ranking within each level by the chosen rate (places computed by the report, data.ranking).
  function rankingChart(container, metric) {
    while (container.firstChild) { container.removeChild(container.firstChild); }
    var units = {};
    data.units.forEach(function (u) { units[u.code] = u; });
    var rows = data.ranking[metric] || [];
    if (!rows.length) {
      h("p", "note", "Không có đơn vị nào có số liệu cho tỷ lệ này trong kỳ.", container);
      return;
    }
    var level = null, block = null;
    rows.forEach(function (r) {
      var u = units[r.code], v = u.rates[metric];
      if (r.level !== level) {
        level = r.level;
        block = h("div", "rlevel", null, container);
        block.setAttribute("data-level", level);
        var head = h("h4", null, data.levelNames[level] || level, block);
        h("small", null, " — " + r.ranked + " đơn vị xếp hạng", head);
      }
      var row = h("div", "row" + (r.small ? " small" : ""), null, block);
      row.setAttribute("data-unit", r.code);
      row.setAttribute("data-place", r.place === null ? "" : String(r.place));
      row.title = u.name + " — " + (data.levelNames[u.level] || u.level) + ": " + pct(v) +
        " (" + num(u.num[metric]) + "/" + num(u.den[metric]) + ")";
      h("span", "place", r.place === null ? "–" : String(r.place), row);
      var name = h("span", "name", u.name, row);
      if (r.small) { h("span", "flag", num(u.den[metric]) + " hồ sơ < " + data.minSample + ": không xếp hạng", name); }
      var track = h("span", "track", null, row);
      var bar = h("span", "bar", null, track);
      bar.style.width = Math.max(0.3, Math.min(100, 100 * v)).toFixed(2) + "%";
      bar.style.background = LEVEL_COLORS[u.level] || "#999999";
      h("span", "val", pct(v) + " (" + num(u.num[metric]) + "/" + num(u.den[metric]) + ")", row);
    });
  }

  function trendChart(container, series) {
    var pts = series.points, width = 620, height = 290, left = 72, right = 14, top = 14, bottom = 62;
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
        var half = Math.max(step, 16) / 2, a = Math.max(x0, X(i) - half), b = Math.min(x1, X(i) + half);
        el("rect", {x: a, y: y1, width: b - a, height: y0 - y1,  // inside the plot, never past the page
                    fill: "#F0E442", "fill-opacity": 0.35, "class": "current"}, root);
      }
      if (i % every === 0 || i === pts.length - 1) {
        txt(root, X(i), y0 + 14, p.short, {"text-anchor": "end", "class": "xlabel",
                                           transform: "rotate(-35 " + X(i) + " " + (y0 + 14) + ")"});
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
      if (d) {
        el("path", {d: d.trim(), fill: "none", stroke: SERIES_COLORS[rate], "stroke-width": 2,
                    "stroke-dasharray": SERIES_DASH[rate], "class": "line"}, root);
      }
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

  legend(document.getElementById("ranking-legend"), Object.keys(data.levelNames)
    .filter(function (lv) { return data.units.some(function (u) { return u.level === lv; }); })
    .map(function (lv) { return [data.levelNames[lv], LEVEL_COLORS[lv] || "#999999"]; }));
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
