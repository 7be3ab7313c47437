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
  });
})();
