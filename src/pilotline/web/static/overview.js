// Keeps the overview live: polls /api/overview and updates text only (no HTML injection): tiles
// with their loss category, the line and plant totals, the worst-first order and the alerts.
(function () {
  "use strict";
  var root = document.getElementById("overview");
  if (!root) return;
  var ds = root.dataset;
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  function duration(s) {
    if (s === null || s === "" || isNaN(s)) return "";
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return "for " + (h ? h + " h " : "") + m + " min";
  }
  function pct(x) { return x === null || x === undefined ? "–" : Math.round(x * 100) + " %"; }
  function label(shift) { return shift ? fill(ds.oeeLabel, { shift: shift }) : ds.noShift; }
  function total(el, t) {
    if (!el) return;
    var l = el.querySelector('[data-field="total_label"]'), v = el.querySelector('[data-field="total_oee"]');
    if (l) l.textContent = label(t ? t.shift_name : null);
    if (v) v.textContent = t ? pct(t.oee) : "–";
  }
  function paintTile(tile, m) {
    tile.className = "tile state-" + m.state + " cat-" + m.category + (m.alert ? " alert" : "");
    tile.querySelector('[data-field="icon"]').textContent = m.icon;
    tile.querySelector('[data-field="category"]').textContent = m.category_label;
    tile.querySelector('[data-field="state"]').textContent = m.reason || m.state.replace("_", " ");
    var never = tile.querySelector('[data-field="never"]');
    if (never) never.hidden = Boolean(m.since);
    var since = tile.querySelector('[data-field="for"]');
    since.dataset.seconds = m.for_s === null ? "" : m.for_s;
    since.textContent = duration(m.for_s);
    tile.querySelector('[data-field="oee_label"]').textContent = label(m.shift_name);
    tile.querySelector('[data-field="oee"]').textContent = pct(m.oee);
    tile.querySelector('[data-field="last_stop_reason"]').textContent = m.last_stop_reason || "–";
    var note = tile.querySelector('[data-field="alert"]');
    note.hidden = !m.alert;
    note.textContent = m.alert ? "⚠ " + fill(ds.noReason, { min: Math.floor(m.no_reason_s / 60) }) : "";
  }
  function paint(data) {
    if (ds.empty && data.lines.some(function (l) { return l.machines.some(function (m) { return m.since; }); })) {
      location.reload();  // the first data arrived: the checklist gives way to the tiles
      return;
    }
    total(root.querySelector('[data-field="site_total"]'), data.total);
    data.lines.forEach(function (line) {
      var section = root.querySelector('section.line[data-line="' + CSS.escape(line.line) + '"]');
      if (!section) return;
      total(section.querySelector('[data-field="line_total"]'), line.total);
      var box = section.querySelector(".tiles");
      line.machines.forEach(function (m) {
        var tile = box.querySelector('[data-machine="' + CSS.escape(m.id) + '"]');
        if (tile) paintTile(tile, m);
      });
      var order = ds.order === "worst" ? line.worst_first : line.machines.map(function (m) { return m.id; });
      order.forEach(function (id) {  // appendChild moves a tile: the tiles end up in this order
        var tile = box.querySelector('[data-machine="' + CSS.escape(id) + '"]');
        if (tile) box.appendChild(tile);
      });
    });
    var box = root.querySelector('[data-field="alerts"]');
    var texts = data.alerts.map(function (a) {
      return fill(ds.alertText, { name: a.name, min: Math.floor(a.stopped_s / 60) });
    });
    if (texts.join("\n") !== box.dataset.shown) {  // screen readers hear a change, not every poll
      box.dataset.shown = texts.join("\n");
      box.replaceChildren.apply(box, texts.map(function (t) {
        var p = document.createElement("p"), icon = document.createElement("span");
        icon.setAttribute("aria-hidden", "true");
        icon.textContent = "⚠";
        p.append(icon, " " + t);
        return p;
      }));
      box.hidden = texts.length === 0;
    }
  }
  // A refresh that fails says so on the page (a wall screen must not keep showing old tiles as
  // live: a plant model that no longer loads, a server that does not answer).
  var since = new Date();
  function stale(why) {
    var box = root.querySelector('[data-field="stale"]');
    if (!box) return;
    box.hidden = !why;
    box.textContent = why ? fill(ds.staleText, {
      time: since.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), why: why
    }) : "";
  }
  function refresh() {
    fetch("/api/overview?alert_min=" + encodeURIComponent(ds.alertMin), { credentials: "same-origin" })
      .then(function (r) {
        if (r.ok) return r.json();
        if (r.status === 401) { location.href = "/login"; return null; }
        return r.json().then(function (p) { stale(p.detail || p.title); return null; },
                             function () { stale(String(r.status)); return null; });
      })
      .then(function (d) { if (d) { paint(d); since = new Date(); stale(null); } })
      .catch(function () { stale(ds.offline); });
  }
  document.querySelectorAll('[data-field="for"]').forEach(function (el) {
    el.textContent = duration(parseFloat(el.dataset.seconds));
  });
  var alerts = root.querySelector('[data-field="alerts"]');
  alerts.dataset.shown = Array.prototype.map.call(alerts.querySelectorAll("p"), function (p) {
    return p.textContent.replace(/^⚠ /, "");
  }).join("\n");
  if (root.classList.contains("wall")) {
    document.addEventListener("keydown", function (e) {
      var exit = root.querySelector(".wall-exit");
      if (e.key === "Escape" && exit) location.href = exit.href;
    });
  }
  setInterval(refresh, 5000);
})();
