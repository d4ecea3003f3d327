// Keeps the overview tiles live: polls /api/overview and updates text only (no HTML injection).
(function () {
  "use strict";
  function duration(s) {
    if (s === null || s === "" || isNaN(s)) return "";
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return "for " + (h ? h + " h " : "") + m + " min";
  }
  function paint(data) {
    data.lines.forEach(function (line) {
      line.machines.forEach(function (m) {
        var tile = document.querySelector('[data-machine="' + CSS.escape(m.id) + '"]');
        if (!tile) return;
        tile.className = "tile state-" + m.state;
        tile.querySelector('[data-field="state"]').textContent = m.reason || m.state.replace("_", " ");
        var since = tile.querySelector('[data-field="for"]');
        since.dataset.seconds = m.for_s === null ? "" : m.for_s;
        since.textContent = duration(m.for_s);
        tile.querySelector('[data-field="oee"]').textContent =
          m.oee === null ? "–" : Math.round(m.oee * 100) + " %";
        tile.querySelector('[data-field="last_stop_reason"]').textContent = m.last_stop_reason || "–";
      });
    });
  }
  function refresh() {
    fetch("/api/overview", { credentials: "same-origin" })
      .then(function (r) { if (r.ok) return r.json(); if (r.status === 401) location.href = "/login"; })
      .then(function (d) { if (d) paint(d); })
      .catch(function () {});
  }
  document.querySelectorAll('[data-field="for"]').forEach(function (el) {
    el.textContent = duration(parseFloat(el.dataset.seconds));
  });
  setInterval(refresh, 5000);
})();
