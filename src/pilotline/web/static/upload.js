// Uploads a file as a request body with a progress bar, then says in plain words what came back
// (a located problem list when the server refused it). Used by the data and process-map pages.
(function () {
  "use strict";
  function problemText(p) {
    return p.file + (p.row ? ", row " + p.row : "") + (p.column ? ", column '" + p.column + "'" : "") + ": " + p.message;
  }
  window.pilotlineUpload = function (o) {
    // o: url, file, csrf, bar, status, list, working (text while the server reads), done(body),
    // failed(body) (optional: shows a refusal's problems instead of the plain list)
    function say(text, ok) { o.status.textContent = text; o.status.className = ok ? "ok" : "bad"; }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", o.url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", o.csrf);
    o.bar.hidden = false;
    o.bar.value = 0;
    o.list.textContent = "";
    say("Uploading " + o.file.name + " …", true);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) o.bar.value = e.loaded / e.total; };
    xhr.upload.onload = function () { say(o.working + " " + o.file.name + " …", true); };
    xhr.onerror = function () { say("The upload broke off; nothing was kept. Try again.", false); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) {
        o.bar.value = 1;
        say(o.done(body), true);
        return;
      }
      say((body.title || "Error " + xhr.status) + ": " + (body.detail || ""), false);
      if (o.failed) { o.failed(body); return; }  // the page lists the problems its own way
      (body.problems || []).forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = problemText(p);
        o.list.appendChild(li);
      });
    };
    xhr.send(o.file);
  };
  window.pilotlineProblemText = problemText;
})();
