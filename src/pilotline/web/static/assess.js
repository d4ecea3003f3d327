// The questionnaire: each answer is sent to PATCH /api/assess/answers as soon as it is given.
(function () {
  const root = document.getElementById("assess");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const role = document.getElementById("role");
  const progress = document.getElementById("progress");

  function value(fs) {
    const kind = fs.dataset.kind;
    const checked = Array.from(fs.querySelectorAll("input:checked"));
    if (kind === "checklist") return checked.map((i) => i.value);
    if (kind === "scale") {
      const v = {};
      checked.forEach((i) => { v[i.dataset.item] = Number(i.value); });
      return v;
    }
    if (kind === "invest") {
      const v = { invested: [], planned: [] };
      checked.forEach((i) => { if (i.value !== "none") v[i.value].push(i.dataset.item); });
      return v;
    }
    if (fs.dataset.items !== "1") return checked.length ? checked[0].value : null;
    const v = {};
    checked.forEach((i) => { v[i.dataset.item] = i.value; });
    return v;
  }

  function show(answers, left) {
    root.querySelectorAll("details.dimension").forEach((d) => {
      const qs = Array.from(d.querySelectorAll("fieldset.question"));
      const done = qs.filter((q) => q.dataset.question in answers).length;
      d.querySelector(".count").textContent = done + "/" + qs.length;
    });
    progress.dataset.left = String(left);
    progress.textContent = left === 0
      ? "All answered: your answers count in the results. You can still change any of them."
      : left + " questions left.";
  }

  async function send(body, fs) {
    const mark = fs ? fs.querySelector(".saved") : progress;
    if (fs) mark.textContent = "Saving…";
    let answer;
    try {
      answer = await fetch("/api/assess/answers", {
        method: "PATCH",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
    } catch (e) {
      mark.textContent = "Not saved: no connection. Change it again to retry.";
      mark.classList.add("bad");
      return;
    }
    const data = await answer.json();
    if (!answer.ok) {
      mark.textContent = "Not saved: " + (data.detail || data.title);
      mark.classList.add("bad");
      return;
    }
    if (fs) { mark.textContent = "Saved"; mark.classList.remove("bad"); }
    show(data.answers, data.missing.length);
  }

  root.addEventListener("change", (e) => {
    if (e.target === role) { send({ role: role.value }, null); return; }
    const fs = e.target.closest("fieldset.question");
    if (!fs) return;
    send({ role: role.value, answers: { [fs.dataset.question]: value(fs) } }, fs);
  });
  root.addEventListener("click", (e) => {
    if (!e.target.matches("button[data-none]")) return;
    const fs = e.target.closest("fieldset.question");
    fs.querySelectorAll("input:checked").forEach((i) => { i.checked = false; });
    send({ role: role.value, answers: { [fs.dataset.question]: [] } }, fs);
  });
})();
