// The ACRM web pivot: picks measures, rows, columns and filters, asks /api/query, and draws
// the answer as a pivot table (subtotals, sorting, drill by clicking a member) or a chart.
"use strict";

const state = {
  measures: ["revenue", "orders", "avg_check"],
  rows: ["channel.channel"],
  cols: [],
  filters: [],
  totals: true,
  view: "table",
  sort: null, // {column, descending}
};
let catalogue = { levels: [], byLevel: {}, measures: [], formats: {} };
let last = null; // the last answer

const $ = (id) => document.getElementById(id);

function token() {
  return localStorage.getItem("acrm-token") || "";
}

async function api(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    for (const v of [].concat(value)) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.append(key, v);
    }
  }
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const response = await fetch(url, { headers });
  if (response.status === 401) {
    $("token-box").hidden = false;
    throw new Error((await response.json()).detail);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail;
    } catch (_) {}
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response;
}

function queryParams(extra) {
  const params = {
    measures: state.measures.join(","),
    rows: state.rows.join(","),
    cols: state.cols.join(","),
    filter: state.filters,
    totals: state.totals ? "true" : "false",
  };
  const n = $("top-n").value;
  if (n) params[$("top-lowest").checked ? "bottom" : "top"] = `${n}:${$("top-measure").value}`;
  return Object.assign(params, extra || {});
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

// Python format strings of the model ("{:,.0f}", "{:.1%}", "{:+.1%}") to Intl options
function formatter(spec) {
  const m = /\{:(\+)?(,)?(?:\.(\d+))?([f%d])?\}/.exec(spec || "") || [];
  const percent = m[4] === "%";
  const options = {
    style: percent ? "percent" : "decimal",
    useGrouping: m[2] === "," || !percent,
    minimumFractionDigits: m[3] ? Number(m[3]) : 0,
    maximumFractionDigits: m[3] ? Number(m[3]) : 2,
    signDisplay: m[1] ? "exceptZero" : "auto",
  };
  const format = new Intl.NumberFormat("en-US", options);
  return (v) => (v === null || v === undefined ? "" : format.format(v));
}

async function run(extra) {
  if (!state.measures.length) {
    showError("Pick at least one measure.");
    return;
  }
  $("status").textContent = "running…";
  try {
    const response = await api("/api/query", queryParams(extra));
    last = await response.json();
    // a drill changes the axes and filters: take the query as the server understood it
    state.rows = last.query.rows;
    state.cols = last.query.cols;
    state.filters = last.query.filters;
    showError("");
    $("status").textContent =
      `${last.records.length} rows` +
      (last.suppressed ? " · blank cells hold too few customers to show" : "");
    renderControls();
    render();
  } catch (error) {
    showError(error.message);
    $("status").textContent = "";
  }
}

function label(value, rolledUp) {
  if (rolledUp) return "Total";
  return value === null || value === undefined ? "(none)" : String(value);
}

function isRolledUp(record, level) {
  return record._grouping !== 0 && (record[level] === null || record[level] === undefined);
}

function pivot(answer) {
  const rows = answer.query.rows;
  const cols = answer.query.cols;
  const measures = answer.query.measures;
  const colKeys = [];
  const colSeen = new Map();
  const rowMap = new Map();
  for (const record of answer.records) {
    const colKey = cols.map((c) => label(record[c], isRolledUp(record, c))).join(" / ");
    if (!colSeen.has(colKey)) {
      colSeen.set(colKey, colKeys.length);
      colKeys.push(colKey);
    }
    const rowKey = rows.map((r) => label(record[r], isRolledUp(record, r))).join("\u0000");
    if (!rowMap.has(rowKey)) {
      rowMap.set(rowKey, {
        members: rows.map((r) => record[r]),
        rolled: rows.map((r) => isRolledUp(record, r)),
        cells: {},
      });
    }
    const row = rowMap.get(rowKey);
    for (const m of measures) row.cells[`${colKey}\u0001${m}`] = record[m];
  }
  const columns = [];
  for (const colKey of colKeys) {
    for (const m of measures) columns.push({ key: `${colKey}\u0001${m}`, colKey, measure: m });
  }
  return { rows: [...rowMap.values()], columns, levels: rows };
}

function render() {
  if (!last) return;
  const table = pivot(last);
  if (state.sort) {
    const { column, descending } = state.sort;
    const value = (row) =>
      column.startsWith("level:")
        ? String(row.members[Number(column.slice(6))] ?? "")
        : row.cells[column] ?? -Infinity;
    const detail = table.rows.filter((r) => !r.rolled.some(Boolean));
    const totals = table.rows.filter((r) => r.rolled.some(Boolean));
    detail.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    table.rows = detail.concat(totals);
  }
  if (state.view === "table") renderTable(table);
  else renderChart(table);
}

function renderTable(table) {
  const element = $("pivot");
  element.innerHTML = "";
  const head = element.createTHead().insertRow();
  table.levels.forEach((level, i) => {
    const th = document.createElement("th");
    th.textContent = level;
    th.dataset.sort = `level:${i}`;
    head.appendChild(th);
  });
  for (const column of table.columns) {
    const th = document.createElement("th");
    th.textContent = column.colKey ? `${column.colKey} · ${column.measure}` : column.measure;
    th.dataset.sort = column.key;
    head.appendChild(th);
  }
  for (const th of head.children) {
    th.addEventListener("click", () => {
      const same = state.sort && state.sort.column === th.dataset.sort;
      state.sort = { column: th.dataset.sort, descending: same ? !state.sort.descending : true };
      render();
    });
  }
  const body = element.createTBody();
  const formats = Object.fromEntries(
    last.query.measures.map((m) => [m, formatter(last.formats[m])]),
  );
  for (const row of table.rows) {
    const tr = body.insertRow();
    if (row.rolled.every(Boolean) && row.rolled.length) tr.className = "grand-total";
    else if (row.rolled.some(Boolean)) tr.className = "subtotal";
    table.levels.forEach((level, i) => {
      const td = tr.insertCell();
      td.textContent = label(row.members[i], row.rolled[i]);
      td.className = "member";
      const finer = catalogue.byLevel[level] && catalogue.byLevel[level].finer;
      if (finer && !row.rolled[i] && row.members[i] !== null) {
        td.classList.add("drillable");
        td.title = `drill down to ${finer}`;
        td.addEventListener("click", () =>
          run({ drill_down: `${level}=${row.members[i]}` }),
        );
      }
    });
    for (const column of table.columns) {
      const td = tr.insertCell();
      td.className = "number";
      td.textContent = formats[column.measure](row.cells[column.key]);
    }
  }
}

let plotlyLoading = null;
function loadPlotly() {
  if (window.Plotly) return Promise.resolve();
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/static/plotly.min.js";
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load the chart library"));
      document.head.appendChild(script);
    });
  }
  return plotlyLoading;
}

async function renderChart(table) {
  await loadPlotly();
  const detail = table.rows.filter((r) => !r.rolled.some(Boolean));
  const x = detail.map((r) => r.members.map((m) => label(m, false)).join(" / "));
  const measure = last.query.measures[0];
  // one measure per chart (measures differ in scale): the first picked
  const traces = table.columns
    .filter((c) => c.measure === measure && !c.colKey.split(" / ").includes("Total"))
    .map((c) => ({
      type: "bar",
      name: c.colKey ? `${c.colKey}` : c.measure,
      x,
      y: detail.map((r) => r.cells[c.key]),
    }));
  window.Plotly.react(
    "chart",
    traces,
    { barmode: "group", title: measure, margin: { t: 40 }, showlegend: traces.length > 1 },
    { responsive: true },
  );
}

function chip(text, onRemove, extraButton) {
  const span = document.createElement("span");
  span.className = "chip";
  span.textContent = text;
  if (extraButton) span.appendChild(extraButton);
  const remove = document.createElement("button");
  remove.textContent = "×";
  remove.title = "remove";
  remove.addEventListener("click", onRemove);
  span.appendChild(remove);
  return span;
}

function renderControls() {
  for (const axis of ["rows", "cols"]) {
    const box = $(axis);
    box.innerHTML = "";
    state[axis].forEach((level, i) => {
      const coarser = catalogue.byLevel[level] && catalogue.byLevel[level].coarser;
      let up = null;
      if (coarser) {
        up = document.createElement("button");
        up.textContent = "↑";
        up.title = `drill up to ${coarser}`;
        up.addEventListener("click", () => run({ drill_up: level }));
      }
      box.appendChild(
        chip(level, () => {
          state[axis].splice(i, 1);
          run();
        }, up),
      );
    });
  }
  const filters = $("filters");
  filters.innerHTML = "";
  state.filters.forEach((text, i) =>
    filters.appendChild(
      chip(text, () => {
        state.filters.splice(i, 1);
        run();
      }),
    ),
  );
  for (const input of $("measures").querySelectorAll("input")) {
    input.checked = state.measures.includes(input.value);
  }
}

async function loadCatalogue() {
  const [levels, measures] = await Promise.all([
    api("/api/levels").then((r) => r.json()),
    api("/api/measures").then((r) => r.json()),
  ]);
  catalogue.levels = levels;
  catalogue.byLevel = Object.fromEntries(levels.map((l) => [l.level, l]));
  catalogue.measures = measures.measures;
  const box = $("measures");
  box.innerHTML = "";
  for (const m of measures.measures) {
    const item = document.createElement("label");
    item.title = m.description;
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = m.measure;
    input.addEventListener("change", () => {
      state.measures = input.checked
        ? state.measures.concat([m.measure])
        : state.measures.filter((x) => x !== m.measure);
      run();
    });
    item.append(input, ` ${m.measure}`);
    box.appendChild(item);
  }
  for (const id of ["add-row", "add-col", "filter-level"]) {
    const select = $(id);
    for (const l of levels) select.add(new Option(`${l.level}`, l.level));
  }
  for (const m of measures.measures) $("top-measure").add(new Option(m.measure, m.measure));
}

async function loadFreshness() {
  try {
    const info = await (await api("/api/freshness")).json();
    const hours = info.age_seconds / 3600;
    $("freshness").textContent =
      `build ${info.build_id}, published ${info.built_at}` +
      ` (${hours < 1 ? Math.round(hours * 60) + " min" : hours.toFixed(1) + " h"} ago)`;
  } catch (error) {
    $("freshness").textContent = error.message;
  }
}

function wire() {
  for (const id of ["add-row", "add-col"]) {
    $(id).addEventListener("change", (event) => {
      const level = event.target.value;
      if (!level) return;
      state[event.target.dataset.axis].push(level);
      event.target.value = "";
      run();
    });
  }
  $("filter-level").addEventListener("change", async (event) => {
    const level = event.target.value;
    $("filter-editor").hidden = !level;
    if (!level) return;
    try {
      const { members } = await (await api("/api/members", { level })).json();
      const select = $("filter-members");
      select.innerHTML = "";
      for (const m of members) select.add(new Option(String(m), String(m)));
    } catch (error) {
      showError(error.message);
    }
  });
  $("filter-add").addEventListener("click", () => {
    const level = $("filter-level").value;
    const values = [...$("filter-members").selectedOptions].map((o) => o.value);
    if (!level || !values.length) return;
    state.filters = state.filters.filter((f) => !f.startsWith(`${level}=`) && !f.startsWith(`${level}!=`));
    state.filters.push(`${level}${$("filter-negate").checked ? "!=" : "="}${values.join(",")}`);
    $("filter-editor").hidden = true;
    $("filter-level").value = "";
    run();
  });
  $("totals").addEventListener("change", (event) => {
    state.totals = event.target.checked;
    run();
  });
  for (const id of ["top-n", "top-measure", "top-lowest"]) $(id).addEventListener("change", () => run());
  $("measure-search").addEventListener("input", (event) => {
    const text = event.target.value.toLowerCase();
    for (const item of $("measures").children) {
      item.hidden = !item.textContent.toLowerCase().includes(text);
    }
  });
  $("show-table").addEventListener("click", () => switchView("table"));
  $("show-chart").addEventListener("click", () => switchView("chart"));
  $("export").addEventListener("click", exportCsv);
  $("token-save").addEventListener("click", () => {
    localStorage.setItem("acrm-token", $("token").value);
    $("token-box").hidden = true;
    start();
  });
}

function switchView(view) {
  state.view = view;
  $("table-view").hidden = view !== "table";
  $("chart-view").hidden = view !== "chart";
  $("show-table").classList.toggle("active", view === "table");
  $("show-chart").classList.toggle("active", view === "chart");
  render();
}

async function exportCsv() {
  try {
    const response = await api("/api/query", queryParams({ format: "csv" }));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "acrm-cube.csv";
    link.click();
    URL.revokeObjectURL(link.href);
  } catch (error) {
    showError(error.message);
  }
}

async function start() {
  try {
    await loadCatalogue();
    loadFreshness();
    renderControls();
    await run();
  } catch (error) {
    showError(error.message);
  }
}

wire();
start();
