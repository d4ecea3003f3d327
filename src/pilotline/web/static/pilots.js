// The pilot form's plan: what the pilot could detect, asked of /api/pilots/plan as the form changes.
(function () {
  const form = document.getElementById("pilot-form");
  const out = document.getElementById("plan");
  if (!form || !out) return;
  const lists = new Set(["metric.machines", "control.machines", "guardrails"]);
  const lowerIsBetter = new Set(["scrap_ratio", "rework_ratio", "setup_rate", "mttr_s"]);

  function draft() {
    // The same shape as the pilot file (and as the server builds it from the form).
    const d = {};
    const data = new FormData(form);
    for (const [name, raw] of data.entries()) {
      const value = String(raw).trim();
      if (name === "csrf" || value === "") continue;
      const [head, tail] = name.split(".", 2);
      const target = tail ? (d[head] = d[head] || {}) : d;
      const key = tail || head;
      if (lists.has(name)) (target[key] = target[key] || []).push(value);
      else target[key] = value;
    }
    if (d.people) d.people = d.people.split("\n").map((s) => s.trim()).filter(Boolean);
    const metric = d.metric || {};
    if (d.design === "control") {
      d.control = Object.assign(d.control || {}, { kpi: metric.kpi, direction: metric.direction || "increase" });
    } else delete d.control;
    d.guardrails = (d.guardrails || []).map((kpi) => ({
      kpi: kpi, machines: metric.machines || [], direction: lowerIsBetter.has(kpi) ? "decrease" : "increase",
    }));
    if (!d.money || !d.money.value_per_unit) delete d.money;
    if (d.seasonality === "none") delete d.seasonality;
    return d;
  }

  let timer = null;
  let asked = 0;
  async function ask() {
    const mine = ++asked;
    out.textContent = "Planning…";
    let answer, body;
    try {
      answer = await fetch("/api/pilots/plan", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": out.dataset.csrf },
        body: JSON.stringify(draft()),
      });
      body = await answer.json();
    } catch (e) {
      if (mine === asked) out.textContent = "The plan could not be reached; the form still works.";
      return;
    }
    if (mine !== asked) return; // a newer answer is on its way
    out.replaceChildren();
    if (!answer.ok) {
      const p = document.createElement("span");
      p.className = "bad";
      p.textContent = "No plan yet: " + (body.detail || body.title || answer.status);
      out.append(p);
      return;
    }
    const unit = body.metric_unit ? " " + body.metric_unit : "";
    const lines = [
      body.verdict,
      `Smallest detectable change: ${body.mde.toFixed(2)}${unit} with ${body.baseline_points} baseline and ` +
        `${body.pilot_points} pilot ${body.unit}s (autocorrelation ρ = ${body.rho.toFixed(2)}; ignoring it would claim ` +
        `${body.naive_mde.toFixed(2)}).`,
    ];
    if ("points_needed_for_target" in body) {
      lines.push(body.points_needed_for_target
        ? `${body.unit}s needed for the target: about ${body.points_needed_for_target}.`
        : "The target is smaller than this baseline can ever show: lengthen the baseline.");
    }
    for (const text of lines) {
      const p = document.createElement("span");
      p.textContent = text;
      out.append(p, document.createElement("br"));
    }
    out.dataset.mde = String(body.mde);
  }
  function soon() { clearTimeout(timer); timer = setTimeout(ask, 400); }
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  ask();
})();
