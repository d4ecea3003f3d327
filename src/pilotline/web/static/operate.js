// The operator's page keeps itself current: it reloads every 20 s (data-refresh-s on <main>),
// but never while someone is touching it (a tap in the last 15 s) or while it asks to confirm.
(() => {
  const every = Number(document.querySelector("[data-refresh-s]")?.dataset.refreshS || 20);
  let touched = Date.now();
  for (const kind of ["pointerdown", "keydown", "input"]) {
    document.addEventListener(kind, () => { touched = Date.now(); }, { passive: true });
  }
  setInterval(() => {
    const busy = document.querySelector(".confirm") || Date.now() - touched < Math.min(15, every) * 1000;
    if (!busy && document.visibilityState === "visible") location.reload();
  }, every * 1000);
})();
