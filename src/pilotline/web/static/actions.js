// Small actions without inline script (pages run under a Content-Security-Policy that allows
// none): a form with data-confirm asks before it is sent; a button with data-print prints.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      ev.preventDefault();
    }
  });
  document.addEventListener("click", function (ev) {
    const button = ev.target instanceof Element ? ev.target.closest("[data-print]") : null;
    if (button) window.print();
  });
})();
