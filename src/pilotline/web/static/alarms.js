// Keeps the AI alarm badges on the overview's tiles current: polls /api/alarms (the alarms of
// models whose pilot is on) and sets text only (no HTML injection).
(function () {
  "use strict";
  var root = document.getElementById("overview");
  if (!root) return;
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function paint(alarms) {
    var byMachine = {};
    alarms.forEach(function (a) { (byMachine[a.machine] = byMachine[a.machine] || []).push(a); });
    root.querySelectorAll("[data-machine]").forEach(function (tile) {
      var badge = tile.querySelector('[data-field="ai_alarm"]');
      if (!badge) return;
      var mine = byMachine[tile.dataset.machine] || [];
      var ds = badge.dataset;
      var text = mine.length ? "⚑ " + fill(ds.text, { time: mine[0].local_start, model: mine[0].model }) +
        (mine.length > 1 ? " " + fill(ds.more, { n: mine.length - 1 }) : "") : "";
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
