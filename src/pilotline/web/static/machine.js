// A page's charts (the machine page, a pilot): plotly specs from the page (data-figure), drawn with the bundled
// plotly.js. Titles are HTML headings and legends sit under the plot, so the toolbar (top
// margin, shown on hover) and the legend never cover data or titles; charts follow the width.
(function () {
  "use strict";
  const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] };
  function draw() {
    document.querySelectorAll("div.plot[data-figure]").forEach(function (el) {
      const fig = JSON.parse(el.dataset.figure);
      el.dataset.drawn = "pending";
      Plotly.newPlot(el, fig.data, fig.layout, config).then(function () { el.dataset.drawn = "yes"; });
    });
  }
  if (window.Plotly) draw(); else window.addEventListener("load", draw);
})();
