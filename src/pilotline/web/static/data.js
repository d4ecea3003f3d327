// The data page's upload form, as an import wizard: choose a file, see what Pilotline reads in
// it (what it holds, which column is which, the timestamp format, number style and encoding),
// change what is wrong, import. Everything shown comes from the server's preview of the file's
// first rows; the import checks every row again. Text only (no HTML from the file).
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var form = $("upload-form");
  var list = $("upload-problems");
  var csrf = $("upload").dataset.csrf;
  var PREVIEW_BYTES = 256 * 1024;
  var look = null;  // the last preview
  var LEAVE_OUT = "";

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function say(id, text, ok) {
    var p = $(id);
    p.textContent = text;
    p.className = ok === undefined ? "" : (ok ? "ok" : "bad");
  }

  function isCsv(name) { return /\.(csv|txt|tsv)$/i.test(name); }

  // -- the preview ------------------------------------------------------------------------------
  $("file").addEventListener("change", function () {
    var file = $("file").files[0];
    look = null;  // a new file: nothing chosen for the last one carries over
    $("mapping").hidden = true;
    $("unknown").hidden = true;
    $("timestamp_format").value = "";
    $("ignore_extra").checked = false;
    $("kind").value = "";
    list.textContent = "";
    say("upload-status", "");
    if (!file) return;
    var partial = isCsv(file.name) && file.size > PREVIEW_BYTES;
    var body = partial ? file.slice(0, PREVIEW_BYTES) : file;
    var q = new URLSearchParams({ filename: file.name, partial: partial ? "true" : "false" });
    say("preview-status", "Reading the first rows of " + file.name + " …");
    fetch("/api/imports/preview?" + q.toString(), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": csrf }
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (res) {
      if (!res.ok) {
        $("mapping").hidden = false;  // 'What it holds' and the options stay at hand
        $("mapping-rows").textContent = "";
        say("detected", "");
        say("preview-status", (res.body.title || "Error") + ": " + (res.body.detail || ""), false);
        showProblems(res.body.problems || []);
        return;
      }
      look = res.body;
      say("preview-status", "");
      showPreview();
    }).catch(function () {
      $("mapping").hidden = false;
      say("preview-status", "The file could not be sent for a first look; you can still import it.", false);
    });
  });

  function kindNow() { return $("kind").value || (look && look.kind) || ""; }

  function showPreview() {
    var known = look.remembered;
    $("mapping").hidden = false;
    $("event-log").hidden = !look.event_log;
    $("kind").value = look.kind || "";
    var title = look.kind ? look.kinds[look.kind].title : null;
    var text;
    if (known) {
      text = "Recognised by its " + known.by + ": set up as it was for the import of " +
        known.saved_at.replace("T", " ").replace("Z", " UTC") + " by " + known.saved_by +
        " (" + look.kinds[known.kind].title + "). Check it and import.";
    } else if (title) {
      text = "This looks like " + title.toLowerCase() + ". Check what each column holds.";
    } else {
      text = "Pilotline cannot tell what this file holds: choose it under 'What it holds'.";
    }
    say("detected", text);
    $("decimal_comma").checked = look.decimal_comma;
    $("encoding").value = look.encoding;
    var opts = (known && known.options) || {};
    if (opts.timestamp_format) $("timestamp_format").value = opts.timestamp_format;
    if (opts.ignore_extra) $("ignore_extra").checked = true;
    if (opts.decimal_comma !== undefined) $("decimal_comma").checked = !!opts.decimal_comma;
    if (opts.encoding) $("encoding").value = opts.encoding;
    $("counter_bits").value = opts.counter_bits ? String(opts.counter_bits) : "";
    paintRows();
    showUnknown(look.unknown_machines.reduce(count, {}), look.unknown_reasons.reduce(count, {}), true);
  }

  function count(acc, k) { acc[k] = null; return acc; }
  function rowsText(n) { return n ? " (" + n + (n === 1 ? " row)" : " rows)") : ""; }

  function paintRows() {
    var kind = kindNow();
    $("counter-bits-field").hidden = kind !== "counters";
    var rows = $("mapping-rows");
    rows.textContent = "";
    var suggestions = kind ? look.suggestions[kind] : look.headers.map(function (h) { return { header: h, column: null, why: "" }; });
    var columns = kind ? look.kinds[kind].columns : [];
    suggestions.forEach(function (s, i) {
      var tr = el("tr");
      var th = el("th", s.header);
      th.scope = "row";
      tr.appendChild(th);
      var samples = look.rows.map(function (r) { return r[i]; }).filter(function (v) { return v !== null && v !== undefined; });
      tr.appendChild(el("td", samples.slice(0, 3).join(" · "), "samples"));
      var td = el("td");
      var select = el("select");
      select.dataset.header = s.header;
      select.setAttribute("aria-label", "What the column '" + s.header + "' holds");
      var none = el("option", "— leave out —");
      none.value = LEAVE_OUT;
      select.appendChild(none);
      columns.forEach(function (c) {
        var o = el("option", c.label + (c.label !== c.name ? " · " + c.name : "") + (c.required ? " (required)" : ""));
        o.value = c.name;
        o.title = c.help;
        select.appendChild(o);
      });
      select.value = s.column || LEAVE_OUT;
      select.addEventListener("change", function () { checkRows(); showFormats(); });
      td.appendChild(select);
      if (s.why) td.appendChild(el("small", s.why === "remembered" ? " remembered" : s.why === "values" ? " from the values" : " from the name", "why"));
      tr.appendChild(td);
      rows.appendChild(tr);
    });
    checkRows();
    showFormats();
  }

  function chosen() {
    var out = {};
    Array.prototype.forEach.call($("mapping-rows").querySelectorAll("select"), function (s) {
      out[s.dataset.header] = s.value;
    });
    return out;
  }

  function checkRows() {
    var kind = kindNow();
    if (!kind) { say("missing", ""); return; }
    var used = {};
    var map = chosen();
    Object.keys(map).forEach(function (h) { if (map[h]) used[map[h]] = (used[map[h]] || 0) + 1; });
    var missing = look.kinds[kind].columns.filter(function (c) { return c.required && !used[c.name]; })
      .map(function (c) { return c.name; });
    var twice = Object.keys(used).filter(function (c) { return used[c] > 1; });
    var text = "";
    if (missing.length) text += "Still needed: " + missing.join(", ") + ". ";
    if (twice.length) text += "Chosen for two columns: " + twice.join(", ") + ".";
    say("missing", text);
  }

  function showFormats() {
    var map = chosen();
    var box = $("format-buttons");
    box.textContent = "";
    var found = [];
    Object.keys(map).forEach(function (h) {
      var fits = look.timestamp_formats[h];
      if (map[h] && fits && fits.length) found.push({ header: h, fits: fits });
    });
    if (!found.length) { say("format-found", ""); return; }
    var f = found[0];
    var example = look.rows.length ? look.rows[0][look.headers.indexOf(f.header)] : "";
    say("format-found", "The column '" + f.header + "' writes times like '" + example + "', which " +
      (f.fits.length === 1 ? "reads as " + f.fits[0] + "." : "reads as any of " + f.fits.join(" or ") + " (day and month can be either way round): choose the one your system writes."));
    var spelt = look.timestamp_examples[f.header] || {};
    f.fits.slice(0, 3).forEach(function (fmt) {
      var b = el("button", "Use this format: " + fmt + (spelt[fmt] ? " ('" + example + "' is " + spelt[fmt] + ")" : ""));
      b.type = "button";
      b.className = "use-format";
      b.addEventListener("click", function () {
        $("timestamp_format").value = fmt;
        say("format-found", "The format " + fmt + " will be used.", true);
      });
      box.appendChild(b);
    });
  }

  $("kind").addEventListener("change", function () { if (look) paintRows(); });

  // -- problems and what the plant model lacks --------------------------------------------------
  function showProblems(problems) {
    list.textContent = "";
    problems.forEach(function (p) {
      var li = el("li", window.pilotlineProblemText(p));
      // A column's hint naming the layouts its times read with: one button each.
      var formats = p.row === null && /read as '/.test(p.message) ? (p.message.match(/'%[^']+'/g) || []) : [];
      formats.forEach(function (quoted) {
        var fmt = quoted.slice(1, -1);
        var b = el("button", "Use this format: " + fmt + " and import again");
        b.type = "button";
        b.className = "use-format";
        b.addEventListener("click", function () {
          $("timestamp_format").value = fmt;
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        });
        li.appendChild(document.createTextNode(" "));
        li.appendChild(b);
      });
      list.appendChild(li);
    });
  }

  function showUnknown(machines, reasons, fromPreview) {
    var box = $("unknown");
    var rows = $("unknown-rows");
    rows.textContent = "";
    var admin = !!box.dataset.admin;
    var lines = (look && look.lines) || [];
    var categories = (look && look.categories) || [];
    Object.keys(machines).forEach(function (id) {
      var tr = el("tr");
      tr.dataset.machine = id;
      tr.appendChild(el("th", id));
      tr.firstChild.scope = "row";
      tr.appendChild(el("td", "machine" + rowsText(machines[id])));
      var td = el("td");
      if (admin && lines.length) {
        var line = el("select");
        line.className = "line";
        line.setAttribute("aria-label", "Line of machine " + id);
        lines.forEach(function (n) { var o = el("option", n); o.value = n; line.appendChild(o); });
        var cycle = el("input");
        cycle.type = "number"; cycle.min = "0.001"; cycle.step = "any"; cycle.value = "1";
        cycle.className = "cycle";
        cycle.setAttribute("aria-label", "Ideal cycle time of " + id + " in seconds");
        td.appendChild(line);
        td.appendChild(document.createTextNode(" ideal cycle "));
        td.appendChild(cycle);
        td.appendChild(document.createTextNode(" s"));
      } else {
        td.textContent = "a machine in the settings";
      }
      tr.appendChild(td);
      rows.appendChild(tr);
    });
    Object.keys(reasons).forEach(function (code) {
      var tr = el("tr");
      tr.dataset.reason = code;
      var th = el("th", code);
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(el("td", "reason code" + rowsText(reasons[code])));
      var td = el("td");
      if (admin && categories.length) {
        var cat = el("select");
        cat.className = "category";
        cat.setAttribute("aria-label", "Loss category of " + code);
        categories.forEach(function (c) { var o = el("option", c.label); o.value = c.key; cat.appendChild(o); });
        td.appendChild(cat);
      } else {
        td.textContent = "a reason code in the settings";
      }
      tr.appendChild(td);
      rows.appendChild(tr);
    });
    var n = Object.keys(machines).length + Object.keys(reasons).length;
    box.hidden = n === 0;
    var later = "Unknown reason codes are imported; their stops count without a loss category until the code is added.";
    say("unknown-hint", fromPreview === true
      ? "Seen in the first rows. Unknown machines stop the import. " + later
      : fromPreview === "imported" ? later
      : "Unknown machines stopped the import. " + later);
  }

  var add = $("add-to-plant");
  if (add) add.addEventListener("click", function () {
    var body = { machines: [], reasons: {} };
    Array.prototype.forEach.call($("unknown-rows").querySelectorAll("tr"), function (tr) {
      if (tr.dataset.machine) {
        body.machines.push({ id: tr.dataset.machine, line: tr.querySelector(".line").value,
          ideal_cycle_s: parseFloat(tr.querySelector(".cycle").value) });
      } else if (tr.dataset.reason) {
        body.reasons[tr.dataset.reason] = tr.querySelector(".category").value;
      }
    });
    fetch("/api/imports/plant-additions", {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (res.ok) {
          say("add-status", "Added to the plant model: " + res.body.machines.concat(res.body.reasons).join(", ") + ". Import the file again.", true);
          $("unknown-rows").textContent = "";
        } else {
          say("add-status", (res.body.title || "Error") + ": " + (res.body.detail || ""), false);
        }
      });
  });

  // -- the import ---------------------------------------------------------------------------------
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = $("file").files[0];
    if (!file) return;
    var q = new URLSearchParams({ filename: file.name });
    var kind = kindNow();
    var fmt = $("timestamp_format").value;
    if (kind) q.set("kind", kind);
    if (fmt) q.set("timestamp_format", fmt);
    if (look) {
      q.set("mapping", JSON.stringify(chosen()));
      q.set("decimal_comma", $("decimal_comma").checked ? "true" : "false");
      q.set("encoding", $("encoding").value);
      q.set("remember_mapping", $("remember").checked ? "true" : "false");
    }
    if ($("ignore_extra").checked) q.set("ignore_extra", "true");
    if (kind === "counters" && $("counter_bits").value) q.set("counter_bits", $("counter_bits").value);
    $("unknown").hidden = true;
    window.pilotlineUpload({
      url: "/api/imports?" + q.toString(), file: file, csrf: csrf,
      bar: $("progress"), status: $("upload-status"),
      list: list, working: "Checking and storing",
      failed: function (body) {
        showProblems(body.problems || []);
        var m = body.unknown_machines || {}, r = body.unknown_reasons || {};
        if (Object.keys(m).length || Object.keys(r).length) showUnknown(m, r, false);
      },
      done: function (body) {
        (body.notes || []).forEach(function (n) {
          list.appendChild(el("li", window.pilotlineProblemText({ file: body.file, message: n })));
        });
        if (body.unknown_reasons && Object.keys(body.unknown_reasons).length) showUnknown({}, body.unknown_reasons, "imported");
        var skipped = body.skipped ? ", " + body.skipped + " already stored" : "";
        return body.file + ": " + body.rows + " " + body.kind + " row(s), " + body.new_rows + " new" + skipped + ".";
      }
    });
  });
})();

// The live collectors' table follows /api/collectors every 5 seconds (text only, no HTML).
(function () {
  "use strict";
  var box = document.getElementById("collectors");
  if (!box) return;
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }
  function paint(list) {
    if (!list.length) return;  // keep the page's hint on how to start one
    box.textContent = "";
    list.forEach(function (c) {
      var h = document.createElement("h3");
      var state = document.createElement("span");
      state.className = c.running ? "ok" : "bad";
      state.textContent = c.running ? "running" : "not running (last seen " + Math.round(c.age_s) + " s ago)";
      h.textContent = c.name + " — ";
      h.appendChild(state);
      var small = document.createElement("small");
      small.textContent = " store: " + c.store.state + (c.store.detail ? " — " + c.store.detail : "");
      h.appendChild(small);
      box.appendChild(h);
      var table = document.createElement("table");
      table.className = "list";
      var head = document.createElement("tr");
      ["Source", "Where", "State", "Received", "Stored", "Problems"].forEach(function (t) {
        var th = document.createElement("th");
        th.scope = "col";
        th.textContent = t;
        head.appendChild(th);
      });
      var thead = document.createElement("thead");
      thead.appendChild(head);
      table.appendChild(thead);
      var body = document.createElement("tbody");
      c.sources.forEach(function (s) {
        var tr = document.createElement("tr");
        [s.name, s.endpoint, s.state + (s.detail ? " " + s.detail : ""), s.received, s.stored, s.problems]
          .forEach(function (v) { cell(tr, String(v)); });
        body.appendChild(tr);
      });
      table.appendChild(body);
      box.appendChild(table);
    });
  }
  setInterval(function () {
    fetch("/api/collectors", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) paint(d); })
      .catch(function () {});
  }, 5000);
})();
