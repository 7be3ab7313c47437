// Opening a case: choosing an apology template fills the apology (already personalised by the server),
// unless the agent has written their own words there.
"use strict";

(function () {
  const select = document.querySelector("select[name=apology_template]");
  const apology = document.querySelector("textarea[name=apology]");
  if (!select || !apology) return;
  const texts = {};
  for (const li of document.querySelectorAll("#apology-texts li")) texts[li.dataset.key] = li.textContent;
  const untouched = function () { return apology.value.trim() === "" || Object.values(texts).includes(apology.value); };
  select.addEventListener("change", function () {
    if (untouched() && texts[select.value] !== undefined) apology.value = texts[select.value];
  });
})();
