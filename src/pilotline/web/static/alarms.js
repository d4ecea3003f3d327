// Keeps the AI alarm badges on the overview's tiles current: polls /api/alarms (the alarms of
// models whose pilot is on) and sets text only (no HTML injection).
(function () {
  "use strict";
  var root = document.getElementById("overview");
  if (!root) return;
  function paint(alarms) {
    var byMachine = {};
    alarms.forEach(function (a) { (byMachine[a.machine] = byMachine[a.machine] || []).push(a); });
    root.querySelectorAll("[data-machine]").forEach(function (tile) {
      var badge = tile.querySelector('[data-field="ai_alarm"]');
      if (!badge) return;
      var mine = byMachine[tile.dataset.machine] || [];
      var text = mine.length ? "⚑ AI alarm since " + mine[0].local_start + " (" + mine[0].model + ")" +
        (mine.length > 1 ? " and " + (mine.length - 1) + " more" : "") : "";
      if (badge.dataset.shown === text) return;
      badge.dataset.shown = text;
      badge.hidden = !mine.length;
      badge.replaceChildren();
      if (!mine.length) return;
      var link = document.createElement("a");
      link.href = "/operate/" + encodeURIComponent(tile.dataset.machine);
      link.textContent = badge.dataset.answer || "Answer";
      badge.append(text + " ", link);
    });
  }
  function refresh() {
    fetch("/api/alarms", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) paint(d); })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
})();
