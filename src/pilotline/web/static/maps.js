// The process-maps page: upload an event log; open its map when the server has read it.
(function () {
  "use strict";
  var form = document.getElementById("log-form");
  function value(id) { return document.getElementById(id).value.trim(); }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("log-file").files[0];
    if (!file) return;
    var q = new URLSearchParams({ filename: file.name, case: value("col-case"),
      activity: value("col-activity"), timestamp: value("col-timestamp") });
    if (value("col-resource")) q.set("resource", value("col-resource"));
    if (value("col-format")) q.set("timestamp_format", value("col-format"));
    window.pilotlineUpload({
      url: "/api/logs?" + q.toString(), file: file,
      csrf: document.getElementById("upload").dataset.csrf,
      bar: document.getElementById("progress"), status: document.getElementById("upload-status"),
      list: document.getElementById("upload-problems"), working: "Reading",
      done: function (body) {
        location.href = "/maps/" + body.id;
        return body.name + ": " + body.events + " events in " + body.cases + " cases. Opening the map …";
      }
    });
  });
})();
