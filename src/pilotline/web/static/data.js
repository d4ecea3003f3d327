// The data page: uploads with a progress bar, the answer in plain words, the problem list if any.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var bar = document.getElementById("progress");
  var status = document.getElementById("upload-status");
  var list = document.getElementById("upload-problems");
  var csrf = document.getElementById("upload").dataset.csrf;

  function say(text, ok) {
    status.textContent = text;
    status.className = ok ? "ok" : "bad";
  }
  function problems(items) {
    list.textContent = "";
    (items || []).forEach(function (p) {
      var li = document.createElement("li");
      var where = p.file + (p.row ? ", row " + p.row : "") + (p.column ? ", column '" + p.column + "'" : "");
      li.textContent = where + ": " + p.message;
      list.appendChild(li);
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("file").files[0];
    if (!file) return;
    var q = new URLSearchParams({ filename: file.name });
    var kind = document.getElementById("kind").value;
    var fmt = document.getElementById("timestamp_format").value;
    if (kind) q.set("kind", kind);
    if (fmt) q.set("timestamp_format", fmt);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/imports?" + q.toString());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    bar.hidden = false;
    bar.value = 0;
    problems([]);
    say("Uploading " + file.name + " …", true);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) bar.value = e.loaded / e.total;
    };
    xhr.upload.onload = function () { say("Checking and storing " + file.name + " …", true); };
    xhr.onerror = function () { say("The upload broke off; nothing was imported. Try again.", false); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        bar.value = 1;
        var skipped = body.skipped ? ", " + body.skipped + " already stored" : "";
        say(body.file + ": " + body.rows + " " + body.kind + " row(s), " + body.new_rows + " new" + skipped + ".", true);
        problems((body.notes || []).map(function (n) { return { file: body.file, message: n }; }));
      } else {
        say((body.title || "Error " + xhr.status) + ": " + (body.detail || ""), false);
        problems(body.problems);
      }
    };
    xhr.send(file);
  });
})();
