// On-call pages: live updates by polling JSON (no inline script; every value goes in with textContent).
"use strict";

(function () {
  function poll(url, seconds, onData, statusEl) {
    let failures = 0;
    async function once() {
      try {
        const resp = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (resp.status === 401) { window.location.reload(); return; } // logged out: the login page takes over
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        onData(await resp.json());
        failures = 0;
        if (statusEl) { statusEl.textContent = "live"; statusEl.classList.add("live"); }
      } catch (err) {
        failures += 1;
        if (statusEl) { statusEl.textContent = "reconnecting…"; statusEl.classList.remove("live"); }
      }
      // Back off while the console is unreachable, so a restart does not meet a burst of requests.
      window.setTimeout(once, 1000 * seconds * Math.min(1 + failures, 6));
    }
    once();
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function severityClass(severity) {
    return severity === "critical" ? "bad" : severity === "warning" ? "warn" : "";
  }

  function row(item, status) {
    const tr = document.createElement("tr");
    tr.dataset.id = String(item.id);
    const first = document.createElement("td");
    const link = document.createElement("a");
    link.href = item.url;
    link.textContent = "#" + item.id;
    first.appendChild(link);
    tr.appendChild(first);
    const sev = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge " + severityClass(item.severity);
    badge.textContent = item.severity;
    sev.appendChild(badge);
    tr.appendChild(sev);
    tr.appendChild(cell(item.brand + (item.category ? " · " + item.category : "") + " " + item.kind));
    tr.appendChild(cell(item.observed === null ? "" : item.observed.toFixed(1) + " vs " + item.expected.toFixed(1)));
    tr.appendChild(cell(item.top_terms.join(", ")));
    tr.appendChild(cell(item.opened_at));
    const who = status === "acknowledged" ? item.acknowledged_by : status === "resolved" ? item.resolved_by : "tier " + item.tier;
    tr.appendChild(cell(who));
    return tr;
  }

  function renderLists(data) {
    for (const status of ["open", "acknowledged", "resolved"]) {
      const body = document.getElementById("list-" + status);
      const items = data[status] || [];
      const rows = items.map((item) => row(item, status));
      if (rows.length === 0) {
        const tr = document.createElement("tr");
        tr.className = "empty";
        const td = cell("None.");
        td.colSpan = 7;
        td.className = "muted";
        tr.appendChild(td);
        rows.push(tr);
      }
      body.replaceChildren(...rows);
      document.getElementById("count-" + status).textContent = "(" + items.length + ")";
    }
  }

  function watchIncident(section) {
    const badge = document.getElementById("incident-status");
    let seen = null;
    poll(section.dataset.poll, Number(section.dataset.seconds) || 5, (data) => {
      const fingerprint = data.status + "|" + data.deliveries.map((d) => d.status + d.attempts).join(",");
      if (seen !== null && fingerprint !== seen) document.getElementById("changed").hidden = false;
      seen = fingerprint;
      badge.textContent = data.status;
      badge.className = "badge " + (data.status === "open" ? "bad" : data.status === "acknowledged" ? "warn" : "ok");
    }, null);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const list = document.getElementById("oncall");
    if (list) poll(list.dataset.poll, Number(list.dataset.seconds) || 5, renderLists, document.getElementById("status"));
    const incident = document.getElementById("incident");
    if (incident) watchIncident(incident);
  });
})();
