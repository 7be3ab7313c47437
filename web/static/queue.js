// The live queue: mentions arrive by server-sent events and take their place without a reload.
// Mention text is untrusted: it only ever goes into the page through textContent, never innerHTML.
"use strict";

(function () {
  const root = document.getElementById("queue");
  if (!root) return;
  const list = document.getElementById("feed");
  const template = document.getElementById("item-template");
  const statusEl = document.getElementById("status");
  const countEl = document.getElementById("count");
  const order = document.getElementById("order");
  const filters = {
    brand: document.getElementById("f-brand"),
    category: document.getElementById("f-category"),
    sentiment: document.getElementById("f-sentiment"),
    linked: document.getElementById("f-linked"),
    open: document.getElementById("f-open"),
  };
  const canAct = root.dataset.canAct === "yes";
  const me = document.getElementById("me");
  const myName = me ? me.dataset.name : "";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const MAX_ITEMS = 500;
  const items = new Map(); // mention id -> {scored, el, state}
  const brands = new Set();
  const categories = new Set();

  function sortKey(entry) {
    const m = entry.scored;
    return order.value === "time"
      ? [m.mention.created_at, 0]
      : [m.priority.score, m.mention.created_at];
  }

  function before(a, b) {
    const ka = sortKey(a), kb = sortKey(b);
    if (ka[0] !== kb[0]) return ka[0] > kb[0];
    return ka[1] > kb[1];
  }

  function place(entry) {
    // Walk to the first item this one outranks; lists are short (bounded), so a scan is plenty fast.
    let next = null;
    for (const other of list.children) {
      const o = items.get(other.dataset.id);
      if (o && o !== entry && before(entry, o)) { next = other; break; }
    }
    list.insertBefore(entry.el, next);
  }

  function addOption(select, set, value) {
    if (!value || set.has(value)) return;
    set.add(value);
    const opt = document.createElement("option");
    opt.value = value;
    opt.textContent = value;
    select.appendChild(opt);
  }

  function visible(entry) {
    const m = entry.scored;
    if (filters.brand.value && m.mention.brand !== filters.brand.value) return false;
    if (filters.category.value && !m.categories.includes(filters.category.value)) return false;
    if (filters.sentiment.value && m.sentiment.label !== filters.sentiment.value) return false;
    if (filters.linked.checked && !m.linked) return false;
    if (filters.open.checked && ["resolved", "ignored"].includes(entry.state.state)) return false;
    return true;
  }

  function applyFilters() {
    let shown = 0;
    for (const entry of items.values()) {
      entry.el.hidden = !visible(entry);
      if (!entry.el.hidden) shown += 1;
    }
    countEl.textContent = shown + " shown of " + items.size;
  }

  function render(entry) {
    const m = entry.scored, el = entry.el, st = entry.state;
    el.dataset.id = m.mention.id;
    el.dataset.state = st.state;
    el.className = "item " + m.sentiment.label + " state-" + st.state;
    const s = el.querySelector(".sentiment");
    s.textContent = m.sentiment.label + " " + m.sentiment.compound.toFixed(2);
    el.querySelector(".priority").textContent = "P " + Number(m.priority.score.toFixed(1));
    el.querySelector(".priority").title = (m.priority.reasons || []).join("; ");
    el.querySelector(".brand").textContent = m.mention.brand + (m.mention.competitor ? " (competitor)" : "");
    el.querySelector(".platform").textContent = m.mention.platform;
    const author = el.querySelector(".author");
    author.textContent = "@" + m.mention.author_handle.replace(/^@/, "");
    if (/^https?:\/\//.test(m.mention.url)) {
      author.href = m.mention.url;
      author.rel = "noopener noreferrer";
      author.target = "_blank";
    }
    el.querySelector(".tier").textContent = m.linked ? (m.tier || "member") : "";
    const t = el.querySelector("time");
    t.dateTime = m.mention.created_at;
    t.textContent = new Date(m.mention.created_at).toLocaleTimeString();
    el.querySelector(".text").textContent = m.mention.text;
    const stateEl = el.querySelector(".state");
    stateEl.textContent = st.state === "new" ? "" :
      st.state + (st.assignee ? " by " + st.assignee : "") + (st.reason ? " (" + st.reason + ")" : "");
    const open = el.querySelector(".open");
    open.href = root.dataset.mentionUrl.replace("MENTION_ID", encodeURIComponent(m.mention.id));
    const take = el.querySelector(".take");
    take.hidden = !canAct || st.state !== "new";
    if (!canAct) open.hidden = true;
  }

  function onMention(scored) {
    let entry = items.get(scored.mention.id);
    if (entry) {
      entry.scored = scored;
    } else {
      const el = template.content.firstElementChild.cloneNode(true);
      entry = { scored: scored, el: el, state: { state: "new", assignee: "", reason: "" } };
      items.set(scored.mention.id, entry);
      el.querySelector(".take").addEventListener("click", function () { act(scored.mention.id, "take"); });
    }
    addOption(filters.brand, brands, scored.mention.brand);
    for (const c of scored.categories) addOption(filters.category, categories, c);
    render(entry);
    place(entry);
    entry.el.hidden = !visible(entry);
    trim();
    applyFilters();
  }

  function trim() {
    // Keep the page light over a long shift: drop the lowest-ranked items that nobody holds.
    while (items.size > MAX_ITEMS) {
      const last = list.lastElementChild;
      if (!last) break;
      items.delete(last.dataset.id);
      last.remove();
    }
  }

  function onState(state) {
    const entry = items.get(state.mention_id);
    if (!entry) return;
    entry.state = state;
    render(entry);
    entry.el.hidden = !visible(entry);
    applyFilters();
  }

  function act(id, action) {
    fetch("/mentions/" + encodeURIComponent(id) + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: "{}",
    }).then(function (resp) {
      return resp.json().then(function (body) {
        if (resp.ok) { onState(body); return; }
        const entry = items.get(id);
        if (entry) entry.el.querySelector(".state").textContent = body.error || "refused";
      });
    });
  }

  function connect() {
    const source = new EventSource(root.dataset.stream);
    source.addEventListener("open", function () { statusEl.textContent = "live"; statusEl.className = "status live"; });
    source.addEventListener("error", function () { statusEl.textContent = "reconnecting…"; statusEl.className = "status"; });
    source.addEventListener("mention", function (e) { onMention(JSON.parse(e.data)); });
    source.addEventListener("state", function (e) { onState(JSON.parse(e.data)); });
  }

  order.addEventListener("change", function () {
    const sorted = Array.from(items.values()).sort(function (a, b) {
      return before(a, b) ? -1 : before(b, a) ? 1 : 0;
    });
    for (const entry of sorted) list.appendChild(entry.el);
  });
  for (const f of Object.values(filters)) f.addEventListener("change", applyFilters);
  root.dataset.me = myName;
  connect();
})();
