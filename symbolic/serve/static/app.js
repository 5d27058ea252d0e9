// The page of `symbolic serve`: plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const HISTORY_KEY = "symbolic-jobs";
let midiFile = null;
let currentJob = null;
let pollTimer = null;
let styleTimer = null;
let styleAsked = 0;
let styleNames = [];

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
  return body;
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

async function loadStyles() {
  const { styles } = await api("/api/styles");
  styleNames = styles.map((s) => s.name);
  const options = () => styles.map((s) => new Option(s.words.length ? `${s.name} (${s.words.slice(0, 3).join(", ")})` : s.name, s.name));
  $("style-name").replaceChildren(...options());
  $("mix-a").replaceChildren(...options());
  $("mix-b").replaceChildren(...options());
  if (styleNames.includes("chorale")) $("style-name").value = "chorale";
  $("mix-a").value = styleNames.includes("irish") ? "irish" : styleNames[0];
  $("mix-b").value = styleNames.includes("chorale") ? "chorale" : styleNames[Math.min(1, styleNames.length - 1)];
  styleChanged();
}

function styleBy() {
  return document.querySelector("input[name=style-by]:checked").value;
}

// The style as the CLI takes it: a name, a mix "a:0.7,b:0.3" or a description; null for a reference piece.
function styleText() {
  const by = styleBy();
  if (by === "name") return $("style-name").value;
  if (by === "words") return $("style-words").value.trim();
  if (by === "reference") return null;
  const a = $("mix-a").value, b = $("mix-b").value, share = Number($("mix-slider").value);
  if (a === b || share === 0) return a;
  if (share === 100) return b;
  return `${a}:${(100 - share) / 100},${b}:${share / 100}`;
}

// Show the elements whose data-KEY is `value`; hide the others and disable their fields, so that a
// hidden field with a bad value can never block the form (the browser cannot show it its message).
function showOnly(key, value) {
  for (const element of document.querySelectorAll(`[data-${key}]`)) {
    element.hidden = !element.dataset[key].split(" ").includes(value);
    for (const field of element.querySelectorAll("input, select, textarea")) field.disabled = element.hidden;
  }
}

// A refused submission's message goes once the user changes what was refused.
function clearFailedSubmit() {
  const status = $("status");
  if (!status.dataset.refused) return;
  status.textContent = "";
  status.className = "";
  delete status.dataset.refused;
}

function styleChanged() {
  const by = styleBy();
  showOnly("style", by);
  clearFailedSubmit();
  const share = Number($("mix-slider").value);
  const mixWords = `${$("mix-a").value} ${100 - share}%, ${$("mix-b").value} ${share}%`;
  $("mix-out").textContent = mixWords;
  $("mix-slider").setAttribute("aria-valuetext", mixWords);
  clearTimeout(styleTimer);
  styleTimer = setTimeout(resolveStyle, by === "words" ? 400 : 0);
}

// Ask the server which style it would use (the library's own resolution), and say it in words.
async function resolveStyle() {
  const asked = ++styleAsked;
  const out = $("style-resolved");
  const form = new FormData();
  const text = styleText();
  if (text === null) {
    if (!$("reference").files[0]) { out.textContent = "Choose a piece in the style you want."; out.className = "resolved"; return; }
    form.append("reference", $("reference").files[0]);
    out.textContent = "Reading the piece with the style classifier…";
  } else {
    if (!text) { out.textContent = "Describe the style, e.g. a lively irish jig."; out.className = "resolved"; return; }
    form.append("style", text);
  }
  try {
    const resolved = await api("/api/style", { method: "POST", body: form });
    if (asked !== styleAsked) return;
    out.textContent = `The server will use: ${resolved.described}.`;
    out.className = "resolved";
  } catch (error) {
    if (asked !== styleAsked) return;
    out.textContent = error.message;
    out.className = "resolved error";
  }
}

async function readFile(file) {
  midiFile = null;
  $("run").disabled = true;
  $("read").hidden = true;
  showError($("file-error"), "");
  const form = new FormData();
  form.append("midi", file);
  try {
    const read = await api("/api/inspect", { method: "POST", body: form });
    midiFile = file;
    $("read-summary").textContent = `${file.name}: ${read.bars} bars of ${read.meter} at ${read.tempo_qpm} beats per minute, ` +
      `${read.seconds} s, ${read.notes} notes in ${read.tracks.length} track${read.tracks.length === 1 ? "" : "s"}.`;
    $("tracks").replaceChildren(...read.tracks.map((t) => {
      const row = document.createElement("tr");
      row.dataset.track = t.index;
      row.dataset.role = t.role === "melody" ? "counter-melody" : t.role;  // its role when it is not the melody
      if (t.index === read.melody_track) row.className = "melody";
      for (const value of [t.index, t.name || "—", t.instrument, t.notes, t.index === read.melody_track ? "melody" : t.role]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.append(cell);
      }
      return row;
    }));
    const choices = [new Option("chosen automatically" + (read.melody_track !== null ? ` (track ${read.melody_track})` : ""), "")];
    for (const t of read.tracks) if (!t.is_drum && t.notes) choices.push(new Option(`track ${t.index}: ${t.name || t.instrument}`, String(t.index)));
    $("melody").replaceChildren(...choices);
    $("melody").dataset.auto = read.melody_track === null ? "" : String(read.melody_track);
    $("read").hidden = false;
    $("run").disabled = false;
  } catch (error) {
    showError($("file-error"), error.message);
  }
}

// The track table follows the melody chooser: the chosen track is marked as the melody.
function melodyChanged() {
  const chosen = $("melody").value !== "" ? $("melody").value : $("melody").dataset.auto;
  for (const row of $("tracks").querySelectorAll("tr")) {
    const isMelody = row.dataset.track === chosen;
    row.className = isMelody ? "melody" : "";
    row.lastChild.textContent = isMelody ? "melody" : row.dataset.role;
  }
}

function jobKind() {
  return document.querySelector("input[name=job]:checked").value;
}

function showJobFields() {
  showOnly("for", jobKind());
  clearFailedSubmit();
}

function settings() {
  const kind = jobKind();
  const out = {
    job: kind,
    guidance: Number($("guidance").value),
    temperature: Number($("temperature").value),
    seed: parseInt($("seed").value, 10) || 0,
  };
  if ($("melody").value !== "" && kind !== "continue") out.melody_track = parseInt($("melody").value, 10);
  if (kind === "accompany" && $("tracks-input").value.trim()) out.tracks = $("tracks-input").value.trim();
  if (kind !== "continue" && $("chords").value.trim()) out.chords = $("chords").value.trim();
  if (kind === "continue") out.bars = parseInt($("bars").value, 10);
  if (kind === "convert") out.strength = Number($("strength").value);
  if (kind === "accompany" && $("replace").checked) out.replace_accompaniment = true;
  const keepBand = kind === "convert" ? $("keep-band-convert").checked :
    kind === "accompany" && $("replace").checked && $("keep-band-accompany").checked;
  if (keepBand) out.keep = "bass,drums";
  const text = styleText();
  if (text !== null) out.style = text;
  return out;
}

async function submitJob(event) {
  event.preventDefault();
  if (!midiFile) return;
  const form = new FormData();
  form.append("midi", midiFile);
  form.append("settings", JSON.stringify(settings()));
  if (styleBy() === "reference" && $("reference").files[0]) form.append("reference", $("reference").files[0]);
  $("result-section").hidden = false;
  $("result").hidden = true;
  try {
    const job = await api("/api/jobs", { method: "POST", body: form });
    remember(job, midiFile.name);
    follow(job.id);
  } catch (error) {
    $("status").textContent = error.message;
    $("status").className = "error";
    $("status").dataset.refused = "1";
  }
}

function follow(id) {
  currentJob = id;
  delete $("status").dataset.refused;
  clearTimeout(pollTimer);
  $("result-section").hidden = false;
  $("result").hidden = true;
  poll();
}

async function poll() {
  const id = currentJob;
  let job;
  try {
    job = await api(`/api/jobs/${id}`);
  } catch (error) {
    $("status").textContent = error.message;
    $("status").className = "error";
    $("cancel").hidden = true;
    return;
  }
  if (id !== currentJob) return;
  const { bars_done, bars_total } = job.progress;
  $("progress").max = Math.max(bars_total, 1);
  $("progress").value = bars_done;
  $("status").className = job.state === "failed" ? "error" : "";
  $("status").textContent = job.state === "running" && bars_total === 0 ? "Reading the file and loading the model…" :
    job.state === "running" && bars_done === bars_total ? "Rendering the audio and the piano rolls…" :
    job.state === "running" ? `Writing: bar ${bars_done} of ${bars_total}` :
    job.state === "submitted" ? "Waiting for a worker…" :
    job.state === "done" ? `Done. ${job.message}` : `${job.state[0].toUpperCase() + job.state.slice(1)}: ${job.message}`;
  $("cancel").hidden = !["submitted", "running"].includes(job.state);
  updateHistory(job);
  if (job.state === "done") showResult(job);
  else if (["submitted", "running"].includes(job.state)) pollTimer = setTimeout(poll, 500);
}

function showResult(job) {
  const files = job.files;
  const audio = job.summary && job.summary.audio;
  $("audio-original").src = audio ? files["original.ogg"] : "";
  $("audio-result").src = audio ? files["result.ogg"] : "";
  $("roll").src = files["roll.png"];
  $("dl-mid").href = files["result.mid"];
  $("dl-wav").href = files["result.wav"];
  $("dl-ogg").href = files["result.ogg"];
  $("dl-report").href = files["report.json"];
  const summary = job.summary || {};
  const described = summary.style_described || "";
  $("style-used").textContent = described && `${described[0].toUpperCase()}${described.slice(1)}.`;
  $("roll-legend").replaceChildren(...(summary.roll_legend || []).map((entry) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = entry.colour;
    item.append(swatch, entry.label);
    item.dataset.role = entry.role;
    return item;
  }));
  showReading(summary.style_reading);
  $("result").hidden = false;
}

// The style classifier's reading of the original and the result, most probable style of the result first.
function showReading(reading) {
  $("reading").hidden = !reading;
  if (!reading) return;
  const percent = (p) => `${Math.round(100 * (p || 0))}%`;
  $("reading").tBodies[0].replaceChildren(...Object.keys(reading.result).map((style) => {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = style;
    row.append(name);
    for (const p of [reading.original[style], reading.result[style]]) {
      const cell = document.createElement("td");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round(60 * (p || 0))}px`;
      cell.append(bar, percent(p));
      row.append(cell);
    }
    return row;
  }));
}

async function cancelJob() {
  if (currentJob) await api(`/api/jobs/${currentJob}`, { method: "DELETE" }).catch(() => {});
  poll();
}

function history() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY)) || []; } catch { return []; }
}

function remember(job, fileName) {
  const jobs = history().filter((j) => j.id !== job.id);
  jobs.unshift({ id: job.id, file: fileName, job: job.settings.job, style: job.settings.style, state: job.state, when: Date.now() });
  localStorage.setItem(HISTORY_KEY, JSON.stringify(jobs.slice(0, 30)));
  renderHistory();
}

function updateHistory(job) {
  const jobs = history();
  const entry = jobs.find((j) => j.id === job.id);
  if (entry && entry.state !== job.state) {
    entry.state = job.state;
    localStorage.setItem(HISTORY_KEY, JSON.stringify(jobs));
    renderHistory();
  }
}

function renderHistory() {
  const jobs = history();
  $("history").replaceChildren(...(jobs.length ? jobs.map((j) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Show";
    button.setAttribute("aria-label", `Show the ${j.job} of ${j.file}`);
    button.addEventListener("click", () => follow(j.id));
    item.append(`${new Date(j.when).toLocaleString()}: ${j.job} ${j.file} in ${j.style || "the style of a reference piece"} (${j.state}) `, button);
    return item;
  }) : [Object.assign(document.createElement("li"), { textContent: "None yet." })]));
}

function setUp() {
  const drop = $("drop");
  $("file").addEventListener("change", () => { if ($("file").files[0]) readFile($("file").files[0]); });
  for (const name of ["dragenter", "dragover"]) drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); if (e.dataTransfer.files[0]) readFile(e.dataTransfer.files[0]); });
  for (const radio of document.querySelectorAll("input[name=job]")) radio.addEventListener("change", showJobFields);
  for (const radio of document.querySelectorAll("input[name=style-by]")) radio.addEventListener("change", styleChanged);
  for (const id of ["style-name", "mix-a", "mix-b", "reference"]) $(id).addEventListener("change", styleChanged);
  for (const id of ["mix-slider", "style-words"]) $(id).addEventListener("input", styleChanged);
  $("melody").addEventListener("change", melodyChanged);
  $("job-form").addEventListener("submit", submitJob);
  $("cancel").addEventListener("click", cancelJob);
  showJobFields();
  styleChanged();
  renderHistory();
  loadStyles().catch((error) => showError($("file-error"), error.message));
}

setUp();
