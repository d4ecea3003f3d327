// The machine page's "start a pilot on <reason>, <machine>" links, from the downtime Pareto.
(function () {
  const box = document.getElementById("pilot-starts");
  if (!box) return;
  const d = box.dataset;
  const next = new Date(d.end + "T00:00:00Z");
  next.setUTCDate(next.getUTCDate() + 1);
  const query = new URLSearchParams({ machine: d.machine, start: d.start + "T00:00:00Z", end: next.toISOString() });
  fetch("/api/pareto?" + query).then((r) => (r.ok ? r.json() : [])).then((rows) => {
    const list = box.querySelector("ul");
    for (const row of rows.slice(0, 3)) {
      const reason = row.reason || row.category;
      if (!reason) continue;
      const a = document.createElement("a");
      a.href = "/pilots/new?" + new URLSearchParams({ machine: d.machine, reason: reason });
      a.textContent = `Start a pilot on ${reason}, ${d.label} (${(row.lost_s / 3600).toFixed(1)} h lost)`;
      const li = document.createElement("li");
      li.append(a);
      list.append(li);
    }
    box.hidden = list.children.length === 0;
  });
})();
