"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
function floats(b64) {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}
const RMS = floats(D.frames), THRESHOLDS = floats(D.thresholds);
const N = RMS.length, RATE = D.rate, HOP = D.hop;
const SECONDS = D.n_samples / RATE;
document.getElementById("title").textContent = "fastslice tune: " + D.name;
document.title = "fastslice tune: " + D.name;
const player = document.getElementById("player");
player.src = D.href;

// -- the Slicer's arithmetic, state machine and max-length split ------------------------------
function pyRound(x) {  // Python's round(): halves to even
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
function amplitude(db) {  // float32(10 ** (db / 20)), as Slicer compares it
  const k = Math.round(db * 10);
  if (k / 10 === db && k >= D.threshold_steps[0] && k <= D.threshold_steps[1]) return THRESHOLDS[k - D.threshold_steps[0]];
  return Math.fround(Math.pow(10, db / 20));
}
function derive(p) {
  const mis = RATE * p.min_interval / 1000;
  return {
    thr: amplitude(p.threshold),
    minLen: pyRound(RATE * p.min_length / 1000 / HOP),
    minInt: pyRound(mis / HOP),
    maxSil: pyRound(RATE * p.max_sil_kept / 1000 / HOP),
    win: Math.min(pyRound(mis), 4 * HOP),
    limit: p.max_length === null ? null : Math.max(1, pyRound(RATE * p.max_length / 1000)),
  };
}
function problem(p) {  // the Slicer's own rules, and the frames' window
  const h = D.hop_ms;
  if (!(p.min_interval >= h)) return "min interval must be at least the hop (" + h + " ms)";
  if (!(p.min_length >= p.min_interval)) return "min length must be at least min interval";
  if (!(p.max_sil_kept >= h)) return "max silence kept must be at least the hop (" + h + " ms)";
  if (p.max_length !== null && !(p.max_length >= p.min_length)) return "max length must be at least min length";
  if (derive(p).win !== D.win) return "min interval " + p.min_interval + " ms changes the RMS window (" +
    derive(p).win + " samples, the page's frames have " + D.win + "): run fastslice tune again with --min-interval " +
    p.min_interval + " to tune below " + (4 * HOP * 1000 / RATE) + " ms";
  return null;
}
function argmin(lo, hi) {  // numpy's argmin of RMS[lo:hi] (the first of equals; the first NaN), as an index into RMS
  hi = Math.min(hi, N);
  let best = lo, v = RMS[lo];
  if (v !== v) return lo;
  for (let i = lo + 1; i < hi; i++) {
    const r = RMS[i];
    if (r !== r) return i;
    if (r < v) { v = r; best = i; }
  }
  return best;
}
function silenceTags(d) {
  const tags = [];
  let silenceStart = -1, clipStart = 0;
  const msk = d.maxSil;
  for (let i = 0; i < N; i++) {
    if (RMS[i] < d.thr) { if (silenceStart < 0) silenceStart = i; continue; }
    if (silenceStart < 0) continue;
    const leading = silenceStart === 0 && i > msk;
    const middle = i - silenceStart >= d.minInt && i - clipStart >= d.minLen;
    if (!leading && !middle) { silenceStart = -1; continue; }
    if (i - silenceStart <= msk) {
      const pos = argmin(silenceStart, i + 1);
      tags.push(silenceStart === 0 ? [0, pos] : [pos, pos]);
      clipStart = pos;
    } else if (i - silenceStart <= msk * 2) {
      const pos = argmin(i - msk, silenceStart + msk + 1);
      const posL = argmin(silenceStart, silenceStart + msk + 1);
      const posR = argmin(i - msk, i + 1);
      if (silenceStart === 0) { tags.push([0, posR]); clipStart = posR; }
      else { tags.push([Math.min(posL, pos), Math.max(posR, pos)]); clipStart = Math.max(posR, pos); }
    } else {
      const posL = argmin(silenceStart, silenceStart + msk + 1);
      const posR = argmin(i - msk, i + 1);
      tags.push(silenceStart === 0 ? [0, posR] : [posL, posR]);
      clipStart = posR;
    }
    silenceStart = -1;
  }
  if (silenceStart >= 0 && N - silenceStart >= d.minInt) {
    const end = Math.min(N, silenceStart + msk);
    tags.push([argmin(silenceStart, end + 1), N + 1]);
  }
  return tags;
}
function referenceRanges(d) {
  const tags = silenceTags(d), n = D.n_samples;
  if (!tags.length) return null;
  const bounds = [];
  if (tags[0][0] > 0) bounds.push([0, tags[0][0]]);
  for (let k = 0; k + 1 < tags.length; k++) bounds.push([tags[k][1], tags[k + 1][0]]);
  if (tags[tags.length - 1][1] < N) bounds.push([tags[tags.length - 1][1], N]);
  return bounds.map(([b, e]) => { const s = Math.min(b * HOP, n); return [s, Math.max(s, Math.min(n, e * HOP))]; });
}
function splitRange(start, end, limit, out) {  // fastslice.lengths.split_range
  while (end - start > limit) {
    const n = Math.ceil((end - start) / limit);
    const lo = end - (n - 1) * limit, hi = start + limit;
    const jLo = Math.ceil(lo / HOP), jHi = Math.floor(hi / HOP);
    let cut = hi;
    if (jLo <= jHi) {
      let best = -1, v = Infinity;
      for (let j = jLo; j <= jHi && j < N; j++) { const r = RMS[j]; if (r === r && (best < 0 || r < v)) { v = r; best = j; } }
      if (best >= 0) cut = best * HOP;
    }
    out.push([start, cut]);
    start = cut;
  }
  out.push([start, end]);
}
function cutsFor(p) {
  const d = derive(p), n = D.n_samples;
  const tooShort = Math.floor((n + HOP - 1) / HOP) <= d.minLen;
  if (tooShort && (d.limit === null || n <= d.limit)) return [[0, n]];
  const ranges = tooShort ? null : referenceRanges(d);
  if (d.limit === null) return ranges || [[0, n]];
  const out = [];
  for (const [s, e] of ranges || [[0, n]]) splitRange(s, e, d.limit, out);
  return out;
}

// -- controls ------------------------------------------------------------------------------------
const SPECS = [
  ["threshold", "threshold dB", -80, 0, 0.1],
  ["min_length", "min length ms", D.hop_ms, 20000, 1],
  ["min_interval", "min interval ms", D.hop_ms, 3000, 1],
  ["max_sil_kept", "max silence kept ms", D.hop_ms, 5000, 1],
  ["max_length", "max length ms", 0, 60000, 1],
];
const params = Object.assign({}, D.params, {max_length: D.max_length});
const controls = document.getElementById("controls");
const inputs = {};
for (const [key, label, lo, hi, step] of SPECS) {
  const name = document.createElement("label");
  name.textContent = label; name.htmlFor = key;
  const range = document.createElement("input");
  range.type = "range"; range.min = lo; range.max = hi; range.step = step; range.id = key + "_slider";
  const box = document.createElement("input");
  box.type = "number"; box.min = key === "threshold" ? -120 : lo; box.step = step; box.id = key;
  const unit = document.createElement("span");
  unit.textContent = key === "max_length" ? "0: none" : "";
  const value = params[key] === null ? 0 : params[key];
  range.value = value; box.value = value;
  range.addEventListener("input", () => { box.value = range.value; changed(key, range.value); });
  box.addEventListener("input", () => { range.value = box.value; changed(key, box.value); });
  controls.append(name, range, box, unit);
  inputs[key] = box;
}
function changed(key, text) {
  const v = Number(text);
  if (text === "" || !Number.isFinite(v)) { setStatus(key.replace(/_/g, " ") + " must be a number"); return; }
  params[key] = key === "max_length" && v <= 0 ? null : v;
  recompute();
}
const status = document.getElementById("status");
function setStatus(text) { status.textContent = text || ""; }

// -- state ----------------------------------------------------------------------------------------
let cuts = [], current = 0, valid = true;
let view = [0, SECONDS];  // the zoomed view, in seconds
const T = {cuts: () => cuts.map(c => c.slice()), valid: () => valid, drawMs: [], current: () => current,
           params: () => Object.assign({}, params), view: () => view.slice()};
window.fastsliceTune = T;

function recompute() {
  const t0 = performance.now();
  const why = problem(params);
  valid = why === null;
  setStatus(why);
  if (valid) { cuts = cutsFor(params); current = Math.min(current, cuts.length - 1); }
  commandText();
  draw();
  T.drawMs.push(performance.now() - t0);
}
function fmt(v) { return String(v); }
function commandText() {
  const p = params;
  let c = D.command + " --threshold " + fmt(p.threshold) + " --min-length " + fmt(p.min_length) + " --min-interval " +
    fmt(p.min_interval) + " --hop-size " + fmt(D.hop_ms) + " --max-sil-kept " + fmt(p.max_sil_kept);
  if (p.max_length !== null) c += " --max-length " + fmt(p.max_length);
  document.getElementById("command").value = valid ? c : "(no command: " + status.textContent + ")";
}
document.getElementById("copy").addEventListener("click", () => {
  const box = document.getElementById("command");
  box.select();
  if (navigator.clipboard) navigator.clipboard.writeText(box.value).catch(() => document.execCommand("copy"));
  else document.execCommand("copy");
});

// -- drawing --------------------------------------------------------------------------------------
const LOW_DB = -90;
function db(v) { return v > 0 ? 20 * Math.log10(v) : LOW_DB; }
function fit(canvas) {
  const r = canvas.getBoundingClientRect(), s = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(r.width * s)), h = Math.max(1, Math.round(r.height * s));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  return canvas.getContext("2d");
}
let overviewCache = null;
function envelope(first, last, columns) {  // min/max dB of the frames per column
  const lo = new Float32Array(columns).fill(Infinity), hi = new Float32Array(columns).fill(-Infinity);
  const span = Math.max(1, last - first);
  const a = Math.max(0, Math.floor(first)), b = Math.min(N, Math.ceil(last));
  for (let i = a; i < b; i++) {
    const c = Math.min(columns - 1, Math.floor((i - first) * columns / span));
    const v = RMS[i];
    if (v < lo[c]) lo[c] = v;
    if (v > hi[c]) hi[c] = v;
  }
  return [lo, hi];
}
function drawLevels(ctx, w, h, first, last, env) {
  const y = v => h - (Math.max(db(v), LOW_DB) - LOW_DB) / -LOW_DB * h;
  ctx.fillStyle = "#475569";
  const [lo, hi] = env;
  for (let x = 0; x < w; x++) {
    if (hi[x] === -Infinity) continue;
    const top = y(hi[x]), bottom = y(lo[x]);
    ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
  }
  if (h > 100) {  // a level scale
    const s = window.devicePixelRatio || 1;
    ctx.fillStyle = "#6b7280"; ctx.font = (10 * s) + "px system-ui"; ctx.strokeStyle = "#e5e7eb";
    for (let level = -20; level > LOW_DB; level -= 20) {
      const ly = Math.round(h - (level - LOW_DB) / -LOW_DB * h) + 0.5;
      ctx.beginPath(); ctx.moveTo(0, ly); ctx.lineTo(w, ly); ctx.stroke();
      ctx.fillText(level + " dB", w - 44 * s, ly - 2);
    }
  }
  if (valid) {
    ctx.strokeStyle = "#dc2626"; ctx.lineWidth = 1;
    const ty = Math.round(y(amplitude(params.threshold))) + 0.5;
    ctx.beginPath(); ctx.moveTo(0, ty); ctx.lineTo(w, ty); ctx.stroke();
  }
}
function drawBands(ctx, w, h, t0, t1) {
  if (!valid) return;
  const scale = w / (t1 - t0);
  cuts.forEach(([s, e], k) => {
    const a = s / RATE, b = e / RATE;
    if (b < t0 || a > t1) return;
    ctx.fillStyle = k === current ? "rgba(37, 99, 235, 0.35)" : (k % 2 ? "rgba(16, 185, 129, 0.22)" : "rgba(59, 130, 246, 0.18)");
    ctx.fillRect((a - t0) * scale, 0, Math.max(1, (b - a) * scale), h);
  });
}
function draw() {
  const ov = document.getElementById("overview"), ctx = fit(ov), w = ov.width, h = ov.height;
  ctx.clearRect(0, 0, w, h);
  drawBands(ctx, w, h, 0, SECONDS);
  if (!overviewCache || overviewCache.w !== w) overviewCache = {w, env: envelope(0, N, w)};
  drawLevels(ctx, w, h, 0, N, overviewCache.env);
  ctx.strokeStyle = "#111"; ctx.lineWidth = 1;
  ctx.strokeRect(view[0] / SECONDS * w + 0.5, 0.5, Math.max(2, (view[1] - view[0]) / SECONDS * w), h - 1);
  const zc = document.getElementById("zoom"), z = fit(zc), zw = zc.width, zh = zc.height;
  z.clearRect(0, 0, zw, zh);
  drawBands(z, zw, zh, view[0], view[1]);
  const f0 = view[0] * RATE / HOP, f1 = view[1] * RATE / HOP;
  drawLevels(z, zw, zh, f0, f1, envelope(f0, f1, zw));
  z.fillStyle = "#333"; z.font = (11 * (window.devicePixelRatio || 1)) + "px system-ui";
  z.fillText(clock(view[0]) + " – " + clock(view[1]), 4, 12 * (window.devicePixelRatio || 1));
  drawHistogram();
  summary();
}
function clock(t) {
  const m = Math.floor(t / 60), s = t - 60 * m;
  return m + ":" + (s < 10 ? "0" : "") + s.toFixed(2);
}
function lengths() { return cuts.map(([s, e]) => (e - s) / RATE); }
function drawHistogram() {
  const c = document.getElementById("hist"), ctx = fit(c), w = c.width, h = c.height;
  ctx.clearRect(0, 0, w, h);
  if (!valid) return;
  const ls = lengths(), [lo, hi] = D.target;
  const top = Math.max(hi * 1.5, ...ls.slice(0, 100000).map(v => Math.min(v, 60)), 1);
  const bins = 60, counts = new Array(bins).fill(0);
  for (const v of ls) counts[Math.min(bins - 1, Math.floor(v / top * bins))]++;
  const most = Math.max(1, ...counts);
  ctx.fillStyle = "rgba(16, 185, 129, 0.15)";
  ctx.fillRect(lo / top * w, 0, (hi - lo) / top * w, h);
  counts.forEach((n, k) => {
    const mid = (k + 0.5) * top / bins;
    ctx.fillStyle = mid >= lo && mid <= hi ? "#059669" : "#9ca3af";
    const bh = n / most * (h - 14);
    ctx.fillRect(k * w / bins + 1, h - 12 - bh, w / bins - 2, bh);
  });
  ctx.fillStyle = "#333"; ctx.font = (10 * (window.devicePixelRatio || 1)) + "px system-ui";
  const s = window.devicePixelRatio || 1;
  ctx.fillText("0 s", 2, h - 1); ctx.fillText(top.toFixed(0) + " s", w - 30 * s, h - 1);
  ctx.fillText(lo + " s", lo / top * w + 2, 10 * s); ctx.fillText(hi + " s", hi / top * w + 2, 10 * s);
  const inside = ls.filter(v => v >= lo && v <= hi).length, shorter = ls.filter(v => v < lo).length;
  document.getElementById("histText").textContent = ls.length + " clips: " + inside + " within " + lo + "–" + hi +
    " s, " + shorter + " shorter, " + (ls.length - inside - shorter) + " longer";
}
function summary() {
  const s = document.getElementById("summary"), cur = document.getElementById("current");
  if (!valid) { s.textContent = ""; cur.textContent = ""; return; }
  const total = lengths().reduce((a, b) => a + b, 0);
  s.textContent = cuts.length + " clips, " + total.toFixed(1) + " s of " + SECONDS.toFixed(1) + " s kept";
  if (cuts.length) {
    const [a, b] = cuts[current];
    cur.textContent = "clip " + current + ": " + clock(a / RATE) + " – " + clock(b / RATE) + " (" + ((b - a) / RATE).toFixed(2) + " s)";
  }
}

// -- listening and moving around -----------------------------------------------------------------
let stopAt = null;
function play(k) {
  if (!valid || !cuts.length) return;
  current = Math.max(0, Math.min(cuts.length - 1, k));
  const [a, b] = cuts[current];
  stopAt = b / RATE;
  player.currentTime = a / RATE;
  const started = player.play();
  if (started && started.catch) started.catch(() => {});
  show(current);
}
player.addEventListener("timeupdate", () => { if (stopAt !== null && player.currentTime >= stopAt) { player.pause(); stopAt = null; } });
function show(k) {  // keep clip k in the zoomed view
  const [a, b] = cuts[k], s = a / RATE, e = b / RATE, width = view[1] - view[0];
  if (s < view[0] || e > view[1]) {
    const w = Math.max(width, (e - s) * 1.2);
    const mid = (s + e) / 2;
    setView(mid - w / 2, mid + w / 2);
  } else draw();
}
function setView(a, b) {
  const w = Math.min(SECONDS, Math.max(b - a, 20 * HOP / RATE));
  a = Math.max(0, Math.min(a, SECONDS - w));
  view = [a, a + w];
  draw();
}
function zoomBy(factor, at) {
  const [a, b] = view;
  at = at === undefined ? (a + b) / 2 : at;
  setView(at - (at - a) * factor, at + (b - at) * factor);
}
const zoom = document.getElementById("zoom");
function timeAt(canvas, clientX, t0, t1) {
  const r = canvas.getBoundingClientRect();
  return t0 + (clientX - r.left) / r.width * (t1 - t0);
}
zoom.addEventListener("wheel", e => { e.preventDefault(); zoomBy(e.deltaY > 0 ? 1.25 : 0.8, timeAt(zoom, e.clientX, view[0], view[1])); }, {passive: false});
let drag = null;
zoom.addEventListener("mousedown", e => { drag = {x: e.clientX, view: view.slice(), moved: false}; zoom.focus(); });
window.addEventListener("mousemove", e => {
  if (!drag) return;
  const r = zoom.getBoundingClientRect(), dt = (e.clientX - drag.x) / r.width * (drag.view[1] - drag.view[0]);
  if (Math.abs(e.clientX - drag.x) > 3) drag.moved = true;
  if (drag.moved) setView(drag.view[0] - dt, drag.view[1] - dt);
});
window.addEventListener("mouseup", e => {
  if (drag && !drag.moved && e.target === zoom) clickAt(timeAt(zoom, e.clientX, view[0], view[1]));
  drag = null;
});
function clickAt(t) {
  const sample = t * RATE;
  const k = cuts.findIndex(([s, e]) => sample >= s && sample < e);
  if (k >= 0) play(k);
}
const overview = document.getElementById("overview");
overview.addEventListener("click", e => {
  const t = timeAt(overview, e.clientX, 0, SECONDS), w = view[1] - view[0];
  setView(t - w / 2, t + w / 2);
});
document.addEventListener("keydown", e => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
  const w = view[1] - view[0];
  if (e.key === " ") { e.preventDefault(); if (!player.paused) player.pause(); else play(current); }
  else if (e.key === "j" || e.key === "n") play(current + 1);
  else if (e.key === "k" || e.key === "p") play(current - 1);
  else if (e.key === "ArrowRight") setView(view[0] + w / 4, view[1] + w / 4);
  else if (e.key === "ArrowLeft") setView(view[0] - w / 4, view[1] - w / 4);
  else if (e.key === "+" || e.key === "=") zoomBy(0.8);
  else if (e.key === "-") zoomBy(1.25);
  else return;
});
window.addEventListener("resize", () => { overviewCache = null; draw(); });
setView(0, Math.min(SECONDS, 60));
recompute();
document.body.dataset.ready = "1";
T.readyMs = performance.now();
