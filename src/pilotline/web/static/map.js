// The process map page: the map drawn inline (Graphviz's SVG) with zoom and pan (wheel, drag,
// pinch, buttons, keys), a click on an activity or a path for its cases and variants, the
// sliders redrawing the map in place, and the check against a model. No library: a viewBox
// moved over the drawing. At the default zoom one drawing unit (a point) is at least one pixel,
// so the 12-point path labels are at least 12 px high.
(function () {
  "use strict";
  var view = document.getElementById("map-view");
  var form = document.getElementById("sliders");
  if (!view || !form) return;
  var logId = view.dataset.log;
  var statistic = view.dataset.statistic;
  var statWords = view.dataset.statWords;
  var acts = document.getElementById("activities");
  var paths = document.getElementById("paths");
  var metric = document.getElementById("metric");
  var level = document.getElementById("zoom-level");
  var READABLE = 1.0, MOST = 1.6, MIN = 0.05, MAX = 8;
  var svg = null, box = null;           // the drawing and its extent in drawing units
  var at = { x: 0, y: 0, s: 1 };        // drawing point at the view's top left; pixels per unit
  var selected = null;

  function size() { return { w: view.clientWidth || 1, h: view.clientHeight || 1 }; }
  function apply() {
    if (!svg) return;
    var v = size();
    svg.setAttribute("viewBox", [at.x, at.y, v.w / at.s, v.h / at.s].join(" "));
    level.textContent = Math.round(at.s * 100) + " %";
    view.dataset.scale = String(at.s);
  }
  function centre(s) {
    var v = size();
    at.s = s;
    at.x = box.x + box.w / 2 - v.w / (2 * s);
    // Taller than the view: begin at the top, where the cases start.
    at.y = box.h * s > v.h ? box.y : box.y + box.h / 2 - v.h / (2 * s);
    apply();
  }
  function fitScale() { var v = size(); return Math.min(v.w / box.w, v.h / box.h); }
  function readable() { centre(Math.max(READABLE, Math.min(MOST, fitScale()))); }
  function zoom(factor, px, py) {
    var v = size();
    if (px === undefined) { px = v.w / 2; py = v.h / 2; }
    var s = Math.max(MIN, Math.min(MAX, at.s * factor));
    var gx = at.x + px / at.s, gy = at.y + py / at.s;
    at.s = s; at.x = gx - px / s; at.y = gy - py / s;
    apply();
  }

  function show(text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var drawing = doc.documentElement;
    if (!drawing || drawing.nodeName !== "svg") return;
    drawing = document.importNode(drawing, true);
    var vb = (drawing.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
    box = { x: vb[0], y: vb[1], w: vb[2] || 1, h: vb[3] || 1 };
    drawing.removeAttribute("width");
    drawing.removeAttribute("height");
    drawing.setAttribute("width", "100%");
    drawing.setAttribute("height", "100%");
    drawing.setAttribute("role", "img");
    drawing.setAttribute("aria-label", "Process map");
    view.textContent = "";
    view.appendChild(drawing);
    svg = drawing;
    selected = null;
    readable();
  }

  function query(extra) {
    var q = new URLSearchParams({ activities: acts.value, paths: paths.value,
      metric: metric.value, statistic: statistic });
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q.toString();
  }
  function load() {
    return fetch("/api/logs/" + encodeURIComponent(logId) + "/map?" + query(), { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { note([(res.body.title || "Error") + ": " + (res.body.detail || "")]); return; }
        show(res.body.svg);
        note(res.body.notes);
        view.dataset.ready = "1";
      });
  }
  function note(lines) {
    var list = document.getElementById("map-notes");
    list.textContent = "";
    lines.forEach(function (t) { var li = document.createElement("li"); li.textContent = t; list.appendChild(li); });
  }

  // Zoom and pan: wheel, drag with a mouse or a finger, pinch with two, buttons and keys.
  var pointers = {};
  var drag = null;
  function local(e) { var r = view.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; }
  view.addEventListener("wheel", function (e) {
    if (!svg) return;
    e.preventDefault();
    var p = local(e);
    zoom(Math.exp(-e.deltaY * 0.0015), p.x, p.y);
  }, { passive: false });
  view.addEventListener("pointerdown", function (e) {
    if (!svg) return;
    pointers[e.pointerId] = local(e);
    var ids = Object.keys(pointers);
    if (ids.length === 1) drag = { start: local(e), moved: false, target: e.target };
    else { drag = null; }
    try { view.setPointerCapture(e.pointerId); } catch (err) { /* a pointer already gone */ }
  });
  view.addEventListener("pointermove", function (e) {
    if (!(e.pointerId in pointers)) return;
    var p = local(e), before = pointers[e.pointerId];
    var ids = Object.keys(pointers);
    if (ids.length === 2) {
      var other = pointers[ids[0] === String(e.pointerId) ? ids[1] : ids[0]];
      var d0 = Math.hypot(before.x - other.x, before.y - other.y);
      var d1 = Math.hypot(p.x - other.x, p.y - other.y);
      if (d0 > 0) zoom(d1 / d0, (p.x + other.x) / 2, (p.y + other.y) / 2);
    } else if (drag) {
      if (Math.hypot(p.x - drag.start.x, p.y - drag.start.y) > 4) drag.moved = true;
      if (drag.moved) { at.x -= (p.x - before.x) / at.s; at.y -= (p.y - before.y) / at.s; apply(); }
    }
    pointers[e.pointerId] = p;
  });
  function up(e) {
    if (!(e.pointerId in pointers)) return;
    delete pointers[e.pointerId];
    if (drag && !drag.moved && e.type === "pointerup") pick(drag.target);
    drag = null;
  }
  view.addEventListener("pointerup", up);
  view.addEventListener("pointercancel", up);
  view.addEventListener("keydown", function (e) {
    var step = 40 / at.s;
    var keys = { "+": function () { zoom(1.25); }, "=": function () { zoom(1.25); }, "-": function () { zoom(0.8); },
      "0": readable, ArrowLeft: function () { at.x -= step; apply(); }, ArrowRight: function () { at.x += step; apply(); },
      ArrowUp: function () { at.y -= step; apply(); }, ArrowDown: function () { at.y += step; apply(); } };
    if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
  });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(0.8); });
  document.getElementById("zoom-fit").addEventListener("click", function () { if (box) centre(fitScale()); });
  document.getElementById("zoom-100").addEventListener("click", function () { if (box) zoom(1 / at.s); });
  window.addEventListener("resize", function () { if (box) apply(); });

  // Click into the map: an activity or a path, its cases and variants beside the map.
  function pick(target) {
    var g = target && target.closest ? target.closest("g.node, g.edge") : null;
    if (!g || !g.id) return;
    var parts = g.id.split(":");
    var what;
    if (parts[0] === "a" && parts.length === 2) what = { activity: decodeURIComponent(parts[1]) };
    else if (parts[0] === "e" && parts.length === 3) {
      what = {};
      if (parts[1]) what.source = decodeURIComponent(parts[1]);
      if (parts[2]) what.target = decodeURIComponent(parts[2]);
    } else return;
    if (selected) selected.classList.remove("selected");
    selected = g;
    g.classList.add("selected");
    drill(what);
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function human(s) {
    if (s === null || s === undefined) return "–";
    var units = [["d", 86400], ["h", 3600], ["min", 60]];
    for (var i = 0; i < units.length; i++) if (s >= units[i][1]) return (s / units[i][1]).toFixed(1) + " " + units[i][0];
    return Math.round(s) + " s";
  }
  function pct(x) { return (x * 100).toFixed(1) + " %"; }
  function drill(what) {
    var title = document.getElementById("detail-title");
    var body = document.getElementById("detail-body");
    title.textContent = what.activity !== undefined ? what.activity
      : (what.source || "start") + " → " + (what.target || "end");
    body.textContent = "Counting the cases …";
    var q = new URLSearchParams({ activities: acts.value, statistic: statistic });
    Object.keys(what).forEach(function (k) { q.set(k, what[k]); });
    fetch("/api/logs/" + encodeURIComponent(logId) + "/cases?" + q.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        var b = res.body;
        body.textContent = "";
        if (!res.ok) { body.appendChild(el("p", (b.title || "Error") + ": " + (b.detail || ""), "bad")); return; }
        var facts = el("ul", undefined, "facts");
        facts.id = "detail-facts";
        facts.appendChild(el("li", b.cases.toLocaleString("en") + " cases (" + pct(b.share) + " of all)"));
        facts.appendChild(el("li", (b.what === "activity" ? "done " : "taken ") + b.times.toLocaleString("en") + " times"));
        if (b.step_time_s !== undefined && b.step_time_s !== null)
          facts.appendChild(el("li", statWords + " time between the steps: " + human(b.step_time_s)));
        facts.appendChild(el("li", statWords + " case duration: " + human(b.case_duration_s)));
        facts.appendChild(el("li", b.variant_count.toLocaleString("en") + " variants"));
        body.appendChild(facts);
        var table = el("table", undefined, "list");
        var head = el("tr");
        ["Variant", "Cases", "Share", "Steps"].forEach(function (h) { var th = el("th", h); th.scope = "col"; head.appendChild(th); });
        var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
        var tbody = el("tbody");
        b.variants.forEach(function (v) {
          var tr = el("tr");
          tr.appendChild(el("td", "#" + v.variant));
          tr.appendChild(el("td", String(v.cases)));
          tr.appendChild(el("td", pct(v.share)));
          var steps = el("td", v.activities.join(" → "));
          steps.title = v.steps + " steps";
          tr.appendChild(steps);
          tbody.appendChild(tr);
        });
        table.appendChild(tbody);
        body.appendChild(el("h3", "Variants"));
        body.appendChild(table);
        body.appendChild(el("h3", "Cases"));
        var ids = el("p", b.case_ids.join(", ") + (b.more ? " … and " + b.more.toLocaleString("en") + " more" : ""), "case-ids");
        ids.id = "detail-cases";
        body.appendChild(ids);
        var link = el("a", "Download all " + b.cases.toLocaleString("en") + " cases (CSV)");
        link.href = b.csv;
        link.setAttribute("download", "");
        body.appendChild(link);
      })
      .catch(function () { body.textContent = "Could not count the cases; try again."; });
  }
  document.getElementById("pick").addEventListener("change", function (e) {
    if (e.target.value) drill({ activity: e.target.value });
  });

  // The sliders redraw the map in place; the tables follow the activity slider when let go.
  var timer = null;
  function redraw() {
    document.getElementById("activities-out").textContent = acts.value + " %";
    document.getElementById("paths-out").textContent = paths.value + " %";
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  }
  acts.addEventListener("input", redraw);
  paths.addEventListener("input", redraw);
  metric.addEventListener("change", redraw);
  acts.addEventListener("change", function () { location.search = query(); });
  document.getElementById("statistic").addEventListener("change", function (e) {
    statistic = e.target.value;
    location.search = query();
  });
  load();
})();

// Check the log against a routing model or a Petri net: the page shows the kept result.
(function () {
  "use strict";
  var box = document.getElementById("conform");
  var form = document.getElementById("conform-form");
  if (!box || !form) return;
  var status = document.getElementById("conform-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("model-file").files[0];
    if (!file) return;
    status.className = "";
    status.textContent = "Checking " + file.name + " …";
    fetch("/api/logs/" + encodeURIComponent(box.dataset.log) + "/conform?filename=" + encodeURIComponent(file.name), {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "X-CSRF-Token": box.dataset.csrf, "Content-Type": "application/octet-stream" }
    }).then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        var b = res.body;
        if (!res.ok) {
          status.className = "bad";
          status.textContent = (b.title || "Error") + ": " + (b.detail || "");
          return;
        }
        location.hash = "conform";
        location.reload();
      })
      .catch(function () { status.className = "bad"; status.textContent = "The check broke off; try again."; });
  });
})();
