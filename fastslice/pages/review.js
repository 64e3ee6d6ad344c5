"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const clips = data.clips;
clips.forEach((c, i) => { c.index = i; c.marked = false; });
const ROW = 26;
const columns = [
  ["marked", "✕"], ["play", "▶"], ["clip", "clip"], ["source", "source"], ["start", "start s"],
  ["seconds", "length s"], ["peak_db", "peak dBFS"], ["rms_db", "RMS dB"], ["flags", "flags"],
];
let order = clips.slice();
let sortKey = "flags", sortDir = -1;
let current = 0;  // position in order
const player = document.getElementById("player");
const viewport = document.getElementById("viewport");
const spacer = document.getElementById("spacer");

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
}

// Names sort naturally (drama_2 before drama_10): runs of digits compare as numbers.  Each name's
// rank is worked out once, so a sort by name compares numbers only.
function naturalKey(name) {
  return (name.match(/\d+|\D+/g) || []).map(part => part.replace(/^0+(?=\d)/, ""));
}
function naturalCompare(x, y) {
  for (let i = 0; i < x.length && i < y.length; i++) {
    const p = x[i], q = y[i];
    if (p === q) continue;
    if (p[0] >= "0" && p[0] <= "9" && q[0] >= "0" && q[0] <= "9" && p.length !== q.length) return p.length - q.length;
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
const rank = {clip: new Map(), source: new Map()};
for (const key of ["clip", "source"]) {
  [...new Set(clips.map(c => c[key]))].map(name => [naturalKey(name), name])
    .sort((a, b) => naturalCompare(a[0], b[0]) || (a[1] < b[1] ? -1 : 1))
    .forEach(([, name], i) => rank[key].set(name, i));
}

function compare(a, b) {
  let x, y;
  if (sortKey === "flags") { x = a.flags.length; y = b.flags.length; }
  else if (sortKey === "marked") { x = a.marked ? 1 : 0; y = b.marked ? 1 : 0; }
  else if (sortKey in rank) { x = rank[sortKey].get(a[sortKey]); y = rank[sortKey].get(b[sortKey]); }
  else { x = a[sortKey]; y = b[sortKey]; }
  if (x < y) return -sortDir;
  if (x > y) return sortDir;
  return rank.clip.get(a.clip) - rank.clip.get(b.clip);
}

function sortBy(key) {
  const keep = order[current];
  if (key === sortKey) sortDir = -sortDir; else { sortKey = key; sortDir = key === "flags" ? -1 : 1; }
  order.sort(compare);
  current = Math.max(0, order.indexOf(keep));
  render();
}

function makeRow(c, position) {
  const row = document.createElement("div");
  row.className = "row" + (position === current ? " current" : "") + (c.marked ? " marked" : "");
  row.style.top = (position * ROW) + "px";
  row.dataset.index = c.index;
  row.appendChild(text("div", c.marked ? "✕" : ""));
  const cell = document.createElement("div");
  const button = text("button", "▶", "play");
  button.title = "play";
  button.addEventListener("click", () => { select(position); play(); });
  cell.appendChild(button);
  row.appendChild(cell);
  row.appendChild(text("div", c.clip));
  row.appendChild(text("div", c.source));
  row.appendChild(text("div", c.start.toFixed(2)));
  row.appendChild(text("div", c.seconds.toFixed(2)));
  row.appendChild(text("div", c.peak_db.toFixed(1)));
  row.appendChild(text("div", c.rms_db.toFixed(1)));
  const flags = document.createElement("div");
  c.flags.forEach(f => flags.appendChild(text("span", f, "flag")));
  row.appendChild(flags);
  row.addEventListener("click", () => select(position));
  return row;
}

function render() {
  spacer.style.height = (order.length * ROW) + "px";
  const first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 10);
  const last = Math.min(order.length, first + Math.ceil(viewport.clientHeight / ROW) + 20);
  const rows = [];
  for (let p = first; p < last; p++) rows.push(makeRow(order[p], p));
  spacer.replaceChildren(...rows);
  const marked = clips.filter(c => c.marked).length;
  document.getElementById("count").textContent = clips.length + " clips, " + marked + " marked";
  sources.forEach(drawSource);
}

function select(position) {
  current = Math.max(0, Math.min(order.length - 1, position));
  const top = current * ROW;
  if (top < viewport.scrollTop) viewport.scrollTop = top;
  else if (top + ROW > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = top + ROW - viewport.clientHeight;
  render();
}

function play() {
  const c = order[current];
  if (!c) return;
  if (player.dataset.clip !== String(c.index)) {
    player.src = c.href;
    player.dataset.clip = String(c.index);
  }
  player.play().catch(e => console.warn("cannot play " + c.clip + ": " + e.message));
}

function toggle() {
  const c = order[current];
  if (c && player.dataset.clip === String(c.index) && !player.paused) player.pause(); else play();
}

function mark() {
  const c = order[current];
  if (!c) return;
  c.marked = !c.marked;
  render();
}

function save() {
  const names = clips.filter(c => c.marked).map(c => c.clip);
  const content = names.length ? names.join("\n") + "\n" : "";
  document.getElementById("list").value = content;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([content], {type: "text/plain"}));
  link.download = "dropped.txt";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

document.addEventListener("keydown", event => {
  if (event.target.tagName === "TEXTAREA" || event.target.tagName === "INPUT" || event.ctrlKey || event.metaKey || event.altKey) return;
  const moves = {"j": 1, "ArrowDown": 1, "k": -1, "ArrowUp": -1};
  if (event.key === " ") { toggle(); }
  else if (event.key in moves) { select(current + moves[event.key]); }
  else if (event.key === "x") { mark(); }
  else return;
  event.preventDefault();
});
viewport.addEventListener("scroll", () => window.requestAnimationFrame(render));
document.getElementById("save").addEventListener("click", save);

const head = document.getElementById("head");
columns.forEach(([key, label]) => {
  const cell = text("div", label);
  if (key !== "play") cell.addEventListener("click", () => sortBy(key));
  cell.dataset.key = key;
  head.appendChild(cell);
});

// -- sources: the level envelope, the threshold and each clip's span --------------------------
const sources = data.sources.map(s => {
  const section = document.createElement("section");
  section.className = "source";
  const known = s.low !== undefined;
  section.appendChild(text("h2", s.source + (known ? "" : " (source not found: its clips only)")));
  const canvas = document.createElement("canvas");
  canvas.className = "envelope";
  section.appendChild(canvas);
  document.getElementById("sources").appendChild(section);
  const spans = s.clips.map(i => clips[i]);
  const seconds = known ? s.seconds : Math.max(1, ...spans.map(c => c.start + c.seconds));
  const source = {s, canvas, spans, seconds, known};
  canvas.addEventListener("click", event => {
    const box = canvas.getBoundingClientRect();
    const t = (event.clientX - box.left) / box.width * seconds;
    const hit = spans.find(c => c.start <= t && t <= c.start + c.seconds);
    if (hit) { select(order.indexOf(hit)); play(); }
  });
  return source;
});

function drawSource(source) {
  const {s, canvas, spans, seconds, known} = source;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, width, height);
  const x = t => t / seconds * width;
  const y = db => height * (1 - (Math.max(-80, Math.min(0, db)) + 80) / 80);
  const playing = order[current];
  spans.forEach(c => {
    g.fillStyle = c.marked ? "rgba(220, 38, 38, 0.25)" : c === playing ? "rgba(37, 99, 235, 0.35)" : "rgba(22, 163, 74, 0.18)";
    g.fillRect(x(c.start), 0, Math.max(1, x(c.seconds)), height);
  });
  if (known) {
    g.strokeStyle = "#1d4ed8";
    g.beginPath();
    s.low.forEach((low, i) => {
      const px = x((i + 0.5) * s.bucket_seconds);
      g.moveTo(px, y(low));
      g.lineTo(px, y(s.high[i]) - 0.5);
    });
    g.stroke();
    if (s.threshold !== null) {
      g.strokeStyle = "#000";
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(0, y(s.threshold));
      g.lineTo(width, y(s.threshold));
      g.stroke();
      g.setLineDash([]);
    }
  }
}

document.getElementById("title").textContent = "fastslice review: " + data.out_dir;
order.sort(compare);
render();
window.addEventListener("resize", render);
document.body.dataset.ready = "1";
