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
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    const failure = new Error("the calsink ui server cannot be reached: it has stopped or "
      + "restarted. Start `calsink ui` again if needed, then open the URL it prints.");
    failure.problems = [failure.message];
    failure.data = {};
    throw failure;
  }
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
    failure.data = data;
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
  const webhook = flow.responses && flow.responses.webhook;
  $("webhook-url").value = (webhook && typeof webhook === "object" ? webhook.url : webhook) || "";
  // Dead letters go to a file of the flow's own unless the flow names one.
  const dead = flow.dead_letters;
  state.deadFollowsName = !dead || dead === SHARED_DEAD_LETTERS;
  $("dead-letters-path").value = state.deadFollowsName ? deadLettersOf(flow.name) : dead;
  renderTemplateInfo(destination.params || {});
  showTab(state.mode);
  renderExclude();
  syncEnabled();
}

const SHARED_DEAD_LETTERS = "out/dead-letters.jsonl";
const deadLettersOf = (name) => `out/${name || "my-flow"}.dead-letters.jsonl`;

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
    ? { size: numberOrText($("batch-size").value), group_by: $("batch-group").value || null }
    : null;
  flow.destination = destination;
  flow.dead_letters = $("dead-letters-path").value.trim() || deadLettersOf(flow.name);
  flow.responses = {
    ...flow.responses,
    jsonl: $("capture-on").checked ? $("capture-path").value.trim() || null : null,
    webhook: readWebhook(flow.responses && flow.responses.webhook),
  };
  return flow;
}

// The server names a number out of range; the page does not replace it behind the user's back.
function numberOrText(value) {
  const text = value.trim();
  return text !== "" && Number.isFinite(Number(text)) ? Number(text) : text || null;
}

function sampleCount() {
  const asked = Number($("sample-count").value);
  const shown = Number.isFinite(asked) ? Math.min(50, Math.max(1, Math.round(asked))) : 5;
  const note = $("sample-count-note");
  note.textContent = asked === shown ? ""
    : `Samples: ${shown === 50 ? "at most 50" : "at least 1"} are shown, so ${shown} here.`;
  return shown;
}

function mapExample(template) {
  // The template's example as a map from source columns: what a Map for it looks like.
  const lines = [`# e.g. for ${template.name}: outgoing field: "{source column}"`];
  const walk = (value, indent) => {
    for (const [name, inner] of Object.entries(value || {})) {
      if (inner && typeof inner === "object" && !Array.isArray(inner)) {
        lines.push(`${indent}${name}:`);
        walk(inner, `${indent}  `);
      } else {
        lines.push(`${indent}${name}: "{${name}}"`);
      }
    }
  };
  walk(template.example, "");
  return lines.join("\n");
}

function readWebhook(previous) {
  // A webhook with a signing secret keeps it while its URL stays the same.
  const url = $("webhook-url").value.trim();
  if (!url) return null;
  if (previous && typeof previous === "object" && previous.url === url) return previous;
  return url;
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
  // A flow whose records name their credential ("{owner}") keeps its expression.
  if (selected && !options.some(([value]) => value === selected)) {
    const what = selected.includes("{") ? "each record's own credential" : "not stored";
    options.push([selected, `${selected} — ${what}`]);
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
      body: { name, api_key: apiKey, base_url: baseUrl, check_url: $("base-url").value.trim() },
    });
    markFields([], "credential");
    state.credentials = data.credentials;
    $("new-credential-key").value = "";
    renderCredentials(name);
    useCredentialBaseUrl();
    $("add-credential-box").open = false;
    say(`Credential ${name} stored: it works (GET /v2/me answered for ${data.who}).`);
    changed();
  } catch (error) {
    markFields((error.problems || []).map((p) => `api key: ${p}`), "credential");
    say(`Not stored: ${error.message}`, true);
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
  if (template) $("map").placeholder = mapExample(template);
  if (!template) {
    info.replaceChildren();
    holder.replaceChildren();
    return;
  }
  put(info,
    el("p", {}, el("code", { text: `${template.method} ${template.path}` }),
      template.api_version ? ` · cal-api-version ${template.api_version}` : " · no cal-api-version"),
    el("p", { text: template.description }),
    el("p", { className: "guidance", text: template.guidance }),
    el("p", {}, el("strong", { text: "Required fields: " }), requiredFields(template)),
    template.optional.length
      ? el("details", { className: "optional" },
        el("summary", { text: `Show all ${template.optional.length} optional field${template.optional.length === 1 ? "" : "s"}` }),
        el("p", { className: "muted", text: template.optional.join(", ") }))
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

function requiredFields(template) {
  const inPath = template.path_params.map((p) => `${p.name} (${p.label}, in the path)`);
  const all = [...inPath, ...template.required];
  return all.length ? all.join(", ") : "none";
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
      body: { flow: draft, count: sampleCount() },
    });
    if (seq !== state.previewSeq) return;
    showProblems([]);
    state.attributes = data.attributes;
    state.destructive = data.destructive;
    renderExclude();
    renderSamples(data.samples);
    markMapProblems(data.samples);
    $("flow-warnings").replaceChildren(...data.warnings.map((w) => el("li", { text: w })));
    const requests = data.samples.filter((s) => s.kind === "request").length;
    $("samples-status").textContent =
      `${requests} request${requests === 1 ? "" : "s"} from the first ${data.samples.length} record outcome${data.samples.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (seq !== state.previewSeq) return;
    markFields([], "samples");
    showProblems(error.problems || [error.message]);
    $("sample-list").replaceChildren();
    $("samples-status").textContent = "No samples until the settings are complete.";
  }
}

// A problem names its setting ("source.path: …"); the input holding it is marked beside it.
const PROBLEM_FIELDS = [
  [/^destination\.params\.([\w-]+)/, (m) => `param-${m[1]}`],
  [/^name:/, () => "flow-name"],
  [/^source\.path/, () => "source-path"],
  [/^source\.format/, () => "source-format"],
  [/^transform\.where/, () => "where"],
  [/^transform\.map/, () => "map"],
  [/^destination\.base_url/, () => "base-url"],
  [/^destination\.manual\.url/, () => "url"],
  [/^destination\.manual\.headers/, () => "headers"],
  [/^destination\.batch/, () => "batch-size"],
  [/^responses\.jsonl/, () => "capture-path"],
  [/^responses\.webhook/, () => "webhook-url"],
  [/^dead_letters/, () => "dead-letters-path"],
  [/^flow file/, () => "flow-path"],
  [/^api key/, () => "new-credential-key"],
];

function fieldOf(problem) {
  for (const [pattern, id] of PROBLEM_FIELDS) {
    const match = pattern.exec(problem);
    if (match) return id(match);
  }
  // "nope.csv: no such file …; check source.path": the setting is named later on.
  for (const [pattern, id] of PROBLEM_FIELDS) {
    if (!pattern.source.includes("\\.")) continue;  // only dotted names, such as source.path
    const match = new RegExp(pattern.source.replace(/^\^/, "\\b")).exec(problem);
    if (match) return id(match);
  }
  return null;
}

function markFields(problems, scope = "settings") {
  for (const note of document.querySelectorAll(`[data-error-scope="${scope}"]`)) {
    const input = $(note.dataset.errorFor);
    if (input) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
    note.remove();
  }
  for (const problem of problems) {
    const id = fieldOf(problem);
    const input = id && $(id);
    if (!input || input.getAttribute("aria-invalid") === "true") continue;
    const note = el("p", {
      id: `${id}-error`, className: "field-error", "data-error-for": id, "data-error-scope": scope,
      // "source.path: …" shows beside Source file without its name; other messages whole.
      text: PROBLEM_FIELDS.some(([pattern]) => pattern.test(problem))
        ? problem.replace(/^[^:]+:\s*/, "") : problem,
    });
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.after(note);
  }
}

function markMapProblems(samples) {
  // A record the map cannot render marks the Map: its first problem, with where it happened.
  const rejected = samples.find((sample) => sample.kind === "rejection" && sample.problems.length);
  const problems = [];
  if (rejected) {
    // A path parameter's problem marks its own box; any other the Map that made the record.
    const first = rejected.problems[0];
    const setting = first.field && $(`param-${first.field}`) ? `destination.params.${first.field}` : "transform.map";
    problems.push(`${setting}: ${rejected.position}: ${describeProblem(first)}`);
  }
  markFields(problems, "samples");
}

function showProblems(problems) {
  markFields(problems);
  const box = $("problems");
  box.hidden = problems.length === 0;
  box.replaceChildren(
    ...(problems.length ? [el("strong", { text: "Settings to fix" }), el("ul", {}, problems.map((p) => el("li", { text: p })))] : []),
  );
}

function renderSamples(samples) {
  const list = $("sample-list");
  // A redraw keeps the keyboard focus on the same control of the same sample.
  const focused = list.contains(document.activeElement) ? document.activeElement.id : null;
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
  if (focused && $(focused)) $(focused).focus();
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
    id: `send-${number}`, type: "button", className: "primary", text: "Send Test Data",
    onclick: () => sendTest(sample, key, textarea, generated, resultBox, send),
  });
  const noteId = `test-note-${number}`;
  send.setAttribute("aria-describedby", noteId);
  const testNote = el("p", { id: noteId, className: "test-note", text: testWarning() });
  const warnings = sample.warnings.length
    ? el("ul", { className: "notes warn", "aria-label": `Warnings of ${sample.position}` },
      sample.warnings.map((w) => el("li", { text: w })))
    : null;
  const headers = sample.headers.map(([name, value]) => `${name}: ${value}`).join("\n");
  return el("li", { className: "request" },
    el("details", { open: state.open.has(key), ontoggle: (e) => rememberOpen(key, e.target.open) },
      el("summary", {}, `#${number + 1} ${sampleWhere(sample)} ${sample.method} ${path}`,
        sample.warnings.length
          ? el("span", { className: "badge warn", text: `${sample.warnings.length} warning${sample.warnings.length === 1 ? "" : "s"}` })
          : null),
      el("div", { className: "body" },
        warnings,
        el("pre", { className: "request-line", text: `${sample.method} ${sample.url}\n${headers}` }),
        el("label", { for: textareaId, text: `Payload of sample ${number + 1} (edit it to test a variation)` }),
        textarea,
        testNote,
        el("div", { className: "test-row" }, send, reset),
        resultBox)));
}

function testWarning() {
  // The product page we follow warns before every test: a test is a real request.
  const template = state.mode === "template" ? state.templates.get($("template").value) : null;
  if (template && template.creates) {
    const thing = { "event-type": "event type", ooo: "out-of-office entry" }[template.creates] || template.creates;
    return `Send Test Data is a real request: it makes a real ${thing} in Cal.com.`;
  }
  if (state.destructive) return "Send Test Data is a real request: it changes data in Cal.com for good.";
  return "Send Test Data is a real request to Cal.com.";
}

function sampleWhere(sample) {
  // A batch names every row it carries, not only its first.
  const positions = sample.positions || [sample.position];
  if (positions.length < 2) return sample.position;
  const shown = positions.length > 6 ? [...positions.slice(0, 5), "…"] : positions;
  return `batch of ${positions.length} (${shown.join(", ")})`;
}

async function sendTest(sample, key, textarea, generated, resultBox, button) {
  // The button stays focusable while sending (Enter must not lose the keyboard focus).
  if (button.getAttribute("aria-disabled") === "true") return;
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
  button.setAttribute("aria-disabled", "true");
  button.textContent = "Sending…";
  resultBox.replaceChildren(el("p", { className: "muted", text: "Sending…" }));
  try {
    const data = await api("/api/test", {
      method: "POST",
      body: { flow: readDraft(), record_index: sample.index, payload, confirmed, key: sample.key },
    });
    state.results.set(key, renderTestResult(data.result));
  } catch (error) {
    const title = error.data && error.data.crashed ? "The test send crashed" : null;
    state.results.set(key, el("div", { className: "result bad", role: title ? "alert" : null },
      title ? el("p", { className: "status-line", text: title }) : null,
      el("ul", {}, (error.problems || [error.message]).map((p) => el("li", { text: p })))));
  } finally {
    // The samples may have been redrawn while the request was out: show it in the current one.
    const current = document.querySelector(`[data-result-for="${CSS.escape(key)}"]`) || resultBox;
    current.replaceChildren(state.results.get(key));
    button.removeAttribute("aria-disabled");
    button.textContent = "Send Test Data";
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
    result.ledger_note ? el("p", { className: "ledger-note", text: result.ledger_note }) : null,
    el("p", { className: "muted", text: `${result.method} ${result.url} (${result.position})` }),
    body === null || body === undefined ? null : el("pre", { tabindex: "0", text: pretty(body) }));
}

// ---------------------------------------------------------------- Done / Activate

async function save(draft, path) {
  try {
    return await api("/api/save", { method: "POST", body: { flow: draft, path } });
  } catch (error) {
    // The file holds another flow: replace it only when the user says so.
    if (error.status !== 409 || !error.data.replace) throw error;
    const question = `${error.message}. Replace it with the flow ${draft.name}? `
      + "(Cancel keeps it: change the Flow file to save beside it.)";
    if (!confirm(question)) throw error;
    return api("/api/save", { method: "POST", body: { flow: draft, path, replace: true } });
  }
}

async function done() {
  const path = $("flow-path").value.trim();
  try {
    const draft = readDraft();
    const data = await save(draft, path);
    markFields([], "save");
    state.savedPath = data.path;
    state.savedDraft = JSON.stringify(draft);
    $("flow-path").value = data.path;
    $("saved").hidden = false;
    $("saved-path").textContent = `Written to ${data.path}`;
    $("saved-yaml").textContent = data.yaml;
    say(`Saved ${data.path}. Activate runs it.`);
  } catch (error) {
    markFields(error.problems || [], "save");
    say(`Not saved: ${error.message}`, true);
  }
  updateActivate();
}

function updateActivate() {
  const saved = state.savedDraft !== null && state.savedDraft === JSON.stringify(readDraft());
  const running = state.polling !== null;
  const button = $("activate");
  button.disabled = !saved || running;
  button.title = saved ? "" : "Press Done to save the current settings first";
  button.dataset.state = running ? "running" : !saved ? "unsaved" : state.lastRunState || "ready";
  button.textContent = running ? "Running…" : "Activate";
}

async function activate(retry = false) {
  let confirmed = false;
  if (state.destructive) {
    confirmed = confirm("This flow changes or deletes data in Cal.com, and it cannot be undone. Run it?");
    if (!confirmed) return;
  }
  try {
    const data = await api(retry ? "/api/retry" : "/api/activate",
      { method: "POST", body: { path: state.savedPath, confirmed } });
    $("run").hidden = false;
    showRun(data.run);
    startPolling();
  } catch (error) {
    say(`Not ${retry ? "retried" : "activated"}: ${error.message}`, true);
  }
}

async function stopRun() {
  $("stop").disabled = true;
  $("stop").textContent = "Stopping…";
  try {
    const data = await api("/api/run/stop", { method: "POST" });
    if (data.run) showRun(data.run);
  } catch (error) {
    say(`Not stopped: ${error.message}`, true);
  }
}

function startPolling() {
  if (state.polling === null) state.polling = setInterval(pollRun, 250);
  updateActivate();
}

const isActive = (run) => run.state === "running" || run.state === "stopping";

async function pollRun() {
  try {
    const data = await api("/api/run");
    if (data.run) showRun(data.run);
    if (!data.run || !isActive(data.run)) {
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

function seconds(value) {
  if (value === null || value === undefined) return null;
  if (value < 90) return `${Math.max(1, Math.round(value))} s`;
  if (value < 5400) return `${Math.round(value / 60)} min`;
  return `${(value / 3600).toFixed(1)} h`;
}

function showProgressBar(run) {
  const read = (run.report || run.progress || {}).read || 0;
  let max = null;
  let value = null;
  if (run.state === "finished") {
    max = Math.max(read, 1);
    value = max;
  } else if (run.total) {
    max = Math.max(run.total, 1);
    value = Math.min(read, run.total);
  } else if (!isActive(run)) {
    max = 1;
    value = 0;
  }
  const bar = $("run-progress");
  bar.classList.toggle("indeterminate", max === null);  // the end is not known yet
  if (max === null) {
    bar.removeAttribute("aria-valuenow");
    bar.removeAttribute("aria-valuemax");
    return;
  }
  bar.setAttribute("aria-valuemax", String(max));
  bar.setAttribute("aria-valuenow", String(value));
  bar.querySelector(".fill").style.width = `${(100 * value) / max}%`;
}

function runLine(run) {
  const progress = run.progress || {};
  const read = (run.report || progress).read || 0;
  const of = run.total ? `${read} of ${run.total} records` : `${read} records`;
  const report = run.report || {};
  const what = run.kind === "retry" ? "Retry" : "Run";
  if (run.state === "running" || run.state === "stopping") {
    const parts = [of];
    if (run.total) parts[0] += ` (${Math.floor((100 * read) / Math.max(run.total, 1))} %)`;
    if (run.progress) parts.push(`${progress.in_flight} in flight`, `${progress.rate_per_s} records/s`);
    const eta = seconds(run.eta_s);
    if (eta) parts.push(`about ${eta} left`);
    const doing = run.state === "stopping" ? "stopping (requests on the wire finish)" : "running";
    return `${what} ${run.number} ${doing} for ${seconds(run.elapsed_s)}: ${parts.join(" · ")}`;
  }
  if (run.state === "failed") return `${what} ${run.number} could not run: ${run.error}`;
  if (run.state === "stopped") {
    return `${what} ${run.number} stopped after ${seconds(run.elapsed_s)}: ${of} have an outcome; `
      + "Activate sends the rest (the ledger skips what was delivered).";
  }
  if (report.aborted) return `${what} ${run.number} aborted after ${seconds(run.elapsed_s)} (${report.aborted}): ${report.abort_detail || ""}`;
  if (report.exit_code === 0) return `${what} ${run.number} finished in ${seconds(run.elapsed_s)}: every record delivered or skipped.`;
  return `${what} ${run.number} finished in ${seconds(run.elapsed_s)}: some records did not get through (see the dead letters).`;
}

function showRun(run) {
  state.lastRun = run;
  $("run").dataset.state = run.state === "finished" && (run.report || {}).exit_code !== 0 ? "partial" : run.state;
  showProgressBar(run);
  $("run-status").textContent = runLine(run);
  const notice = $("run-notice");
  notice.hidden = !run.waiting;
  if (notice.textContent !== (run.waiting || "")) notice.textContent = run.waiting || "";
  showSummary(run);
  const active = isActive(run);
  fillEntries($("dead-letters"), run.dead_letters, active ? "No dead letters so far." : "No dead letters.");
  fillEntries($("responses"), run.responses, !run.capture
    ? "Response capture is off for this flow (tick Save every API response, then Done, to keep them)."
    : active ? "No responses captured yet." : "No responses were captured.");
  showRunButtons(run);
}

function showSummary(run) {
  const summary = counts(run.report || (isActive(run) ? null : run.progress));
  const report = run.report || {};
  if (report.unfinished) summary.unfinished = report.unfinished;
  const table = $("run-summary");
  table.hidden = Object.keys(summary).length === 0;
  table.tBodies[0].replaceChildren(
    ...Object.entries(summary).map(([name, value]) =>
      el("tr", { className: `outcome-${name}` }, el("th", { scope: "row", text: name }),
        el("td", {}, el("span", { className: `count ${value ? name : "zero"}`, text: String(value) })))),
  );
}

function showRunButtons(run) {
  const active = isActive(run);
  const stop = $("stop");
  stop.hidden = !active;
  stop.disabled = run.state === "stopping";
  stop.textContent = run.state === "stopping" ? "Stopping…" : "Stop";
  const letters = (run.report && run.report.dead_letters) || (run.dead_letters || []).length;
  $("retry").hidden = active || !letters;
  if (!active) state.lastRunState = run.state === "finished" && (run.report || {}).exit_code !== 0 ? "stopped" : run.state;
  updateActivate();
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
  // Until the flow has come, the fields take no typing: the flow filled in would replace it.
  const groups = [...$("settings").querySelectorAll(":scope > fieldset")];
  const ready = (yes) => groups.forEach((group) => { group.disabled = !yes; });
  ready(false);
  let data;
  try {
    data = await api("/api/state");
  } catch (error) {
    ready(true);
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
    const name = $("flow-name").value.trim();
    if (state.flowPathFollowsName) $("flow-path").value = `${name || "my-flow"}.yaml`;
    if (state.deadFollowsName) $("dead-letters-path").value = deadLettersOf(name);
  });
  $("dead-letters-path").addEventListener("input", () => {
    state.deadFollowsName = false;
  });
  fillForm(data.flow);
  ready(true);
  if (data.flow_problems.length) showProblems(data.flow_problems);
  if (data.flow_saved) {
    // The flow file on disk is this flow: Activate runs it without another Done.
    state.savedPath = data.flow_path;
    state.savedDraft = JSON.stringify(readDraft());
    updateActivate();
  }
  if (data.run) {
    $("run").hidden = false;
    showRun(data.run);
    if (isActive(data.run)) startPolling();
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
  $("activate").addEventListener("click", () => activate(false));
  $("retry").addEventListener("click", () => activate(true));
  $("stop").addEventListener("click", stopRun);
  refreshPreview();
}

start();
