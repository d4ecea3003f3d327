// The process map's sliders: the image follows them without reloading the page.
(function () {
  "use strict";
  var form = document.getElementById("sliders");
  var img = document.getElementById("map");
  var acts = document.getElementById("activities");
  var paths = document.getElementById("paths");
  var metric = document.getElementById("metric");
  var timer = null;
  function draw() {
    document.getElementById("activities-out").textContent = acts.value + " %";
    document.getElementById("paths-out").textContent = paths.value + " %";
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = new URLSearchParams({ activities: acts.value, paths: paths.value, metric: metric.value });
      img.src = "/api/logs/" + encodeURIComponent(form.dataset.log) + "/map.svg?" + q.toString();
    }, 250);
  }
  acts.addEventListener("input", draw);
  paths.addEventListener("input", draw);
  metric.addEventListener("change", draw);
  // The tables below the map follow the activity slider when it is let go.
  acts.addEventListener("change", function () {
    var q = new URLSearchParams({ activities: acts.value, paths: paths.value, metric: metric.value });
    location.search = q.toString();
  });
})();

// Check the log against a routing model or a Petri net; the answer in plain words.
(function () {
  "use strict";
  var box = document.getElementById("conform");
  var form = document.getElementById("conform-form");
  if (!box || !form) return;
  var status = document.getElementById("conform-status");
  var details = document.getElementById("conform-details");
  function line(text) {
    var li = document.createElement("li");
    li.textContent = text;
    details.appendChild(li);
  }
  function pct(x) { return (x * 100).toFixed(1) + " %"; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("model-file").files[0];
    if (!file) return;
    status.textContent = "Checking " + file.name + " …";
    status.className = "ok";
    details.textContent = "";
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
        var fitness = b.kind === "token replay" ? b.log_fitness : b.mean_fitness;
        status.textContent = b.fitting_cases + " of " + b.cases + " cases (" + pct(b.fitting_share) +
          ") follow the model; fitness " + fitness.toFixed(3) + " (" + b.kind + ").";
        if (b.by_kind) {
          Object.keys(b.by_kind).forEach(function (k) {
            var d = b.by_kind[k];
            line(k + ": " + d.deviations + " times in " + d.cases + " cases");
          });
        } else {
          line("missing tokens " + b.missing + " of " + b.consumed + ", remaining " + b.remaining + " of " + b.produced);
        }
      })
      .catch(function () { status.className = "bad"; status.textContent = "The check broke off; try again."; });
  });
})();
