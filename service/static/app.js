// kvpareto frontier page: calls POST /v1/frontier and draws every configuration with plotly.
// Memory-only models (no artifact) are drawn on a memory axis only: no accuracy is invented.
"use strict";
// Three significant digits: testbed models peak at a few MiB, real ones at tens of GiB.
const fmtGiB = (g) => (g >= 10 ? g.toFixed(1) : g.toPrecision(3));
const $ = (id) => document.getElementById(id);
let models = [];
let seq = 0;

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await r.json();
  if (!r.ok) {
    const d = data.detail;
    throw new Error(Array.isArray(d) ? d.map((e) => `${e.loc.join(".")}: ${e.msg}`).join("; ") : d);
  }
  return data;
}

function fillTasks() {
  const m = models.find((x) => x.name === $("model").value);
  const tasks = m && m.calibration ? m.calibration.tasks : [];
  $("task").innerHTML = tasks.length ? tasks.map((t) => `<option>${t}</option>`).join("")
    : "<option value=''>(memory only)</option>";
}

function hover(p) {
  const m = p.memory, gib = (b) => fmtGiB(b / 2 ** 30);
  let s = `<b>${p.config}</b><br>peak ${fmtGiB(m.peak_gib)} GiB = weights ${gib(m.weights_bytes)}`
    + ` + KV ${gib(m.kv_cache_bytes)} + transient ${gib(m.transient_bytes)}`
    + ` + overhead ${gib(m.overhead_bytes)}`;
  if (p.accuracy) {
    const a = p.accuracy;
    s += `<br>accuracy ${a.mean.toFixed(3)} [${a.lower.toFixed(3)}, ${a.upper.toFixed(3)}]`
      + ` drop ${p.drop_vs_baseline.toFixed(3)}${p.extrapolated ? " (extrapolated)" : ""}`;
  }
  return s;
}

function draw(res) {
  const pts = res.points, budget = res.budget_gib;
  const withAcc = res.accuracy_source !== "none";
  const front = res.frontier;
  const traces = [];
  if (withAcc) {
    traces.push({
      type: "scattergl", mode: "markers", name: "all configurations",
      x: pts.peak_gib, y: pts.mean, text: pts.config, hovertemplate: "%{text}<br>%{x:.2f} GiB, %{y:.3f}<extra></extra>",
      marker: { size: 4, color: pts.fits.map((f) => (f ? "#9bb7d4" : "#dddddd")) },
    });
    traces.push({
      type: "scatter", mode: "lines+markers", name: "Pareto frontier", line: { shape: "hv", color: "#d62728" },
      x: front.map((p) => p.memory.peak_gib), y: front.map((p) => p.accuracy.mean),
      error_y: { type: "data", symmetric: false, array: front.map((p) => p.accuracy.upper - p.accuracy.mean),
        arrayminus: front.map((p) => p.accuracy.mean - p.accuracy.lower), color: "#d6272840", thickness: 1, width: 0 },
      text: front.map(hover), hoverinfo: "text",
    });
  } else {
    const order = pts.peak_gib.map((v, i) => i).sort((a, b) => pts.peak_gib[a] - pts.peak_gib[b]);
    traces.push({
      type: "scattergl", mode: "markers", name: "peak memory per configuration",
      x: order.map((i) => pts.peak_gib[i]), y: order.map((_, r) => r + 1), text: order.map((i) => pts.config[i]),
      hovertemplate: "%{text}<br>%{x:.2f} GiB<extra></extra>",
      marker: { size: 4, color: order.map((i) => (pts.fits[i] ? "#9bb7d4" : "#dddddd")) },
    });
  }
  const shapes = budget ? [{ type: "line", x0: budget, x1: budget, yref: "paper", y0: 0, y1: 1,
    line: { dash: "dash", color: "#444" } }] : [];
  Plotly.react("plot", traces, {
    margin: { t: 30 }, shapes, hovermode: "closest",
    xaxis: { title: { text: "predicted peak memory (GiB)" } },
    yaxis: withAcc ? { title: { text: `${res.task} ${res.metric} (predicted)` } }
      : { title: { text: "configurations, ranked by memory (no accuracy model)" } },
    title: { text: `${res.model} at ${res.context_tokens} tokens`, font: { size: 14 } },
  });
}

function table(res) {
  $("table").querySelector("tbody").innerHTML = res.frontier.slice(0, 60).map((p) => {
    const a = p.accuracy;
    return `<tr><td>${p.config}</td><td>${fmtGiB(p.memory.peak_gib)}</td>`
      + `<td>${(100 * p.memory_saved_fraction).toFixed(0)}%</td>`
      + `<td>${a ? a.mean.toFixed(3) : "—"}</td><td>${a ? `[${a.lower.toFixed(3)}, ${a.upper.toFixed(3)}]` : "—"}</td>`
      + `<td>${a ? p.drop_vs_baseline.toFixed(3) : "—"}</td></tr>`;
  }).join("");
}

async function refresh() {
  const mine = ++seq;
  const budget = parseFloat($("budget").value);
  const body = { model: $("model").value, context_tokens: parseInt($("context").value, 10),
    include_points: true, limit: 2000 };
  if (budget > 0) body.budget_gib = budget;
  if ($("task").value) body.task = $("task").value;
  $("summary").dataset.state = "loading";
  try {
    const res = await api("/v1/frontier", body);
    if (mine !== seq) return;
    $("error").textContent = "";
    draw(res);
    table(res);
    const acc = res.accuracy_source === "none" ? "memory only (no calibration artifact)"
      : `${res.frontier.length} Pareto-optimal, ${res.dominated} dominated`;
    $("summary").textContent = `${res.evaluated} configurations evaluated, ${res.fitting} fit `
      + `${res.budget_gib ? res.budget_gib + " GiB" : "(no budget)"}; ${acc}`;
    $("summary").dataset.frontier = String(res.frontier.length);
    $("summary").dataset.fitting = String(res.fitting);
    $("summary").dataset.budget = String(res.budget_gib);
    $("summary").dataset.state = "ready";
    $("warnings").textContent = res.warnings.join(" · ");
  } catch (e) {
    if (mine !== seq) return;
    $("error").textContent = e.message;
    $("summary").dataset.state = "error";
  }
}

async function init() {
  models = (await api("/v1/models")).models;
  const first = models.find((m) => m.calibrated) || models[0];
  $("model").innerHTML = models.map((m) => `<option ${m === first ? "selected" : ""}>${m.name}</option>`
    ).join("");
  fillTasks();
  $("model").addEventListener("change", () => { fillTasks(); refresh(); });
  for (const id of ["context", "budget", "task"]) $(id).addEventListener("change", refresh);
  await refresh();
}
init();
