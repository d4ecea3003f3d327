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
