// One mention's actions: queue state changes and one-click corrections, posted with the CSRF token.
"use strict";

(function () {
  const root = document.getElementById("mention");
  if (!root) return;
  const id = root.dataset.id;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(path, body, out) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (resp) {
      return resp.json().then(function (data) { out(resp.ok, data); });
    });
  }

  function showState(ok, data) {
    const result = document.getElementById("act-result");
    if (ok) {
      document.getElementById("state").textContent = data.state + (data.assignee ? " by " + data.assignee : "");
      result.textContent = "";
    } else {
      result.textContent = data.error || "refused";
    }
  }
  for (const b of root.querySelectorAll("button.act")) {
    b.addEventListener("click", function () {
      const reason = document.getElementById("ignore-reason").value;
      post("/mentions/" + encodeURIComponent(id) + "/" + b.dataset.action, { reason: reason }, showState);
    });
  }
  const assignButton = document.getElementById("assign");
  if (assignButton) {
    assignButton.addEventListener("click", function () {
      const to = document.getElementById("assign-to").value;
      post("/mentions/" + encodeURIComponent(id) + "/assign", { to: to }, showState);
    });
  }
  for (const b of root.querySelectorAll("button.correct")) {
    b.addEventListener("click", function () {
      const value = b.dataset.field === "category" ? document.getElementById("correct-category").value : b.dataset.value;
      post("/mentions/" + encodeURIComponent(id) + "/correct", { field: b.dataset.field, value: value },
        function (ok, data) {
          document.getElementById("correct-result").textContent = ok ? "recorded: " + data.corrected : (data.error || "refused");
        });
    });
  }

  // The author's earlier mentions from search (every one indexed, not just those handled here).
  const earlier = document.getElementById("earlier");
  if (earlier) {
    const url = "/api/authors/" + encodeURIComponent(earlier.dataset.handle) + "/mentions?platform=" +
      encodeURIComponent(earlier.dataset.platform) + "&size=20";
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (page) {
        if (!page) return;
        const others = (page.results || []).filter(function (m) { return m.id !== id; });
        if (others.length === 0) return;
        earlier.replaceChildren();
        for (const m of others) {
          const li = document.createElement("li");
          const s = document.createElement("span");
          s.className = "sentiment " + (m.sentiment || "");
          s.textContent = m.sentiment || "";
          const when = document.createElement("time");
          when.className = "muted";
          when.textContent = " " + String(m.created_at || "").slice(0, 10) + " ";
          li.append(s, when, document.createTextNode(m.text || ""));
          earlier.append(li);
        }
        document.getElementById("earlier-status").textContent = "from search";
      })
      .catch(function () { /* keep the ones handled here */ });
  }

  const replyText = document.getElementById("reply-text");
  const count = document.getElementById("reply-count");
  function recount() { count.textContent = replyText.value.length + " / 500"; }
  replyText.addEventListener("input", recount);
  for (const b of document.querySelectorAll("button.use-template")) {
    b.addEventListener("click", function () { replyText.value = b.dataset.text; recount(); replyText.focus(); });
  }
  function copyButton(text) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy";
    button.textContent = "Copy";
    button.dataset.text = text;
    wireCopy(button);
    return button;
  }
  function wireCopy(button) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.text).then(function () { button.textContent = "Copied"; });
    });
  }
  for (const b of document.querySelectorAll("#replies button.copy")) wireCopy(b);
  document.getElementById("send-reply").addEventListener("click", function () {
    const result = document.getElementById("reply-result");
    post("/mentions/" + encodeURIComponent(id) + "/send-reply", { text: replyText.value }, function (ok, data) {
      if (!ok) { result.textContent = data.error || "refused"; return; }
      result.textContent = "";
      document.getElementById("state").textContent = data.state + (data.assignee ? " by " + data.assignee : "");
      const li = document.createElement("li");
      const badge = document.createElement("span");
      badge.className = "badge " + (data.reply_status === "sent" ? "ok" : "warn");
      badge.textContent = data.reply_status.replace(/_/g, " ");
      const text = document.createElement("span");
      text.className = "reply-text";
      text.textContent = " " + data.text + " ";
      li.append(badge, text);
      if (data.reply_status === "to_send_by_hand") li.append(copyButton(data.text));
      document.getElementById("replies").append(li);
      replyText.value = "";
      recount();
    });
  });
})();
