// Marketing page: a click on any chart element opens the mentions it counts in the side panel.
// The panel's HTML is rendered (and escaped) by the server; without this script the links still work.
(function () {
  "use strict";
  var panel = null;

  function hrefOf(link) {
    // SVG <a> elements expose href as an object: read the attribute for both kinds.
    return link.getAttribute("href");
  }

  function open(url, title) {
    panel.hidden = false;
    panel.setAttribute("aria-busy", "true");
    var sep = url.indexOf("?") >= 0 ? "&" : "?";
    fetch(url + sep + "partial=1", { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (resp) { return resp.text().then(function (body) { return { ok: resp.ok, body: body }; }); })
      .then(function (res) {
        panel.innerHTML = res.body;  // server-rendered template: every value in it is escaped
        var head = document.createElement("h2");
        head.textContent = title || "Mentions";
        panel.insertBefore(head, panel.firstChild);
        var close = document.createElement("button");
        close.type = "button";
        close.className = "secondary close";
        close.textContent = "Close";
        close.addEventListener("click", function () { panel.hidden = true; });
        panel.insertBefore(close, panel.firstChild);
        panel.removeAttribute("aria-busy");
        panel.scrollIntoView({ block: "nearest" });
      })
      .catch(function () {
        panel.textContent = "Could not load the mentions; try again.";
        panel.removeAttribute("aria-busy");
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    panel = document.getElementById("drill");
    if (!panel) { return; }
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.drill, #drill a.more") : null;
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      event.preventDefault();
      open(hrefOf(link), link.getAttribute("data-title") || link.textContent.trim());
    });
  });
})();
