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

  for (const b of root.querySelectorAll("button.act")) {
    b.addEventListener("click", function () {
      const reason = document.getElementById("ignore-reason").value;
      post("/mentions/" + encodeURIComponent(id) + "/" + b.dataset.action, { reason: reason }, function (ok, data) {
        const result = document.getElementById("act-result");
        if (ok) {
          document.getElementById("state").textContent = data.state + (data.assignee ? " by " + data.assignee : "");
          result.textContent = "";
        } else {
          result.textContent = data.error || "refused";
        }
      });
    });
  }
  for (const b of root.querySelectorAll("button.correct")) {
    b.addEventListener("click", function () {
      post("/mentions/" + encodeURIComponent(id) + "/correct", { field: b.dataset.field, value: b.dataset.value },
        function (ok, data) {
          document.getElementById("correct-result").textContent = ok ? "recorded: " + data.corrected : (data.error || "refused");
        });
    });
  }
})();
