// The data page: an upload checked like `pilotline import`; the notes of what was stored.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var list = document.getElementById("upload-problems");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("file").files[0];
    if (!file) return;
    var q = new URLSearchParams({ filename: file.name });
    var kind = document.getElementById("kind").value;
    var fmt = document.getElementById("timestamp_format").value;
    if (kind) q.set("kind", kind);
    if (fmt) q.set("timestamp_format", fmt);
    window.pilotlineUpload({
      url: "/api/imports?" + q.toString(), file: file,
      csrf: document.getElementById("upload").dataset.csrf,
      bar: document.getElementById("progress"), status: document.getElementById("upload-status"),
      list: list, working: "Checking and storing",
      done: function (body) {
        (body.notes || []).forEach(function (n) {
          var li = document.createElement("li");
          li.textContent = window.pilotlineProblemText({ file: body.file, message: n });
          list.appendChild(li);
        });
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
