// A member's every mention, from the search API (Elasticsearch), newest first. Text goes in by textContent.
"use strict";

(function () {
  const list = document.getElementById("es-mentions");
  const status = document.getElementById("es-status");
  if (!list) return;
  const handles = Array.from(document.querySelectorAll("li.handle"));
  if (handles.length === 0) { status.textContent = "(no linked handles)"; return; }
  status.textContent = "loading…";

  function row(m) {
    const li = document.createElement("li");
    li.className = "item " + (m.sentiment || "");
    const meta = document.createElement("div");
    meta.className = "meta";
    for (const part of [(m.sentiment || "") + " " + Number(m.compound || 0).toFixed(2), m.brand, m.platform,
                        "@" + String(m.author_handle || "").replace(/^@/, ""), m.created_at]) {
      const span = document.createElement("span");
      span.textContent = part;
      meta.appendChild(span);
    }
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = m.text;
    li.append(meta, text);
    return li;
  }

  // Daily mean sentiment of every mention, as an SVG line (no inline style: CSP), -1 at the bottom, +1 on top.
  function drawSentiment(mentions) {
    const days = new Map();
    for (const m of mentions) {
      const day = String(m.created_at || "").slice(0, 10);
      if (!day) continue;
      const d = days.get(day) || { sum: 0, n: 0 };
      d.sum += Number(m.compound || 0); d.n += 1;
      days.set(day, d);
    }
    const points = Array.from(days.entries()).sort().map(function (e) { return [e[0], e[1].sum / e[1].n, e[1].n]; });
    const box = document.getElementById("sentiment-chart");
    if (!box || points.length === 0) return;
    const NS = "http://www.w3.org/2000/svg", W = 480, H = 150, L = 34, R = 10, T = 10, B = 24;
    function el(name, attrs, text) {
      const e = document.createElementNS(NS, name);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      return e;
    }
    const x = function (i) { return L + (points.length === 1 ? (W - L - R) / 2 : i * (W - L - R) / (points.length - 1)); };
    const y = function (v) { return T + (1 - v) / 2 * (H - T - B); };
    const svg = el("svg", { viewBox: "0 0 " + W + " " + H, class: "sentiment-svg", role: "img",
                             "aria-label": "Daily mean sentiment of " + mentions.length + " mentions" });
    for (const v of [1, 0, -1]) {
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? "zero" : "grid" }));
      svg.appendChild(el("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, (v > 0 ? "+" : "") + v));
    }
    svg.appendChild(el("polyline", { class: "series", fill: "none",
      points: points.map(function (p, i) { return x(i) + "," + y(p[1]); }).join(" ") }));
    points.forEach(function (p, i) {
      const dot = el("circle", { cx: x(i), cy: y(p[1]), r: 4, class: p[1] < -0.05 ? "neg" : p[1] > 0.05 ? "pos" : "neu" });
      dot.appendChild(el("title", {}, p[0] + ": " + p[1].toFixed(2) + " (" + p[2] + " mention" + (p[2] === 1 ? "" : "s") + ")"));
      svg.appendChild(dot);
    });
    const first = points[0][0], last = points[points.length - 1][0];
    svg.appendChild(el("text", { x: L, y: H - 6, class: "axis" }, first));
    if (last !== first) svg.appendChild(el("text", { x: W - R, y: H - 6, class: "axis", "text-anchor": "end" }, last));
    box.appendChild(svg);
    const fallback = document.getElementById("sentiment-list");
    if (fallback) fallback.hidden = true;
  }

  Promise.all(handles.map(function (h) {
    const url = "/api/authors/" + encodeURIComponent(h.dataset.handle) + "/mentions?platform=" +
      encodeURIComponent(h.dataset.platform) + "&size=100";
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .catch(function () { return { results: [] }; });
  })).then(function (pages) {
    const all = [].concat.apply([], pages.map(function (p) { return p.results || []; }));
    all.sort(function (a, b) { return a.created_at < b.created_at ? 1 : -1; });
    for (const m of all) list.appendChild(row(m));
    status.textContent = all.length + " found";
    if (all.length > 0) drawSentiment(all);
  });
})();
