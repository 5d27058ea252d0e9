// The page of `symbolic serve`: plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const HISTORY_KEY = "symbolic-jobs";
let midiFile = null;
let currentJob = null;
let pollTimer = null;

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
  $("style-names").replaceChildren(...styles.map((s) => {
    const option = document.createElement("option");
    option.value = s.name;
    option.label = s.words.slice(0, 4).join(", ");
    return option;
  }));
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
    $("read").hidden = false;
    $("run").disabled = false;
  } catch (error) {
    showError($("file-error"), error.message);
  }
}

function jobKind() {
  return document.querySelector("input[name=job]:checked").value;
}

function showJobFields() {
  const kind = jobKind();
  for (const element of document.querySelectorAll("[data-for]")) element.hidden = element.dataset.for !== kind;
}

function settings() {
  const kind = jobKind();
  const out = {
    job: kind,
    style: $("style").value.trim(),
    guidance: Number($("guidance").value),
    temperature: Number($("temperature").value),
    seed: parseInt($("seed").value, 10) || 0,
  };
  if ($("melody").value !== "" && kind !== "continue") out.melody_track = parseInt($("melody").value, 10);
  if (kind === "accompany" && $("tracks-input").value.trim()) out.tracks = $("tracks-input").value.trim();
  if (kind === "continue") out.bars = parseInt($("bars").value, 10);
  if (kind === "convert") out.strength = Number($("strength").value);
  return out;
}

async function submitJob(event) {
  event.preventDefault();
  if (!midiFile) return;
  const form = new FormData();
  form.append("midi", midiFile);
  form.append("settings", JSON.stringify(settings()));
  $("result-section").hidden = false;
  $("result").hidden = true;
  try {
    const job = await api("/api/jobs", { method: "POST", body: form });
    remember(job, midiFile.name);
    follow(job.id);
  } catch (error) {
    $("status").textContent = error.message;
    $("status").className = "error";
  }
}

function follow(id) {
  currentJob = id;
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
  $("result").hidden = false;
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
    item.append(`${new Date(j.when).toLocaleString()}: ${j.job} ${j.file} in ${j.style} (${j.state}) `, button);
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
  $("job-form").addEventListener("submit", submitJob);
  $("cancel").addEventListener("click", cancelJob);
  renderHistory();
  loadStyles().catch((error) => showError($("file-error"), error.message));
}

setUp();
