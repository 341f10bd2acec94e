// kvpareto frontier page: POST /v1/frontier for one model (and optionally a second to compare),
// drawn with plotly. No accuracy is invented: where an answer's accuracy is null (no artifact,
// or a context past the 16-bit anchors) configurations are drawn on a memory axis only.
// The query lives in the URL (?model=&compare=&context=&budget=&task=&runtime=&log=1) so views can
// be shared.
"use strict";
// Three significant digits: testbed models peak at a few MiB, real ones at tens of GiB.
const fmtGiB = (g) => (g >= 10 ? g.toFixed(1) : g.toPrecision(3));
const fmtInt = (n) => n.toLocaleString("en-US");
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const BASELINE = "w16-k16v16-cfull";
const LIMIT = 2000; // memory-only listings: most rows per answer
const TABLE_ROWS = 200; // rows per model in the table (the downloads hold every row)
// per series: line colour, cloud colour within the budget, cloud colour beyond it
const COLOURS = [["#d62728", "#9bb7d4", "#dddddd"], ["#7b3fbf", "#c9aee8", "#ece4f5"]];
let models = [];
let defaultRuntime = "";
let seq = 0;
let shown = []; // the answers on screen: [model's, compare model's?]

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

const byName = (name) => models.find((m) => m.name === name);

// ---- defaults that fit the model -------------------------------------------------------------

function defaultContext(m) {
  const cal = m.calibration;
  const want = cal && cal.calibrated_contexts.length ? Math.max(...cal.calibrated_contexts) : 32768;
  return m.max_positions ? Math.min(want, m.max_positions) : want;
}

// Half the 16-bit baseline's peak at that context, to two significant digits.
async function defaultBudget(model, context) {
  const body = { model, context_tokens: context, config: BASELINE };
  if ($("runtime").value) body.runtime = $("runtime").value;
  const mem = await api("/v1/memory", body);
  return parseFloat((mem.peak_gib / 2).toPrecision(2));
}

function rangeNote(m) {
  const cal = m.calibration;
  const pos = `${fmtInt(m.max_positions)} positions`;
  if (!cal) return `${m.name}: no calibration artifact — memory only, accuracy unknown; ${pos}.`;
  const c = cal.calibrated_contexts;
  const anchors = Object.entries(cal.longest_anchor_tokens)
    .map(([t, n]) => `${t} to ${fmtInt(Math.min(n, m.max_positions || n))}`).join(", ");
  return `${m.name}: calibrated at ${c.map(fmtInt).join(", ")} tokens; accuracy known `
    + `(16-bit model measured) for ${anchors || "no task"} tokens; ${pos}.`;
}

function fillTasks(keep) {
  const m = byName($("model").value);
  const tasks = m && m.calibration ? m.calibration.tasks : [];
  $("task").innerHTML = tasks.length ? tasks.map((t) => `<option>${esc(t)}</option>`).join("")
    : "<option value=''>(memory only)</option>";
  if (keep && tasks.includes(keep)) $("task").value = keep;
  $("range").textContent = m ? rangeNote(m) : "";
}

// The model's default context (unless `context` is given) and the budget for it.
async function applyDefaults(mine, context) {
  const m = byName($("model").value);
  if (!context) context = defaultContext(m);
  $("context").value = context;
  try {
    const budget = await defaultBudget(m.name, context);
    if (mine === seq) $("budget").value = budget;
  } catch (e) {
    if (mine === seq) $("budget").value = "";
  }
}

// ---- the URL ---------------------------------------------------------------------------------

function writeUrl() {
  const q = new URLSearchParams();
  q.set("model", $("model").value);
  if ($("compare").value) q.set("compare", $("compare").value);
  q.set("context", $("context").value);
  q.set("budget", $("budget").value);
  if ($("task").value) q.set("task", $("task").value);
  if ($("runtime").value && $("runtime").value !== defaultRuntime) q.set("runtime", $("runtime").value);
  if ($("log").checked) q.set("log", "1");
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

// ---- the plot --------------------------------------------------------------------------------

const hasAccuracy = (res) => res.points.mean.some((v) => v !== null);

function hover(model, p) {
  const m = p.memory, gib = (b) => fmtGiB(b / 2 ** 30);
  let s = `<b>${esc(model)}</b> ${esc(p.config)}<br>peak ${fmtGiB(m.peak_gib)} GiB`
    + ` = weights ${gib(m.weights_bytes)} + KV ${gib(m.kv_cache_bytes)}`
    + ` + transient ${gib(m.transient_bytes)} + overhead ${gib(m.overhead_bytes)}`;
  if (p.accuracy) {
    const a = p.accuracy;
    s += `<br>accuracy ${a.mean.toFixed(3)} [${a.lower.toFixed(3)}, ${a.upper.toFixed(3)}]`
      + ` drop ${p.drop_vs_baseline.toFixed(3)}${p.extrapolated ? " (extrapolated)" : ""}`;
  } else {
    s += "<br>accuracy unknown";
  }
  return s;
}

// Why the plot has no accuracy axis, or null when every answer shown can share one.
function memoryOnlyReason(answers) {
  if (answers.some((r) => r.accuracy_source === "none")) return "no accuracy model";
  if (!answers.every(hasAccuracy)) return "accuracy unknown at this context";
  const [a, b] = answers;
  if (b && (a.task !== b.task || a.metric !== b.metric)) return "accuracy of different tasks";
  return null;
}

function accuracyTraces(res, i, n) {
  const [line, inside, outside] = COLOURS[i], front = res.frontier, pts = res.points;
  const model = res.model, base = res.baseline;
  const traces = [];
  if (i === 0) {
    traces.push({
      type: "scattergl", mode: "markers", name: `${model}: all configurations`,
      meta: { role: "cloud", model }, x: pts.peak_gib, y: pts.mean, text: pts.config,
      hovertemplate: "%{text}<br>%{x:.3g} GiB, %{y:.3f}<extra></extra>",
      marker: { size: 4, color: pts.fits.map((f) => (f ? inside : outside)) },
    });
  }
  traces.push({
    type: "scatter", mode: "lines+markers", name: `${model}: Pareto frontier`,
    meta: { role: "frontier", model }, line: { shape: "hv", color: line },
    marker: { color: line, size: 6 },
    x: front.map((p) => p.memory.peak_gib), y: front.map((p) => (p.accuracy ? p.accuracy.mean : null)),
    error_y: { type: "data", symmetric: false, array: front.map((p) => p.accuracy.upper - p.accuracy.mean),
      arrayminus: front.map((p) => p.accuracy.mean - p.accuracy.lower), color: `${line}40`, thickness: 1, width: 0 },
    text: front.map((p) => hover(model, p)), hoverinfo: "text",
  });
  traces.push(baselineTrace(res, i, n, base.accuracy ? base.accuracy.mean : null));
  return traces;
}

function memoryTraces(res, i, n) {
  const [, inside, outside] = COLOURS[i], pts = res.points, model = res.model;
  const order = pts.peak_gib.map((v, j) => j).sort((a, b) => pts.peak_gib[a] - pts.peak_gib[b]);
  const rank = order.findIndex((j) => pts.config[j] === BASELINE) + 1;
  return [{
    type: "scattergl", mode: "markers", name: `${model}: configurations by peak`,
    meta: { role: "ranked", model },
    x: order.map((j) => pts.peak_gib[j]), y: order.map((_, r) => r + 1), text: order.map((j) => pts.config[j]),
    hovertemplate: "%{text}<br>%{x:.3g} GiB (accuracy unknown)<extra></extra>",
    marker: { size: 4, color: order.map((j) => (pts.fits[j] ? inside : outside)) },
  }, baselineTrace(res, i, n, rank || null)];
}

function baselineTrace(res, i, n, y) {
  const b = res.baseline;
  return {
    type: "scatter", mode: "markers+text", name: `${res.model}: 16-bit baseline`,
    meta: { role: "baseline", model: res.model }, x: [b.memory.peak_gib], y: [y],
    text: [n > 1 ? `16-bit ${res.model}` : "16-bit baseline"],
    textposition: i ? "bottom left" : "top left", textfont: { size: 12, color: "#111" },
    marker: { symbol: "star", size: 15, color: COLOURS[i][0], line: { color: "#111", width: 1 } },
    hovertext: [hover(res.model, b)], hoverinfo: "text",
  };
}

// The x range of what is drawn (not 0..budget); the budget widens it only when close.
function xAxis(traces, budget, log) {
  const xs = traces.flatMap((t) => t.x).filter((x) => x > 0);
  let lo = Math.min(...xs), hi = Math.max(...xs);
  if (budget && budget > hi && budget <= hi * 1.3) hi = budget;
  if (budget && budget < lo && budget >= lo / 1.3) lo = budget;
  if (log) {
    const a = Math.log10(lo), b = Math.log10(hi), pad = Math.max(b - a, 0.1) * 0.05;
    return { type: "log", range: [a - pad, b + pad], lo, hi };
  }
  const pad = Math.max(hi - lo, hi * 0.02) * 0.05;
  return { type: "linear", range: [Math.max(0, lo - pad), hi + pad], lo, hi };
}

function draw(answers) {
  const log = $("log").checked, budget = answers[0].budget_gib;
  const why = memoryOnlyReason(answers);
  const n = answers.length;
  const traces = answers.flatMap((r, i) => (why ? memoryTraces(r, i, n) : accuracyTraces(r, i, n)));
  const ax = xAxis(traces, budget, log);
  const shapes = [], annotations = [];
  if (budget && budget >= ax.lo && budget <= ax.hi) {
    shapes.push({ type: "line", x0: budget, x1: budget, yref: "paper", y0: 0, y1: 1,
      line: { dash: "dash", color: "#444" } });
    annotations.push({ x: log ? Math.log10(budget) : budget, yref: "paper", y: 1, text: `budget ${budget} GiB`,
      showarrow: false, xanchor: "left", yanchor: "bottom", font: { size: 11 } });
  } else if (budget) {
    const right = budget > ax.hi;
    annotations.push({ xref: "paper", x: right ? 1 : 0, yref: "paper", y: 1, showarrow: false,
      xanchor: right ? "right" : "left", yanchor: "bottom", font: { size: 11 },
      text: right ? `budget ${budget} GiB (off the axis) →` : `← budget ${budget} GiB (off the axis)` });
  }
  const title = answers.map((r) => r.model).join(" vs ") + ` at ${fmtInt(answers[0].context_tokens)} tokens`;
  Plotly.react("plot", traces, {
    margin: { t: 40, r: 20 }, shapes, annotations, hovermode: "closest",
    legend: { orientation: "h", x: 0, y: -0.14 },
    xaxis: { title: { text: `predicted peak memory (GiB${log ? ", log scale" : ""})` }, type: ax.type,
      range: ax.range, autorange: false },
    yaxis: why ? { title: { text: `configurations, ranked by peak memory (${why})` } }
      : { title: { text: `${answers[0].task} ${answers[0].metric} (predicted)` } },
    title: { text: title, font: { size: 14 } },
  });
}

// ---- the table and the downloads -------------------------------------------------------------

function table(answers) {
  const notes = [];
  $("table").querySelector("tbody").innerHTML = answers.flatMap((res) => {
    if (res.frontier.length > TABLE_ROWS) {
      notes.push(`${res.model}: first ${TABLE_ROWS} of ${fmtInt(res.frontier.length)} rows shown`);
    }
    const unknown = res.accuracy_source === "none" ? "unknown (no accuracy model)" : "unknown";
    return res.frontier.slice(0, TABLE_ROWS).map((p) => {
      const a = p.accuracy;
      const acc = a ? `<td>${a.mean.toFixed(3)}${p.extrapolated ? "*" : ""}</td>`
        + `<td>[${a.lower.toFixed(3)}, ${a.upper.toFixed(3)}]</td><td>${p.drop_vs_baseline.toFixed(3)}</td>`
        : `<td class="unknown">${unknown}</td><td class="unknown">—</td><td class="unknown">—</td>`;
      return `<tr data-model="${esc(res.model)}" data-config="${esc(p.config)}"><td>${esc(res.model)}</td>`
        + `<td>${esc(p.config)}</td><td>${fmtGiB(p.memory.peak_gib)}</td>`
        + `<td>${(100 * p.memory_saved_fraction).toFixed(0)}%</td>${acc}</tr>`;
    });
  }).join("");
  const extrapolated = answers.some((r) => r.frontier.some((p) => p.accuracy && p.extrapolated));
  if (extrapolated) notes.push("* context outside the calibrated range (intervals widened)");
  notes.push("the downloads hold every row");
  $("table-note").textContent = notes.join(" · ");
}

const CSV_COLUMNS = ["model", "context_tokens", "task", "metric", "config", "peak_bytes", "peak_gib",
  "memory_saved_fraction", "accuracy_mean", "accuracy_lower", "accuracy_upper", "drop_vs_baseline",
  "extrapolated"];

function csv(answers) {
  const cell = (v) => (v === null || v === undefined ? "" : /[",\n]/.test(String(v))
    ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const rows = answers.flatMap((r) => r.frontier.map((p) => {
    const a = p.accuracy || {};
    return [r.model, r.context_tokens, r.task, r.metric, p.config, p.memory.peak_bytes,
      p.memory.peak_gib, p.memory_saved_fraction, a.mean, a.lower, a.upper, p.drop_vs_baseline,
      a.mean === undefined ? null : p.extrapolated];
  }));
  return [CSV_COLUMNS, ...rows].map((row) => row.map(cell).join(",")).join("\n") + "\n";
}

function save(text, type, ext) {
  if (!shown.length) return;
  const names = shown.map((r) => r.model).join("-vs-");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = `kvpareto-frontier-${names}-${shown[0].context_tokens}.${ext}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---- one refresh -----------------------------------------------------------------------------

function frontierBody(model, task) {
  const budget = parseFloat($("budget").value);
  const body = { model, context_tokens: parseInt($("context").value, 10), include_points: true,
    limit: LIMIT };
  if (budget > 0) body.budget_gib = budget;
  if (task) body.task = task;
  if ($("runtime").value) body.runtime = $("runtime").value;
  return body;
}

function showWarnings(answers) {
  $("warnings").replaceChildren(...answers.flatMap((r) => r.warnings.map((w) => {
    const li = document.createElement("li");
    li.textContent = answers.length > 1 ? `${r.model}: ${w}` : w;
    return li;
  })));
}

function describe(res) {
  const acc = res.accuracy_source === "none" ? "memory only (no calibration artifact)"
    : hasAccuracy(res) ? `${res.frontier.length} Pareto-optimal, ${res.dominated} dominated`
      : "accuracy unknown at this context, listed by memory";
  return `${fmtInt(res.evaluated)} configurations evaluated, ${fmtInt(res.fitting)} fit `
    + `${res.budget_gib ? res.budget_gib + " GiB" : "(no budget)"}; ${acc}`;
}

async function refresh(mine = ++seq) {
  const model = $("model").value, other = $("compare").value;
  writeUrl();
  $("summary").dataset.state = "loading";
  try {
    const first = await api("/v1/frontier", frontierBody(model, $("task").value));
    const answers = [first];
    if (other && other !== model) {
      const m = byName(other);
      const task = m.calibration && m.calibration.tasks.includes(first.task) ? first.task : null;
      answers.push(await api("/v1/frontier", frontierBody(other, task)));
    }
    if (mine !== seq) return;
    shown = answers;
    $("error").textContent = "";
    draw(answers);
    table(answers);
    showWarnings(answers);
    $("summary").textContent = answers.map((r, i) => (i ? `${r.model}: ` : "") + describe(r)).join(" · ");
    Object.assign($("summary").dataset, {
      model, compare: other, context: String(first.context_tokens), budget: String(first.budget_gib),
      frontier: String(first.frontier.length), fitting: String(first.fitting), state: "ready",
    });
  } catch (e) {
    if (mine !== seq) return;
    $("error").textContent = e.message;
    $("summary").dataset.state = "error";
  }
}

async function modelChanged() {
  const mine = ++seq;
  fillTasks($("task").value);
  $("summary").dataset.state = "loading";
  await applyDefaults(mine);
  if (mine === seq) await refresh(mine);
}

async function init() {
  models = (await api("/v1/models")).models;
  const q = new URLSearchParams(location.search);
  const runtimes = (await api("/v1/runtimes")).runtimes;
  defaultRuntime = (runtimes.find((r) => r.default) || runtimes[0]).name;
  const rt = runtimes.some((r) => r.name === q.get("runtime")) ? q.get("runtime") : defaultRuntime;
  $("runtime").innerHTML = runtimes.map((r) => `<option title="${esc(r.doc)}"`
    + `${r.name === rt ? " selected" : ""}>${esc(r.name)}</option>`).join("");
  const asked = byName(q.get("model"));
  const first = asked || models.find((m) => m.calibrated) || models[0];
  const options = (sel) => models.map((m) => `<option${m === sel ? " selected" : ""}>${esc(m.name)}</option>`);
  $("model").innerHTML = options(first).join("");
  $("compare").innerHTML = ["<option value=''>(none)</option>", ...options(byName(q.get("compare")))].join("");
  fillTasks(q.get("task"));
  $("log").checked = q.get("log") === "1";
  const context = parseInt(q.get("context"), 10) > 0 ? parseInt(q.get("context"), 10) : null;
  if (q.has("budget")) {
    $("context").value = context || defaultContext(first);
    $("budget").value = q.get("budget");
  } else {
    await applyDefaults(seq, context);
  }
  $("model").addEventListener("change", modelChanged);
  for (const id of ["compare", "context", "budget", "task", "runtime"]) $(id).addEventListener("change", () => refresh());
  $("log").addEventListener("change", () => { writeUrl(); if (shown.length) draw(shown); });
  $("download-csv").addEventListener("click", () => save(csv(shown), "text/csv", "csv"));
  $("download-json").addEventListener("click", () => save(
    JSON.stringify(shown.length === 1 ? shown[0] : shown, null, 1), "application/json", "json"));
  await refresh();
}
init();
