// calsink ui: the page's state is a flow draft; every change asks the server for a preview.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);

const state = {
  base: null,            // the flow the page started from: settings the form does not show stay
  templates: new Map(),
  credentials: [],
  attributes: [],
  exclude: [],
  mode: "template",
  savedPath: null,
  savedDraft: null,      // JSON of the draft last saved by Done
  previewSeq: 0,
  edited: new Map(),     // sample position -> edited payload text
  results: new Map(),    // sample position -> the last test result shown under it
  open: new Set(),       // sample positions whose details are open
  destructive: false,
  polling: null,
};

// ---------------------------------------------------------------- server calls

async function api(path, { method = "GET", body } = {}) {
  const headers = { "X-Calsink-Token": TOKEN };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  let data = {};
  try {
    data = await response.json();
  } catch (error) {
    data = { problems: [`the server answered ${response.status} without JSON`] };
  }
  if (!response.ok) {
    const problems = data.problems || [data.error || `request failed with ${response.status}`];
    const failure = new Error(problems.join("; "));
    failure.problems = problems;
    failure.status = response.status;
    throw failure;
  }
  return data;
}

function say(text, bad = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("bad", bad);
}

// ---------------------------------------------------------------- small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

function setOptions(select, options, selected) {
  select.replaceChildren(
    ...options.map(([value, label]) => el("option", { value, selected: value === selected }, label)),
  );
}

const pretty = (value) => JSON.stringify(value, null, 2);

// ---------------------------------------------------------------- form <-> draft

function fillForm(flow) {
  state.base = structuredClone(flow);
  const destination = flow.destination || {};
  $("flow-name").value = flow.name || "";
  $("base-url").value = destination.base_url || "https://api.cal.com";
  $("source-path").value = (flow.source && flow.source.path) || "";
  $("source-path").placeholder = flow.source && flow.source.query
    ? "a SQL query (source.query in the flow file)"
    : "leads.csv or https://… / s3://… / gs://…";
  $("source-format").value = (flow.source && flow.source.format) || "";
  $("where").value = (flow.transform && flow.transform.where) || "";
  $("map").value = (flow.transform && flow.transform.map) || "";
  renderCredentials(destination.credential || "");
  state.mode = destination.manual ? "manual" : "template";
  if (destination.template) $("template").value = destination.template;
  const manual = destination.manual || {};
  $("method").value = manual.method || "POST";
  $("url").value = manual.url || "";
  $("headers").value = typeof manual.headers === "string"
    ? manual.headers
    : Object.entries(manual.headers || {}).map(([k, v]) => `${k}:${v}`).join(",");
  state.exclude = [...(destination.exclude || [])];
  $("unknown-fields").value = destination.unknown_fields || "warn";
  $("batch-on").checked = Boolean(destination.batch);
  $("batch-size").value = (destination.batch && destination.batch.size) || 100;
  state.batchGroup = (destination.batch && destination.batch.group_by) || "";
  const jsonl = flow.responses && flow.responses.jsonl;
  $("capture-on").checked = Boolean(jsonl);
  if (jsonl) $("capture-path").value = jsonl;
  renderTemplateInfo(destination.params || {});
  showTab(state.mode);
  renderExclude();
  syncEnabled();
}

function readDraft() {
  const flow = structuredClone(state.base);
  flow.name = $("flow-name").value.trim();
  const format = $("source-format").value;
  const path = $("source-path").value.trim();
  // a SQL source (source.query) stays as it is until a file or URL replaces it
  flow.source = flow.source && flow.source.query && !path
    ? flow.source
    : { ...flow.source, path, format: format || null, query: null, connection: null };
  const where = $("where").value.trim();
  const map = $("map").value;
  flow.transform = where || map.trim() ? { where: where || null, map } : null;

  const destination = { ...flow.destination };
  destination.credential = $("credential").value || null;
  if (destination.credential) destination.api_key_env = null;
  destination.base_url = $("base-url").value.trim();
  if (state.mode === "template") {
    destination.template = $("template").value;
    destination.manual = null;
    destination.params = readParams(destination.params || {});
    destination.api_version = destination.api_version || null;
  } else {
    destination.template = null;
    destination.params = {};
    destination.manual = {
      method: $("method").value,
      url: $("url").value.trim(),
      content_format: $("content-format").value,
      headers: $("headers").value.trim() || null,
    };
  }
  destination.exclude = [...state.exclude];
  destination.unknown_fields = $("unknown-fields").value;
  destination.batch = $("batch-on").checked
    ? { size: Number($("batch-size").value) || 100, group_by: $("batch-group").value || null }
    : null;
  flow.destination = destination;
  flow.responses = {
    ...flow.responses,
    jsonl: $("capture-on").checked ? $("capture-path").value.trim() || null : null,
  };
  return flow;
}

function readParams(previous) {
  const params = {};
  for (const input of document.querySelectorAll("#path-params input[data-param]")) {
    params[input.dataset.param] = input.value;
  }
  // A parameter taken from an earlier flow's ledger is kept as it was.
  for (const [name, value] of Object.entries(previous)) {
    if (typeof value === "object" && value !== null && !(name in params)) params[name] = value;
  }
  return params;
}

// ---------------------------------------------------------------- credentials

function renderCredentials(selected) {
  const options = [["", "— none (use the flow's api_key_env) —"]];
  for (const credential of state.credentials) {
    const where = credential.base_url ? ` (${credential.base_url})` : "";
    options.push([credential.name, credential.name + where]);
  }
  setOptions($("credential"), options, selected);
}

async function addCredential() {
  const name = $("new-credential-name").value.trim();
  const apiKey = $("new-credential-key").value;
  const baseUrl = $("new-credential-url").value.trim();
  try {
    const data = await api("/api/credentials", {
      method: "POST",
      body: { name, api_key: apiKey, base_url: baseUrl },
    });
    state.credentials = data.credentials;
    $("new-credential-key").value = "";
    renderCredentials(name);
    useCredentialBaseUrl();
    $("add-credential-box").open = false;
    say(`Credential ${name} stored.`);
    changed();
  } catch (error) {
    say(error.message, true);
  }
}

async function removeCredential() {
  const name = $("credential").value;
  if (!name || !confirm(`Remove the stored credential ${name}?`)) return;
  try {
    const data = await api(`/api/credentials/${encodeURIComponent(name)}`, { method: "DELETE" });
    state.credentials = data.credentials;
    renderCredentials("");
    say(`Credential ${name} removed.`);
    changed();
  } catch (error) {
    say(error.message, true);
  }
}

function useCredentialBaseUrl() {
  const credential = state.credentials.find((c) => c.name === $("credential").value);
  if (credential && credential.base_url) $("base-url").value = credential.base_url;
}

// ---------------------------------------------------------------- template / advanced

function renderTemplateInfo(params = {}) {
  const template = state.templates.get($("template").value);
  const info = $("template-info");
  const holder = $("path-params");
  if (!template) {
    info.replaceChildren();
    holder.replaceChildren();
    return;
  }
  put(info,
    el("p", {}, el("code", { text: `${template.method} ${template.path}` }),
      template.api_version ? ` · cal-api-version ${template.api_version}` : " · no cal-api-version"),
    el("p", { text: template.description }),
    el("p", {}, el("strong", { text: "Required fields: " }),
      template.required.length ? template.required.join(", ") : "none"),
    template.optional.length
      ? el("p", { className: "muted" }, "Optional: ", template.optional.join(", "))
      : null,
    template.notes.length ? el("ul", { className: "notes" }, template.notes.map((n) => el("li", { text: n }))) : null,
    template.destructive
      ? el("p", { className: "destructive", text: "Destructive: changes cannot be undone; tests and runs ask first." })
      : null,
  );
  holder.replaceChildren(
    ...template.path_params.map((param) => {
      const value = params[param.name];
      const id = `param-${param.name}`;
      if (typeof value === "object" && value !== null) {
        return el("p", { className: "muted" },
          `${param.label} ({${param.name}}) comes from flow ${value.flow}, by ${value.key.join(", ")}.`);
      }
      return el("div", { className: "field" },
        el("label", { for: id, text: `${param.label} ({${param.name}} in the path)` }),
        el("input", {
          id, "data-param": param.name, autocomplete: "off",
          value: value === undefined ? `{${param.name}}` : value,
        }));
    }),
  );
}

function showTab(mode) {
  state.mode = mode;
  const template = mode === "template";
  for (const [tab, panel, selected] of [
    ["tab-template", "panel-template", template],
    ["tab-advanced", "panel-advanced", !template],
  ]) {
    $(tab).setAttribute("aria-selected", String(selected));
    $(tab).tabIndex = selected ? 0 : -1;
    $(panel).hidden = !selected;
  }
}

function switchTo(mode) {
  if (mode === state.mode) return;
  if (mode === "manual" && !$("url").value.trim()) {
    // Start the Advanced tab from the chosen template, so that only the differences need typing.
    const template = state.templates.get($("template").value);
    if (template) {
      $("method").value = template.method;
      $("url").value = $("base-url").value.trim().replace(/\/$/, "") + template.path;
      $("headers").value = template.api_version ? `cal-api-version:${template.api_version}` : "";
    }
  }
  showTab(mode);
  changed();
}

function tabKeys(event) {
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
    const next = state.mode === "template" ? "manual" : "template";
    switchTo(next);
    $(next === "template" ? "tab-template" : "tab-advanced").focus();
    event.preventDefault();
  }
}

// ---------------------------------------------------------------- exclude / grouping

function renderExclude() {
  const available = state.attributes.filter((a) => !state.exclude.includes(a));
  // A refresh of the samples keeps the attribute the user has chosen but not added yet.
  const chosen = $("exclude-add").value;
  setOptions($("exclude-add"), [["", "choose an attribute…"], ...available.map((a) => [a, a])],
    available.includes(chosen) ? chosen : "");
  $("excluded").replaceChildren(
    ...state.exclude.map((name) =>
      el("li", {}, name,
        el("button", {
          type: "button", "aria-label": `Remove ${name} from the excluded attributes`,
          title: `Remove ${name}`, text: "×",
          onclick: () => {
            state.exclude = state.exclude.filter((x) => x !== name);
            renderExclude();
            changed();
            $("exclude-add").focus();
          },
        }))),
  );
  const group = state.batchGroup || "";
  const choices = state.attributes.includes(group) || !group ? state.attributes : [group, ...state.attributes];
  setOptions($("batch-group"), [["", "in arrival order"], ...choices.map((a) => [a, `by ${a}`])], group);
}

function syncEnabled() {
  const batching = $("batch-on").checked;
  $("batch-size").disabled = !batching;
  $("batch-group").disabled = !batching;
  $("capture-path").disabled = !$("capture-on").checked;
}

// ---------------------------------------------------------------- preview

let previewTimer = null;

function changed() {
  syncEnabled();
  clearTimeout(previewTimer);
  previewTimer = setTimeout(refreshPreview, 150);
  updateActivate();
}

async function refreshPreview() {
  const seq = ++state.previewSeq;
  const draft = readDraft();
  $("samples-status").textContent = "Updating…";
  try {
    const data = await api("/api/preview", {
      method: "POST",
      body: { flow: draft, count: Number($("sample-count").value) || 5 },
    });
    if (seq !== state.previewSeq) return;
    showProblems([]);
    state.attributes = data.attributes;
    state.destructive = data.destructive;
    renderExclude();
    renderSamples(data.samples);
    $("flow-warnings").replaceChildren(...data.warnings.map((w) => el("li", { text: w })));
    const requests = data.samples.filter((s) => s.kind === "request").length;
    $("samples-status").textContent =
      `${requests} request${requests === 1 ? "" : "s"} from the first ${data.samples.length} record outcome${data.samples.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (seq !== state.previewSeq) return;
    showProblems(error.problems || [error.message]);
    $("sample-list").replaceChildren();
    $("samples-status").textContent = "No samples until the settings are complete.";
  }
}

function showProblems(problems) {
  const box = $("problems");
  box.hidden = problems.length === 0;
  box.replaceChildren(
    ...(problems.length ? [el("strong", { text: "Settings to fix" }), el("ul", {}, problems.map((p) => el("li", { text: p })))] : []),
  );
}

function renderSamples(samples) {
  const list = $("sample-list");
  const items = samples.map((sample, number) => {
    const key = sample.position;
    if (sample.kind === "rejection") {
      return el("li", { className: "rejected" },
        el("details", { open: state.open.has(key), ontoggle: (e) => rememberOpen(key, e.target.open) },
          el("summary", {}, `#${number + 1} ${sample.position} rejected`,
            el("span", { className: "badge bad", text: `${sample.problems.length} error${sample.problems.length === 1 ? "" : "s"}` })),
          el("div", { className: "body" },
            el("ul", { className: "notes bad", "aria-label": `Errors of ${sample.position}` },
              sample.problems.map((p) => el("li", { text: describeProblem(p) }))))));
    }
    if (sample.kind === "filtered") {
      return el("li", { className: "filtered" },
        el("details", {},
          el("summary", { text: `#${number + 1} ${sample.position} skipped by the where filter` }),
          el("div", { className: "body" }, el("p", { text: sample.reason }))));
    }
    return requestItem(sample, number, key);
  });
  list.replaceChildren(...items);
}

function describeProblem(problem) {
  let text = problem.field ? `${problem.field}: ` : "";
  text += `expected ${problem.expected}`;
  if (problem.found !== null && problem.found !== undefined) text += `, found ${problem.found}`;
  if (problem.hint) text += ` (${problem.hint})`;
  return text;
}

function rememberOpen(key, open) {
  if (open) state.open.add(key);
  else state.open.delete(key);
}

function requestItem(sample, number, key) {
  const path = sample.url.replace(/^https?:\/\/[^/]+/, "");
  const generated = pretty(sample.body);
  const edited = state.edited.get(key);
  const textareaId = `payload-${number}`;
  const textarea = el("textarea", { id: textareaId, spellcheck: "false" });
  textarea.value = edited !== undefined ? edited : generated;
  const resultBox = el("div", { "aria-live": "polite", "data-result-for": key });
  if (state.results.has(key)) resultBox.replaceChildren(state.results.get(key));
  const reset = el("button", {
    type: "button", text: "Reset", hidden: edited === undefined,
    onclick: () => {
      state.edited.delete(key);
      textarea.value = generated;
      reset.hidden = true;
    },
  });
  textarea.addEventListener("input", () => {
    state.edited.set(key, textarea.value);
    reset.hidden = false;
  });
  const send = el("button", {
    type: "button", className: "primary", text: "Send Test Data",
    onclick: () => sendTest(sample, key, textarea, generated, resultBox, send),
  });
  const warnings = sample.warnings.length
    ? el("ul", { className: "notes warn", "aria-label": `Warnings of ${sample.position}` },
      sample.warnings.map((w) => el("li", { text: w })))
    : null;
  const headers = sample.headers.map(([name, value]) => `${name}: ${value}`).join("\n");
  return el("li", { className: "request" },
    el("details", { open: state.open.has(key), ontoggle: (e) => rememberOpen(key, e.target.open) },
      el("summary", {}, `#${number + 1} ${sample.position} ${sample.method} ${path}`,
        sample.warnings.length
          ? el("span", { className: "badge warn", text: `${sample.warnings.length} warning${sample.warnings.length === 1 ? "" : "s"}` })
          : null),
      el("div", { className: "body" },
        warnings,
        el("pre", { className: "request-line", text: `${sample.method} ${sample.url}\n${headers}` }),
        el("label", { for: textareaId, text: `Payload of sample ${number + 1} (edit it to test a variation)` }),
        textarea,
        el("div", { className: "test-row" }, send, reset),
        resultBox)));
}

async function sendTest(sample, key, textarea, generated, resultBox, button) {
  let payload = null;
  if (textarea.value !== generated) {
    try {
      payload = JSON.parse(textarea.value);
    } catch (error) {
      resultBox.replaceChildren(el("p", { className: "result bad", text: `The payload is not valid JSON: ${error.message}` }));
      return;
    }
  }
  let confirmed = false;
  if (state.destructive) {
    confirmed = confirm("This endpoint changes or deletes data in Cal.com, and it cannot be undone. Send the test request?");
    if (!confirmed) return;
  }
  button.disabled = true;
  resultBox.replaceChildren(el("p", { className: "muted", text: "Sending…" }));
  try {
    const data = await api("/api/test", {
      method: "POST",
      body: { flow: readDraft(), record_index: sample.index, payload, confirmed },
    });
    state.results.set(key, renderTestResult(data.result));
  } catch (error) {
    state.results.set(key, el("div", { className: "result bad" },
      el("ul", {}, (error.problems || [error.message]).map((p) => el("li", { text: p })))));
  } finally {
    // The samples may have been redrawn while the request was out: show it in the current one.
    const current = document.querySelector(`[data-result-for="${CSS.escape(key)}"]`) || resultBox;
    current.replaceChildren(state.results.get(key));
    button.disabled = false;
  }
}

function renderTestResult(result) {
  const body = result.body;
  const data = body && typeof body === "object" ? body.data : null;
  const identifier = data && typeof data === "object" && !Array.isArray(data)
    ? (data.uid !== undefined ? `uid ${data.uid}` : data.id !== undefined ? `id ${data.id}` : null)
    : null;
  const line = result.status === null
    ? `No answer from ${result.url}`
    : `HTTP ${result.status}${identifier ? ` · ${identifier}` : ""} · ${result.elapsed_s} s`;
  return el("div", { className: `result ${result.ok ? "ok" : "bad"}` },
    el("p", { className: "status-line", text: line }),
    result.error ? el("p", { text: result.error }) : null,
    el("p", { className: "muted", text: `${result.method} ${result.url} (${result.position})` }),
    body === null || body === undefined ? null : el("pre", { tabindex: "0", text: pretty(body) }));
}

// ---------------------------------------------------------------- Done / Activate

async function done() {
  const path = $("flow-path").value.trim();
  try {
    const draft = readDraft();
    const data = await api("/api/save", { method: "POST", body: { flow: draft, path } });
    state.savedPath = data.path;
    state.savedDraft = JSON.stringify(draft);
    $("flow-path").value = data.path;
    $("saved").hidden = false;
    $("saved-path").textContent = `Written to ${data.path}`;
    $("saved-yaml").textContent = data.yaml;
    say(`Saved ${data.path}. Activate runs it.`);
  } catch (error) {
    say(`Not saved: ${error.message}`, true);
  }
  updateActivate();
}

function updateActivate() {
  const saved = state.savedDraft !== null && state.savedDraft === JSON.stringify(readDraft());
  const running = state.polling !== null;
  $("activate").disabled = !saved || running;
  $("activate").title = saved ? "" : "Press Done to save the current settings first";
}

async function activate() {
  let confirmed = false;
  if (state.destructive) {
    confirmed = confirm("This flow changes or deletes data in Cal.com, and it cannot be undone. Run it?");
    if (!confirmed) return;
  }
  try {
    const data = await api("/api/activate", { method: "POST", body: { path: state.savedPath, confirmed } });
    $("run").hidden = false;
    showRun(data.run);
    startPolling();
  } catch (error) {
    say(`Not activated: ${error.message}`, true);
  }
}

function startPolling() {
  state.polling = setInterval(pollRun, 250);
  updateActivate();
}

async function pollRun() {
  try {
    const data = await api("/api/run");
    if (data.run) showRun(data.run);
    if (!data.run || data.run.state !== "running") {
      clearInterval(state.polling);
      state.polling = null;
      updateActivate();
    }
  } catch (error) {
    say(error.message, true);
  }
}

const OUTCOMES = ["read", "delivered", "skipped", "rejected", "failed", "dead"];

function counts(value) {
  if (!value || typeof value !== "object") return {};
  const found = {};
  for (const name of OUTCOMES) if (typeof value[name] === "number") found[name] = value[name];
  return found;
}

function showRun(run) {
  const progress = counts(run.progress);
  const bar = $("run-progress");
  if (run.state === "running") {
    bar.removeAttribute("value");  // a stream has no known end: the bar shows activity
  } else {
    bar.max = 1;
    bar.value = 1;
  }
  const parts = Object.entries(progress).map(([k, v]) => `${k} ${v}`);
  if (run.progress && run.state === "running") {
    parts.push(`${run.progress.in_flight} in flight`, `${run.progress.rate_per_s} records/s`);
  }
  const report = run.report || {};
  let text;
  if (run.state === "running") text = `Run ${run.number} running for ${run.elapsed_s} s: ${parts.join(" · ") || "starting"}`;
  else if (run.state === "failed") text = `Run ${run.number} could not run: ${run.error}`;
  else if (report.aborted) text = `Run ${run.number} aborted after ${run.elapsed_s} s (${report.aborted}): ${report.abort_detail || ""}`;
  else if (report.exit_code === 0) text = `Run ${run.number} finished in ${run.elapsed_s} s: every record delivered or skipped.`;
  else text = `Run ${run.number} finished in ${run.elapsed_s} s: some records did not get through (see the dead letters).`;
  $("run-status").textContent = text;

  const summary = counts(run.report);
  const table = $("run-summary");
  table.hidden = Object.keys(summary).length === 0;
  table.tBodies[0].replaceChildren(
    ...Object.entries(summary).map(([name, value]) =>
      el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: String(value) }))),
  );
  fillEntries($("dead-letters"), run.dead_letters, "No dead letters.");
  fillEntries($("responses"), run.responses, "No responses captured (turn on Response capture to keep them).");
}

function fillEntries(list, entries, empty) {
  if (!entries || entries.length === 0) {
    list.replaceChildren(el("li", { className: "muted", text: empty }));
    return;
  }
  list.replaceChildren(...entries.map((entry) =>
    el("li", {}, el("details", {}, el("summary", { text: entryLine(entry) }),
      el("pre", { tabindex: "0", text: pretty(entry) })))));
}

function entryLine(entry) {
  // One line per dead letter or captured response: where, what happened, what came back.
  const where = [];
  const positions = entry.positions || (entry.position ? [entry.position] : []);
  for (const position of positions) where.push(typeof position === "object" ? position.text : position);
  const parts = [where.join(", ") || "(no position)"];
  if (entry.outcome) parts.push(entry.outcome);
  if (entry.status !== undefined && entry.status !== null) parts.push(`HTTP ${entry.status}`);
  const data = entry.body && typeof entry.body === "object" ? entry.body.data : null;
  if (data && typeof data === "object" && !Array.isArray(data)) {
    if (data.uid !== undefined) parts.push(`uid ${data.uid}`);
    else if (data.id !== undefined) parts.push(`id ${data.id}`);
  }
  if (entry.reason) parts.push(entry.reason);
  return parts.join(" · ");
}

// ---------------------------------------------------------------- start

async function start() {
  if (!TOKEN) {
    say("Open this page through the URL `calsink ui` printed: it carries the token.", true);
    return;
  }
  let data;
  try {
    data = await api("/api/state");
  } catch (error) {
    say(error.message, true);
    return;
  }
  state.templates = new Map(data.templates.map((t) => [t.name, t]));
  state.credentials = data.credentials;
  setOptions($("template"), data.templates.map((t) => [t.name, `${t.name} — ${t.method} ${t.path}`]), "create-booking");
  $("source-files").replaceChildren(...data.source_files.map((f) => el("option", { value: f })));
  $("flow-path").value = data.flow_path || `${data.flow.name || "my-flow"}.yaml`;
  // Without a flow file given, the file follows the flow's name until the user names it.
  state.flowPathFollowsName = !data.flow_path;
  $("flow-path").addEventListener("input", () => {
    state.flowPathFollowsName = false;
  });
  $("flow-name").addEventListener("input", () => {
    if (state.flowPathFollowsName) $("flow-path").value = `${$("flow-name").value.trim() || "my-flow"}.yaml`;
  });
  fillForm(data.flow);
  if (data.flow_problems.length) showProblems(data.flow_problems);
  if (data.run) {
    $("run").hidden = false;
    showRun(data.run);
    if (data.run.state === "running") startPolling();
  }

  const form = $("settings");
  form.addEventListener("input", (event) => {
    if (event.target.closest("#add-credential-box") || event.target.id === "exclude-add") return;
    changed();
  });
  form.addEventListener("change", (event) => {
    if (event.target.closest("#add-credential-box")) return;
    if (event.target.id === "credential") useCredentialBaseUrl();
    if (event.target.id === "template") renderTemplateInfo({});
    if (event.target.id === "batch-group") state.batchGroup = event.target.value;
    if (event.target.id === "exclude-add") return;  // the Exclude button adds it
    changed();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  $("sample-count").addEventListener("input", changed);
  $("tab-template").addEventListener("click", () => switchTo("template"));
  $("tab-advanced").addEventListener("click", () => switchTo("manual"));
  $("tab-template").addEventListener("keydown", tabKeys);
  $("tab-advanced").addEventListener("keydown", tabKeys);
  $("add-credential").addEventListener("click", addCredential);
  $("exclude-button").addEventListener("click", () => {
    const name = $("exclude-add").value;
    if (!name || state.exclude.includes(name)) return;
    state.exclude.push(name);
    renderExclude();
    changed();
  });
  $("remove-credential").addEventListener("click", removeCredential);
  $("done").addEventListener("click", done);
  $("activate").addEventListener("click", activate);
  refreshPreview();
}

start();
