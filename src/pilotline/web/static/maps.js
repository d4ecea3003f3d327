// The process-maps page: upload an event log with a progress bar; open its map when it is read.
(function () {
  "use strict";
  var form = document.getElementById("log-form");
  var bar = document.getElementById("progress");
  var status = document.getElementById("upload-status");
  var list = document.getElementById("upload-problems");
  var csrf = document.getElementById("upload").dataset.csrf;
  function say(text, ok) { status.textContent = text; status.className = ok ? "ok" : "bad"; }
  function value(id) { return document.getElementById(id).value.trim(); }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("log-file").files[0];
    if (!file) return;
    var q = new URLSearchParams({ filename: file.name, case: value("col-case"),
      activity: value("col-activity"), timestamp: value("col-timestamp") });
    if (value("col-resource")) q.set("resource", value("col-resource"));
    if (value("col-format")) q.set("timestamp_format", value("col-format"));
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/logs?" + q.toString());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    bar.hidden = false; bar.value = 0; list.textContent = "";
    say("Uploading " + file.name + " …", true);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = e.loaded / e.total; };
    xhr.upload.onload = function () { say("Reading " + file.name + " …", true); };
    xhr.onerror = function () { say("The upload broke off; nothing was kept. Try again.", false); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        say(body.name + ": " + body.events + " events in " + body.cases + " cases. Opening the map …", true);
        location.href = "/maps/" + body.id;
        return;
      }
      say((body.title || "Error " + xhr.status) + ": " + (body.detail || ""), false);
      (body.problems || []).forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.file + (p.row ? ", row " + p.row : "") + (p.column ? ", column '" + p.column + "'" : "") + ": " + p.message;
        list.appendChild(li);
      });
    };
    xhr.send(file);
  });
})();
