// Lights Out player: draws the dependency graph and charts and animates a Timeline in the browser.
//
// Why in the browser: a server rerun per frame does not scale to a class on one container. Python
// sends the whole run once (viz/player.py); this module animates it, reports a flip of the power
// switch back to Python (setTriggerValue) and swaps in the re-simulated run without resetting the
// clock. One long-lived Player per mount point, so a data change never remounts.
// Text from data is only ever written with textContent (labels may come from user files).

const LIBS = {
  vis: ["app/static/vendor/vis-network.min.js"],

  vega: ["app/static/vendor/vega.min.js", "app/static/vendor/vega-lite.min.js", "app/static/vendor/vega-embed.min.js"],
};
const SIM_SECONDS_PER_SECOND = 60; // 1× = one simulated minute per wall-clock second
const WAITING = "Simulating the rest of the run…";
const MIN_SCALE = 0.5;
const GROUP_ABOVE = 120; // more nodes than this: offer to collapse each column into one node // below this, labels are unreadable: pan instead of shrinking further
const STYLE = [
  // [shape, fill, border, icon]; index = state code (sim.STATES order). The icon in a node's label is
  // its shape's glyph, the same as the legend's, so one symbol means one state everywhere.
  ["dot", "#009E73", "#00583f", "●"],
  ["triangle", "#F0E442", "#6b6400", "▲"],
  ["diamond", "#E69F00", "#6e4c00", "◆"],
  ["square", "#D55E00", "#5e2900", "■"],
  ["star", "#56B4E9", "#004d7a", "★"],
];
const HEADINGS = { facility: "Power & cooling", infrastructure: "Infrastructure", datastore: "Data",
  queue: "Data", cache: "Caches & workers", service: "Services", edge: "Edge", feature: "What users do" };
// A presentation clicker sends PageDown / PageUp (some send → / ←). In presenter mode they move to the
// next / previous thing the model says (a caption), and work even while a toggle or button has the
// focus — only text fields and pickers keep their keys.
const CLICKER_SKIP = "textarea, select, [contenteditable], input:not([type=checkbox]):not([type=radio]):not([type=button])," +
  " [role=slider], [role=combobox], [role=listbox], [role=option], [role=spinbutton], [role=textbox], [role=menu], [role=radio]";
const PRESENTER_SCALE = 1.5;
// Presenter mode spreads the layout so the larger labels do not overlap (columns × 1.1, rows × 1.4).
const PRESENTER_SPREAD = [1.1, 1.4];
// Below this graph width (a phone) the columns become rows, "What users do" at the top, wrapped
// PER_ROW nodes a row: the whole graph at a readable scale, scrolled with the page.
const VERTICAL_BELOW = 600;
const PER_ROW = 3;
const SKIP_KEYS = "input, textarea, select, button, a, [contenteditable], [role=slider], [role=switch]," +
  " [role=combobox], [role=listbox], [role=option], [role=spinbutton], [role=textbox], [role=menu]";

const scripts = new Map();
function loadScript(rel) {
  // The explainer page starts vis-network itself (st.html) so it parses while the page renders.
  const early = document.querySelector(`script[src="${rel}"]`);
  if (!scripts.has(rel) && early) {
    scripts.set(rel, window.vis ? Promise.resolve() : new Promise((resolve, reject) => {
      early.addEventListener("load", resolve);
      early.addEventListener("error", () => reject(new Error("could not load " + rel)));
    }));
  }
  if (!scripts.has(rel)) {
    scripts.set(rel, new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = new URL(rel, document.baseURI).href;
      s.onload = resolve;
      s.onerror = () => { scripts.delete(rel); reject(new Error("could not load " + rel)); };
      document.head.appendChild(s);
    }));
  }
  return scripts.get(rel);
}
async function loadAll(list) { for (const rel of list) await loadScript(rel); }

function clock(t) {
  const m = Math.floor(t / 60);
  return Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0");
}
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
// Last index i with list[i][0] <= t (list sorted by time), or -1.
function lastAt(list, t) {
  let lo = 0, hi = list.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid][0] <= t + 1e-6) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}
function expand(frames, steps) {
  const rows = new Array(steps);
  for (let k = 0; k < frames.length; k++) {
    const end = k + 1 < frames.length ? frames[k + 1][0] : steps;
    for (let i = frames[k][0]; i < end; i++) rows[i] = frames[k][1];
  }
  return rows;
}

class Player {
  constructor(parent) {
    this.root = parent.querySelector(".lo-player");
    const q = (s) => this.root.querySelector(s);
    this.ui = {
      graph: q(".lo-graph"), sw: q(".lo-switch"), swText: q(".lo-switch-text"), status: q(".lo-power-status"),
      clock: q(".lo-clock-value"), play: q(".lo-play"), back: q(".lo-back"), fwd: q(".lo-fwd"),
      start: q(".lo-start"), scrub: q(".lo-scrub"), speed: q(".lo-speed"), caption: q(".lo-caption"),
      summary: q(".lo-summary"), charts: q(".lo-charts"), message: q(".lo-message"),
      log: q(".lo-log tbody"), logScroll: q(".lo-log-scroll"), notUp: q("#lo-notup-list"),
      ops: q(".lo-ops-row"), opsStatus: q(".lo-ops-status"), marks: q(".lo-marks"),
      users: q(".lo-users-list"), usersTime: q(".lo-users-time"),
      find: q(".lo-find"), findInput: q(".lo-find-input"), findList: q("#lo-find-list"), findResult: q(".lo-find-result"),
      group: q(".lo-group"), keys: q(".lo-keys"), presenterKeys: q(".lo-keys-presenter"),
    };
    this.t = 0; this.playing = true; this.speed = 1; this.shownStep = -1;
    this.data = null; this.pending = null; this.charts = []; this.chartKey = null; this.epoch = null;
    this.version = 0;
    this.onKey = this.onKey.bind(this);
    this.tick = this.tick.bind(this);
    const u = this.ui;
    u.play.onclick = () => (this.playing ? this.pause() : this.play());
    u.back.onclick = () => this.step(-1);
    u.fwd.onclick = () => this.step(1);
    u.start.onclick = () => { this.pause(); this.seek(0); };
    u.scrub.oninput = () => { this.pause(); this.seek(Number(u.scrub.value) * this.data.step_s); };
    u.speed.onchange = () => { this.speed = Number(u.speed.value); };
    u.sw.onclick = () => this.flip();
    const zoom = (f) => this.network && this.network.moveTo({ scale: this.network.getScale() * f });
    q(".lo-zoom-in").onclick = () => zoom(1.25);
    q(".lo-zoom-out").onclick = () => zoom(0.8);
    q(".lo-zoom-fit").onclick = () => this.network && this.network.fit({ animation: false });
    u.find.onsubmit = (e) => { e.preventDefault(); this.find(u.findInput.value); };
    u.group.onclick = () => this.setGrouped(u.group.getAttribute("aria-pressed") !== "true");
    document.addEventListener("keydown", this.onKey);
    this.onResize = () => this.fitHeight();
    window.addEventListener("resize", this.onResize);
    this.api = {
      play: () => this.play(), pause: () => this.pause(), step: (n = 1) => this.step(n),
      seek: (t) => this.seek(Number(t)), time: () => this.t, states: () => this.states(),
      playing: () => this.playing, version: () => this.version, cursor: () => this.cursorValues(),
      charts: () => this.charts.length,
      // Where a node is drawn, in page coordinates (for tests that hover it).
      nodePosition: (id) => {
        const p = this.network.canvasToDOM(this.network.getPositions([id])[id]);
        const r = this.ui.graph.getBoundingClientRect();
        return { x: r.left + p.x, y: r.top + p.y };
      },
      // ms from the last click of the switch to the re-simulated run drawn (for the benchmark)
      flipLatency: () => (this.appliedAt > this.clickedAt ? this.appliedAt - this.clickedAt : null),
      // ms from the component receiving a new run to that run drawn (the browser's share of a flip)
      applyTime: () => (this.appliedAt >= this.receivedAt ? this.appliedAt - this.receivedAt : null),
      setSpeed: (s) => { this.speed = Number(s); u.speed.value = String(s); },
      // Operator actions, at the player's time: act("Shed load", true), act("Block traffic / let it
      // back in", 25), act("Add capacity", {node: "auth", factor: 2}), act("Fail over", "auth"),
      // act("Warm the caches"). False when it cannot be taken now (another is being applied).
      act: (name, value) => this.act(String(name), value),
      actions: () => (this.data ? this.data.taken.map((a) => Object.assign({}, a)) : []),
      actionNames: () => (this.data ? this.data.operator.map((a) => a.name) : []),
      undo: () => this.undo(),
      // Find a service by id or label (case-insensitive): centres it and says its state; the id or null.
      find: (text) => this.find(String(text)),
      group: (on = true) => this.setGrouped(Boolean(on)),
      groups: () => (this.grouped && this.network ? this.groups.filter((g) => this.network.isCluster(g.id)).length : 0),
      // What the "What users see" panel says now: [[label, mark, words], …]
      users: () => [...this.ui.users.children].map((li) => [li.dataset.label, li.dataset.mark, li.dataset.words]),
      // Presenter mode: bring the switch, clock, caption and graph (and what sits beside them) into view.
      present: () => this.present(),
      // What the model says and when: [[simulated seconds, caption], …] (the clicker's stops).
      captions: () => (this.data ? this.data.captions.map((c) => c.slice()) : []),
      // Rendered size (px) of the graph's node labels, for tests of presenter mode's larger text.
      labelPx: () => (this.network ? this.fontSize() * this.network.getScale() : null),
    };
    window.player = this.api;
  }

  update(data, trigger) {
    this.trigger = trigger;
    const first = this.data === null;
    if (first) performance.mark("lo-first-data");
    const structure = (d) => d.nodes.map((n) => n.id + "@" + n.x + "," + n.y).join("|") + "#" +
      d.edges.map((e) => e.from + ">" + e.to).join("|");
    const rebuild = first || structure(data) !== structure(this.data) || Boolean(data.presenter) !== this.presenter;
    this.presenter = Boolean(data.presenter);
    this.root.dataset.presenter = this.presenter ? "1" : "0";
    this.ui.keys.hidden = this.presenter; this.ui.presenterKeys.hidden = !this.presenter;
    const changed = data.id !== (this.data && this.data.id);
    if (changed) this.receivedAt = performance.now();
    this.data = data;
    if (changed) {  // an acknowledgement alone (same run) changes nothing drawn
      this.nodeRows = expand(data.node_frames, data.steps);
      this.edgeRows = expand(data.edge_frames, data.steps);
      this.byNode = data.nodes.map(() => []);
      for (const ev of data.events) if (ev[1] >= 0) this.byNode[ev[1]].push(ev);
      this.ui.scrub.max = String((data.total_steps || data.steps) - 1);
      this.fillLog(data);
      this.buildOps(data);
      this.fillMarks(data);
    }
    // A new scenario starts from the beginning — a challenge from the moment the power is back.
    if (data.epoch !== this.epoch && data.challenge) { this.t = data.challenge.start; this.play(); }
    else if (this.epoch !== null && data.epoch !== this.epoch) { this.t = 0; this.play(); }
    this.epoch = data.epoch;
    this.t = Math.min(this.t, this.known());
    if (this.pending && data.ack === this.pending) this.settle(data.act_error || "");
    if (!data.partial && this.ui.status.textContent === WAITING) this.ui.status.textContent = "";
    this.shownNodes = rebuild ? null : this.shownNodes;
    this.shownEdges = rebuild ? null : this.shownEdges;
    this.ready = loadAll(LIBS.vis).then(() => {
      if (rebuild || !this.network) this.build();
      this.shownStep = -1;
      this.render();
      this.fitHeight();
      if (changed) { this.version++; this.appliedAt = performance.now(); }
      this.root.dataset.version = String(this.version);
      this.root.dataset.partial = data.partial ? "1" : "0";
      // The first minutes of a run after a flip: play them, and ask for the rest straight away.
      if (changed && data.partial && this.trigger) this.trigger("rest", { id: data.id });
    }).catch((err) => this.fail(err));
    if (!data.partial) this.loadCharts(data);  // charts wait for the whole run
    if (first) requestAnimationFrame(this.tick);
  }

  fail(err) {
    this.ui.message.hidden = false;
    this.ui.message.textContent = "The graph could not be drawn: " + err.message +
      ". The app serves its JavaScript from app/static; check that server.enableStaticServing is true.";
    console.error(err);
  }

  build() {
    const d = this.data;
    this.mode = this.layoutMode();
    this.root.dataset.layout = this.mode;
    this.place();
    this.nodesDS = new vis.DataSet(d.nodes.map((n, j) => ({ id: n.id, x: this.pos[j].x, y: this.pos[j].y, fixed: true })));
    this.edgesDS = new vis.DataSet(d.edges.map((e, i) => ({ id: i, from: e.from, to: e.to })));
    if (this.network) this.network.destroy();
    this.network = new vis.Network(this.ui.graph, { nodes: this.nodesDS, edges: this.edgesDS }, {
      physics: false, layout: { randomSeed: 1, improvedLayout: false },
      interaction: { dragNodes: false, zoomView: false, dragView: this.mode !== "vertical", hover: true, tooltipDelay: 120,
        keyboard: false, selectConnectedEdges: false },
      nodes: { size: 14 * this.scale(), borderWidth: 2, font: { size: this.fontSize(), face: "sans-serif", color: "#1f2230", multi: false },
        widthConstraint: { maximum: 130 * this.scale() } },
      edges: { smooth: { type: "cubicBezier", forceDirection: this.mode === "vertical" ? "vertical" : "horizontal", roundness: 0.4 },
        arrows: { to: { enabled: false } }, selectionWidth: 0, hoverWidth: 0 },
    });
    this.ui.findList.replaceChildren(...d.nodes.map((n) => { const o = el("option"); o.value = n.label; return o; }));
    this.ui.group.hidden = d.nodes.length <= GROUP_ABOVE;
    this.grouped = false;
    const headings = this.heads;
    this.network.once("afterDrawing", () => performance.mark("lo-graph-drawn"));
    this.network.on("afterDrawing", (ctx) => {
      ctx.save();
      ctx.font = "bold " + Math.round(18 * this.scale()) + "px sans-serif"; ctx.fillStyle = "#3b3f4c"; ctx.textAlign = "center";
      for (const h of headings) ctx.fillText(h.text, h.x, h.y);
      ctx.restore();
      this.root.dataset.drawn = "1";
    });
    this.fitHeight();
    this.network.once("afterDrawing", () => this.autoFit());
    this.resize = new ResizeObserver(() => {
      if (this.layoutMode() !== this.mode) { this.relayout(); return; }
      this.autoFit();
    });
    this.resize.observe(this.ui.graph);
  }

  // Fit the whole graph, but never below a readable scale: on a narrow screen the graph is shown
  // at MIN_SCALE around its centre and can be dragged sideways (Fit shows all of it, however small).
  autoFit() {
    if (!this.network) return;
    this.network.fit({ animation: false });
    if (this.network.getScale() < MIN_SCALE) this.network.moveTo({ scale: MIN_SCALE, animation: false });
  }

  scale() { return this.presenter ? PRESENTER_SCALE : 1; }
  fontSize() { return 17 * this.scale(); }

  // The graph's height. Presenter mode: the rest of the screen below the switch, clock and caption, so
  // that all of them (and, on the Story, the question beside them) fit on one projected screen.
  fitHeight() {
    const g = this.ui.graph;
    if (this.mode === "vertical" && this.graphHeight) {   // a phone: the whole graph, as tall as it needs
      const k = Math.min(1.1, (g.clientWidth - 10) / ((PER_ROW - 1) * 125 + 150));
      const h = Math.ceil((this.graphHeight + 90) * k) + "px";
      if (g.style.height !== h) g.style.height = h;
      return;
    }
    if (!this.presenter) { g.style.height = ""; return; }
    const top = this.stage().getBoundingClientRect().top, graphTop = g.getBoundingClientRect().top;
    const h = Math.max(260, Math.floor(window.innerHeight - this.headerBottom() - (graphTop - top) - 12));
    if (g.style.height !== h + "px") g.style.height = h + "px";
  }

  // What presenter mode keeps in view: the Story's text-and-player block, or the player itself.
  stage() { return this.root.closest("[class*='st-key-presenter_stage']") || this.root; }
  headerBottom() {
    const h = document.querySelector('[data-testid="stHeader"]');
    return h ? Math.max(0, h.getBoundingClientRect().bottom) : 0;
  }

  present() {
    this.fitHeight();
    const stage = this.stage();
    let box = stage.parentElement;
    while (box && box !== document.body) {
      const oy = getComputedStyle(box).overflowY;
      if ((oy === "auto" || oy === "scroll") && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    const scroller = box && box !== document.body ? box : document.scrollingElement;
    scroller.scrollTop += stage.getBoundingClientRect().top - this.headerBottom() - 6;
  }

  // In view: the stage's top below the header and the graph's bottom on the screen.
  inView() {
    const s = this.stage().getBoundingClientRect(), g = this.ui.graph.getBoundingClientRect();
    return s.top >= this.headerBottom() - 2 && g.bottom <= window.innerHeight + 2;
  }

  // The moments the model says something new (captions), for the clicker.
  nextMoment(dir) {
    const half = this.data.step_s / 2, times = this.data.captions.map((c) => c[0]);
    if (dir > 0) return times.find((x) => x > this.t + half);
    const before = times.filter((x) => x < this.t - half);
    return before.length ? before[before.length - 1] : 0;
  }

  clicker(dir) {
    if (!this.inView()) { this.present(); return; }       // the first press brings the stage into view
    const t = this.nextMoment(dir);
    if (t === undefined) { this.play(); return; }          // nothing more is said: let it run
    this.pause();
    this.seek(t);
    this.present();
  }

  layoutMode() {
    if (this.presenter) return "presenter";
    const w = this.ui.graph.clientWidth;
    return w && w < VERTICAL_BELOW ? "vertical" : "wide";
  }

  // A different layout (the window was resized across VERTICAL_BELOW): draw the graph again.
  relayout() {
    if (this.resize) this.resize.disconnect();
    this.shownNodes = null; this.shownEdges = null; this.shownStep = -1;
    this.build();
    this.render();
  }

  // Where each node is drawn (this.pos, in payload order) and the column headings (this.heads).
  place() {
    const nodes = this.data.nodes;
    if (this.mode !== "vertical") {
      const [sx, sy] = this.mode === "presenter" ? PRESENTER_SPREAD : [1, 1];
      this.pos = nodes.map((n) => ({ x: n.x * sx, y: n.y * sy }));
      const cols = new Map();
      let top = Infinity;
      nodes.forEach((n, j) => { top = Math.min(top, this.pos[j].y); if (!cols.has(this.pos[j].x)) cols.set(this.pos[j].x, n.kind); });
      const out = [];
      for (const [x, kind] of [...cols.entries()].sort((a, b) => a[0] - b[0])) {
        const text = HEADINGS[kind] || kind;
        const prev = out[out.length - 1];
        if (prev && prev.text === text) { prev.x2 = x; } else out.push({ text, x1: x, x2: x });
      }
      this.heads = out.map((h) => ({ text: h.text, x: (h.x1 + h.x2) / 2, y: top - 50 }));
      this.graphHeight = null;
      return;
    }
    // Vertical: each column of the wide layout becomes rows, users' features first.
    const byX = new Map();
    nodes.forEach((n, j) => { if (!byX.has(n.x)) byX.set(n.x, []); byX.get(n.x).push(j); });
    const cols = [...byX.entries()].sort((a, b) => b[0] - a[0]);
    this.pos = new Array(nodes.length);
    this.heads = [];
    let y = 0, last = null;
    const dx = 125, dy = 100;
    for (const [, members] of cols) {
      members.sort((a, b) => nodes[a].y - nodes[b].y);
      const text = HEADINGS[nodes[members[0]].kind] || nodes[members[0]].kind;
      if (text !== last) { y += last === null ? 0 : 30; this.heads.push({ text, x: 0, y }); y += 45; last = text; }
      for (let k = 0; k < members.length; k += PER_ROW) {
        const row = members.slice(k, k + PER_ROW);
        row.forEach((j, i) => { this.pos[j] = { x: (i - (row.length - 1) / 2) * dx, y }; });
        y += dy;
      }
    }
    this.graphHeight = y;
  }

  fillLog(data) {
    const rows = data.events.map(([t, j, state, cause]) => {
      const tr = document.createElement("tr");
      const name = j >= 0 ? data.nodes[j].label : "Scheduled change";
      for (const text of [clock(t), name, state, cause]) tr.appendChild(el("td", "", text));
      return tr;
    });
    this.ui.log.replaceChildren(...rows);
    if (!rows.length) {
      const tr = document.createElement("tr"), td = el("td", "", "No service changed state in this run.");
      td.colSpan = 4; tr.appendChild(td); this.ui.log.appendChild(tr);
    }
    this.logRow = null;
  }

  markLog(t) {
    const k = lastAt(this.data.events, t);
    const row = k >= 0 ? this.ui.log.children[k] : null;
    if (row === this.logRow) return;
    if (this.logRow) this.logRow.removeAttribute("aria-current");
    this.logRow = row;
    if (!row) return;
    row.setAttribute("aria-current", "true");
    if (this.playing) {
      const box = this.ui.logScroll;
      box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 2);
    }
  }

  index() { return Math.max(0, Math.min(this.data.steps - 1, Math.floor(this.t / this.data.step_s + 1e-9))); }
  // Simulated seconds at the end of the whole run, and at the end of what has arrived (less while
  // only the first minutes after a flip are here).
  end() { return ((this.data.total_steps || this.data.steps) - 1) * this.data.step_s; }
  known() { return (this.data.steps - 1) * this.data.step_s; }

  states() {
    const row = this.nodeRows[this.index()];
    const out = {};
    this.data.nodes.forEach((n, j) => { out[n.id] = this.data.state_names[Number(row[j])]; });
    return out;
  }

  powerOn(t) {
    let on = true;
    for (const [ft, fon] of this.data.flips) if (ft <= t + 1e-6) on = fon;
    return on;
  }

  tooltip(j, code) {
    const n = this.data.nodes[j];
    const box = el("div", "lo-tip");
    box.appendChild(el("b", "", n.label));
    box.appendChild(el("div", "", "State: " + this.data.state_names[code]));
    const evs = this.byNode[j];
    const k = lastAt(evs, this.index() * this.data.step_s);
    if (k >= 0 && evs[k][3]) box.appendChild(el("div", "", "Why: " + evs[k][3] + " (at " + clock(evs[k][0]) + ")"));
    if (n.users.length) box.appendChild(el("div", "", "Depended on by: " + n.users.join(", ")));
    if (n.needs.length) box.appendChild(el("div", "", "Depends on: " + n.needs.join(", ")));
    return box;
  }

  // Called every animation frame while playing: only the clock changes within a step, so the rest
  // runs when the step changes (or new data sets this.shownStep = -1).
  render() {
    if (!this.data) return;
    const d = this.data, i = this.index(), u = this.ui;
    const now = clock(this.t);
    if (now !== this.shownClock) {
      this.shownClock = now;
      u.clock.textContent = now;
      u.scrub.setAttribute("aria-valuetext", now);
    }
    if (i === this.shownStep) return;
    this.shownStep = i;
    const t = i * d.step_s;
    u.scrub.value = String(i);
    u.graph.dataset.simTime = String(t);
    const on = this.powerOn(t);
    u.sw.setAttribute("aria-checked", String(on));
    u.swText.textContent = on ? "ON" : "OFF";
    if (!this.pending) u.sw.disabled = false;
    const cap = lastAt(d.captions, t);
    const text = cap >= 0 ? d.captions[cap][1] : clock(t) + " — Everything is running normally.";
    if (u.caption.textContent !== text) u.caption.textContent = text;
    this.renderOps(t);
    this.renderUsers(i, t);
    this.moveCursor(false);
    this.markLog(t);
    if (this.nodesDS) this.renderGraph(i, t); else this.shownStep = -1;
  }

  renderGraph(i, t) {
    const d = this.data, row = this.nodeRows[i], erow = this.edgeRows[i];
    const nodeUpd = [], counts = d.state_names.map(() => 0), down = [];
    for (let j = 0; j < d.nodes.length; j++) {
      const code = Number(row[j]);
      counts[code]++;
      if (code !== 0) down.push(d.nodes[j].label + " (" + d.state_names[code] + ")");
      if (this.shownNodes && this.shownNodes[j] === row[j]) continue;
      const [shape, fill, border, icon] = STYLE[code] || STYLE[0];
      nodeUpd.push({ id: d.nodes[j].id, shape, label: d.nodes[j].label + "\n" + icon + " " + d.state_names[code],
        color: { background: fill, border, hover: { background: fill, border: "#000" } },
        borderWidth: code === 0 ? 2 : 3, shapeProperties: { borderDashes: code === 3 ? [4, 3] : false },
        title: this.tooltip(j, code) });
    }
    const edgeUpd = [];
    for (let k = 0; k < d.edges.length; k++) {
      if (this.shownEdges && this.shownEdges[k] === erow[k]) continue;
      const q = Number(erow[k]), call = d.edges[k].kind === "call" || d.edges[k].kind === "fallback";
      // Calls carry the story; power and "needs" lines stay faint so the picture stays readable.
      edgeUpd.push({ id: k, color: { color: q ? "#D55E00" : "#8c8c8c", opacity: call ? (q ? 0.95 : 0.75) : (q ? 0.45 : 0.22) },
        width: call ? (q ? 1.5 + q * 0.5 : 1.2) : (q ? 1.5 : 1), dashes: q ? [6, 4] : false });
    }
    if (nodeUpd.length) this.nodesDS.update(nodeUpd);
    if (edgeUpd.length) this.edgesDS.update(edgeUpd);
    this.shownNodes = row; this.shownEdges = erow;
    if (this.grouped) this.labelGroups(row);
    const parts = d.state_names.map((s, c) => counts[c] + " " + s).filter((s, c) => counts[c]);
    this.ui.summary.textContent = "At " + clock(t) + ": " + parts.join(", ") + ".";
    this.ui.notUp.textContent = down.length ? down.join(", ") + "." : "Every service is up.";
  }

  tick(now) {
    if (!this.alive) return;
    const last = this.lastFrame || now;
    this.lastFrame = now;
    if (this.playing && this.data) {
      // Past what has arrived, the clock waits (still playing) for the rest of the run.
      this.t = Math.min(this.known(), this.t + Math.min(0.25, (now - last) / 1000) * SIM_SECONDS_PER_SECOND * this.speed);
      if (this.t >= this.end()) this.pause();
      else if (this.data.partial && this.t >= this.known() && !this.pending && this.ui.status.textContent !== WAITING) {
        this.ui.status.textContent = WAITING;
      }
      this.render();
    }
    requestAnimationFrame(this.tick);
  }

  play() {
    if (!this.data) { this.playing = true; return; }
    if (this.t >= this.end()) this.t = 0;
    this.playing = true;
    this.ui.play.textContent = "Pause";
  }
  pause() { this.playing = false; this.ui.play.textContent = "▶ Play"; this.render(); }
  seek(t) {
    if (!this.data || !Number.isFinite(t)) return;
    this.t = Math.max(0, Math.min(this.known(), t));
    this.render();
  }
  step(n) { this.pause(); this.seek((this.index() + Math.trunc(n)) * this.data.step_s); }

  flip() {
    if (this.pending || !this.data || !this.trigger) return;
    const t = this.index() * this.data.step_s;
    const on = !this.powerOn(t);
    this.begin((on ? "Restoring power at " : "Cutting power at ") + clock(t) + " — re-running the model…");
    this.trigger("power_switch", { t, on, click_id: this.pending });
  }
  settle(message) {
    clearTimeout(this.timer);
    this.pending = null;
    this.ui.sw.disabled = false;
    this.ui.sw.removeAttribute("aria-busy");
    this.ui.status.textContent = message;
    this.ui.opsStatus.textContent = message;
    this.opsNote = message;
    this.shownStep = -1;
  }

  // ---- operator actions -------------------------------------------------------------------
  buildOps(data) {
    // Only pages that take actions show the panel (the Story's player shows a chapter's run).
    this.root.querySelector(".lo-ops").hidden = !data.actions_enabled;
    const key = JSON.stringify(data.operator);
    if (key === this.opsKey) return;
    this.opsKey = key;
    this.opCtl = {};
    const row = [];
    for (const a of data.operator) {
      const box = el("div", "lo-op");
      box.title = a.help;
      if (a.value === "switch") {
        const b = el("button", "", a.name);
        b.type = "button"; b.setAttribute("role", "switch"); b.setAttribute("aria-checked", "false");
        b.setAttribute("aria-label", a.name);
        b.onclick = () => this.act(a.name, b.getAttribute("aria-checked") !== "true");
        box.appendChild(b); this.opCtl[a.name] = { b };
      } else if (a.value === "share") {
        const id = "lo-op-share";
        const lab = el("label", "", "Let in"); lab.htmlFor = id;
        const r = el("input"); r.type = "range"; r.id = id; r.min = "0"; r.max = "100"; r.step = "5"; r.value = "100";
        r.setAttribute("aria-label", a.name);
        const out = el("output", "", "100 %");
        r.oninput = () => { out.textContent = r.value + " %"; };
        r.onchange = () => this.act(a.name, Number(r.value));
        box.append(lab, r, out); this.opCtl[a.name] = { r, out };
      } else if (a.value === "node") {
        const sel = el("select");
        sel.setAttribute("aria-label", a.name + ": which service");
        for (const [id, label] of a.targets) { const o = el("option", "", label); o.value = id; sel.appendChild(o); }
        let factor = null;
        if (a.name === "Add capacity") {
          factor = el("select"); factor.setAttribute("aria-label", "Add capacity: how much");
          for (const f of [2, 3, 4]) { const o = el("option", "", "×" + f); o.value = String(f); factor.appendChild(o); }
        }
        const b = el("button", "", a.name); b.type = "button";
        b.disabled = !a.targets.length;
        b.onclick = () => this.act(a.name, { node: sel.value, factor: factor ? Number(factor.value) : undefined });
        box.append(b, sel); if (factor) box.appendChild(factor);
        this.opCtl[a.name] = { b, sel };
      } else {
        const b = el("button", "", a.name); b.type = "button";
        b.onclick = () => this.act(a.name, true);
        box.appendChild(b); this.opCtl[a.name] = { b };
      }
      row.push(box);
    }
    const undo = el("button", "lo-undo", "Undo"); undo.type = "button"; undo.hidden = true;
    undo.onclick = () => this.undo();
    row.push(undo);
    this.ui.undoBtn = undo;
    this.ui.ops.replaceChildren(...row);
  }

  // Which actions are in force at time t (the controls show the run's state at the player's time).
  inForce(name, t) {
    return this.data.taken.filter((a) => a.name === name && a.t <= t + 1e-6 && (a.end === null || a.end > t + 1e-6));
  }

  renderOps(t) {
    if (!this.opCtl) return;
    for (const a of this.data.operator) {
      const c = this.opCtl[a.name];
      if (!c) continue;
      const on = this.inForce(a.name, t);
      if (a.value === "switch") c.b.setAttribute("aria-checked", String(on.length > 0));
      else if (a.value === "share" && document.activeElement !== c.r) {
        const v = on.length ? on[on.length - 1].value : 100;
        c.r.value = String(v); c.out.textContent = v + " %";
      }
    }
    const ch = this.data.challenge;
    if (ch && !this.pending) {
      const left = Math.max(0, ch.budget - ch.used);
      const text = "Challenge: " + left + " of " + ch.budget + " actions left" +
        (t < ch.start ? " — actions start at " + clock(ch.start) + ", when the power is back." : ".");
      const shown = this.opsNote ? this.opsNote + " " + text : text;
      if (this.ui.opsStatus.textContent !== shown) this.ui.opsStatus.textContent = shown;
    }
    const undo = this.ui.undoBtn;
    if (undo) {
      const mine = this.data.undo_after !== undefined && this.data.undo_after !== null && this.data.undo_after > t + 1e-6;
      undo.hidden = !mine;
      undo.textContent = "Undo my actions after " + clock(t);
    }
  }

  act(name, value) {
    if (this.pending || !this.data || !this.trigger || !this.data.actions_enabled) return false;
    const spec = this.data.operator.find((a) => a.name === name);
    if (!spec) return false;
    const t = this.index() * this.data.step_s;
    let node = null, v = value;
    if (spec.value === "node") {
      if (value && typeof value === "object") { node = value.node; v = value.factor === undefined ? 2 : value.factor; }
      else { node = value; v = 2; }
      if (!node && spec.targets.length) node = spec.targets[0][0];
      if (spec.name === "Fail over") v = true;
    } else if (spec.value === "share") v = Number(value);
    else if (spec.value === "switch") v = value === undefined ? true : Boolean(value);
    else v = true;
    this.begin("Taking “" + name + "” at " + clock(t) + " — re-running the model…");
    this.trigger("act", { name, value: v, node, t, click_id: this.pending });
    return true;
  }

  undo() {
    if (this.pending || !this.data || !this.trigger || !this.data.actions_enabled) return false;
    const t = this.index() * this.data.step_s;
    this.begin("Undoing your actions after " + clock(t) + "…");
    this.trigger("act", { name: "Undo", t, click_id: this.pending });
    return true;
  }

  begin(message) {
    this.pending = "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    this.ui.sw.disabled = true;
    this.ui.sw.setAttribute("aria-busy", "true");
    this.ui.status.textContent = message;
    this.ui.opsStatus.textContent = message;
    this.timer = setTimeout(() => this.settle("No answer from the server yet — try again."), 20000);
    this.clickedAt = performance.now();
  }

  fillMarks(data) {
    const end = Math.max(1, ((data.total_steps || data.steps) - 1) * data.step_s);
    const marks = data.taken.map((a) => {
      const m = el("span", "lo-mark", "▼");
      m.style.left = (100 * Math.min(1, a.t / end)) + "%";
      m.title = clock(a.t) + " " + a.name + (a.node_label ? " (" + a.node_label + ")" : "");
      return m;
    });
    this.ui.marks.replaceChildren(...marks);
  }

  // ---- large graphs: find a service, group columns ---------------------------------------------
  find(text) {
    if (!this.data || !this.network) return null;
    const want = text.trim().toLowerCase();
    const d = this.data;
    const j = d.nodes.findIndex((n) => n.id.toLowerCase() === want || n.label.toLowerCase() === want);
    const k = j >= 0 ? j : d.nodes.findIndex((n) => want && n.label.toLowerCase().includes(want));
    if (k < 0) { this.ui.findResult.textContent = "No service called “" + text + "”."; return null; }
    const n = d.nodes[k];
    if (this.grouped) this.setGrouped(false);
    this.network.selectNodes([n.id]);
    this.network.focus(n.id, { scale: Math.max(this.network.getScale(), 0.9), animation: false });
    const code = Number(this.nodeRows[this.index()][k]);
    this.ui.findResult.textContent = n.label + ": " + d.state_names[code] + " at " + clock(this.index() * d.step_s) + ".";
    return n.id;
  }

  setGrouped(on) {
    if (!this.network || !this.data) return;
    const d = this.data;
    if (on && !this.grouped) {
      const byX = new Map();   // a column of the wide layout → the indices of its nodes
      d.nodes.forEach((n, j) => { if (!byX.has(n.x)) byX.set(n.x, []); byX.get(n.x).push(j); });
      const at = (members, axis) => members.reduce((a, j) => a + this.pos[j][axis], 0) / members.length;
      this.groups = [];
      for (const [x, members] of byX) {
        if (members.length < 2) continue;
        const id = "group:" + x, ids = new Set(members.map((j) => d.nodes[j].id));
        this.network.cluster({ joinCondition: (o) => ids.has(o.id),
          clusterNodeProperties: { id, x: at(members, "x"), y: at(members, "y"),
            shape: "box", font: { size: this.fontSize(), multi: false }, fixed: true } }, false);
        this.groups.push({ id, members, kind: d.nodes[members[0]].kind });
      }
      this.network.body.emitter.emit("_dataChanged");  // once, not once a column (refreshData false above)
      this.grouped = true;
      this.labelGroups(this.nodeRows[this.index()]);
    } else if (!on && this.grouped) {
      // vis refreshes its data once, not once a column: 5–6 s → well under 1 s at 2,000 nodes
      for (const g of this.groups) if (this.network.isCluster(g.id)) this.network.openCluster(g.id, {}, false);
      this.network.body.emitter.emit("_dataChanged");
      this.grouped = false;
    }
    this.ui.group.setAttribute("aria-pressed", String(this.grouped));
    this.autoFit();
  }

  labelGroups(row) {
    const d = this.data;
    for (const g of this.groups || []) {
      const counts = d.state_names.map(() => 0);
      for (const j of g.members) counts[Number(row[j])]++;
      const worst = counts.reduce((w, c, i) => (c ? i : w), 0);
      const parts = d.state_names.map((s, i) => (counts[i] ? counts[i] + " " + s : null)).filter(Boolean);
      const [, fill, border] = STYLE[worst] || STYLE[0];
      if (this.network.isCluster(g.id)) {
        this.network.clustering.updateClusteredNode(g.id, {
          label: (HEADINGS[g.kind] || g.kind) + " (" + g.members.length + ")\n" + parts.join(", "),
          color: { background: fill, border } });
      }
    }
  }

  // ---- what users see ----------------------------------------------------------------------
  renderUsers(i, t) {
    const u = this.data.users;
    if (!u) return;
    const k = lastAt(u.frames, t);
    const lines = k >= 0 ? u.frames[k][1].slice() : [];
    const count = (series, money) => {
      if (!series) return null;
      const raw = series.shown[i], unit = series.unit || 1;
      const shown = raw === null || raw === undefined ? null : raw / unit, real = series.true[i] / unit;
      const f = (x) => (x === null ? "hidden" : (money ? "$" + x.toFixed(2) : Math.round(x).toLocaleString("en-US")));
      const ok = shown !== null && Math.abs(shown - real) <= Math.max(money ? 0.01 : 1, 0.001 * real);
      return [ok ? "✓" : "!", "shows " + f(shown) + "; really " + f(real)];
    };
    const views = count(u.views, false), earn = count(u.earnings, true);
    if (views) lines.push(["Views on a creator's video", views[0], views[1]]);
    if (earn) lines.push(["Creator's earnings", earn[0], earn[1]]);
    const key = JSON.stringify(lines);
    this.ui.usersTime.textContent = "at " + clock(t);
    if (key === this.usersKey) return;
    this.usersKey = key;
    this.ui.users.replaceChildren(...lines.map(([label, mark, words]) => {
      const li = el("li");
      li.dataset.label = label; li.dataset.mark = mark; li.dataset.words = words;
      const b = el("b");
      b.append(el("span", "lo-users-mark", mark), document.createTextNode(label));
      li.append(b, el("span", "", words));
      return li;
    }));
  }

  onKey(e) {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !this.data) return;
    const target = e.target instanceof Element ? e.target : null;
    if (this.presenter && !(target && target.closest(CLICKER_SKIP))) {
      const dir = { PageDown: 1, ArrowRight: 1, PageUp: -1, ArrowLeft: -1 }[e.key];
      if (dir && !(target && target.closest(".lo-player") && e.key.startsWith("Arrow") && target.closest(SKIP_KEYS))) {
        e.preventDefault();
        this.clicker(dir);
        return;
      }
    }
    if (target && target.closest(SKIP_KEYS)) return;
    if (e.key === " " || e.code === "Space") { this.playing ? this.pause() : this.play(); }
    else if (e.key === "ArrowRight") this.step(1);
    else if (e.key === "ArrowLeft") this.step(-1);
    else if (e.key === "Home") { this.pause(); this.seek(0); }
    else return;
    e.preventDefault();
  }

  // Charts load after the graph has drawn (the graph is what a visitor looks at first). When only
  // the data changed (same chart templates), the datasets are swapped in place, one chart per
  // frame, so a flip of the switch never blocks the animation with a full re-embed. Only charts on
  // screen follow the cursor (at most ~12 times a second); others catch up when scrolled to.
  loadCharts(data) {
    const key = JSON.stringify(data.charts) + JSON.stringify(data.datasets);
    if (key === this.chartKey) return;
    this.chartKey = key;
    const shape = JSON.stringify(data.charts.map((c) => [c.id, Object.assign({}, c.spec, { description: "" })]));
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const stale = () => key !== this.chartKey;
    this.chartsReady = (this.chartsReady || Promise.resolve()).then(() => this.ready).then(async () => {
      if (stale() || !data.charts.length) return;
      if (shape === this.chartShape) {
        for (let i = 0; i < this.charts.length && !stale(); i++) {
          await frame();
          const c = this.charts[i];
          for (const [name, values] of Object.entries(data.datasets)) {
            try { c.view.data(name, values); } catch (_) { /* this chart does not use that dataset */ }
          }
          c.box.setAttribute("aria-label", data.charts[i].title + ". " + data.charts[i].description);
          await c.view.runAsync();
        }
        return;
      }
      await loadAll(LIBS.vega);
      if (stale()) return;
      // Embed into boxes already in the page: vega sizes width="container" charts from them.
      const old = new Map(this.charts.map((c) => [c.id, c.box])), made = [];
      this.charts.forEach((c) => c.view.finalize());
      this.charts = [];
      for (const chart of data.charts) {
        await frame();
        const box = old.get(chart.id) || el("figure", "lo-chart");
        box.setAttribute("aria-label", chart.title + ". " + chart.description);
        this.ui.charts.appendChild(box);
        const full = Object.assign({}, chart.spec, { datasets: data.datasets });
        const view = (await vegaEmbed(box, full, { actions: false, renderer: "svg" })).view;
        let cursor = true;
        try { view.signal(data.cursor_param); } catch (_) { cursor = false; }
        made.push({ id: chart.id, box, view, cursor, visible: false, at: null });
      }
      const ids = new Set(made.map((c) => c.id));
      for (const [id, box] of old) if (!ids.has(id)) box.remove();
      if (this.seen) this.seen.disconnect();
      this.seen = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const c = this.charts.find((x) => x.box === e.target);
          if (c) c.visible = e.isIntersecting;
        }
        this.moveCursor(true);
      });
      made.forEach((c) => this.seen.observe(c.box));
      this.charts = made;
      this.chartShape = shape;
      this.param = data.cursor_param;
      this.moveCursor(true);
    }).catch((err) => console.error("charts:", err));
  }

  moveCursor(now) {
    if (!this.data || !this.charts.length) return;
    if (this.cursorBusy || (!now && performance.now() - (this.cursorAt || 0) < 80)) {
      if (!this.cursorTimer) this.cursorTimer = setTimeout(() => { this.cursorTimer = null; this.moveCursor(true); }, 80);
      return;
    }
    const value = this.index() * this.data.step_s * (this.data.cursor_scale || 1);
    const todo = this.charts.filter((c) => c.cursor && c.visible && c.at !== value);
    if (!todo.length) return;
    this.cursorBusy = true;
    this.cursorAt = performance.now();
    Promise.all(todo.map((c) => { c.at = value; return c.view.signal(this.param, value).runAsync(); }))
      .catch((err) => console.error("cursor:", err))
      .finally(() => { this.cursorBusy = false; });
  }
  // Cursor positions of the charts on screen (simulated seconds × cursor_scale).
  cursorValues() { return this.charts.filter((c) => c.cursor && c.visible).map((c) => c.view.signal(this.param)); }

  destroy() {
    this.alive = false;
    window.removeEventListener("resize", this.onResize);
    document.removeEventListener("keydown", this.onKey);
    if (this.resize) this.resize.disconnect();
    if (this.network) this.network.destroy();
    this.charts.forEach((c) => c.view.finalize());
    if (this.seen) this.seen.disconnect();
    clearTimeout(this.timer);
    clearTimeout(this.cursorTimer);
    if (window.player === this.api) delete window.player;
  }
}

const players = new Map();

export default function ({ data, parentElement, setTriggerValue }) {
  let p = players.get(parentElement);
  if (!p) {
    p = new Player(parentElement);
    p.alive = true;
    players.set(parentElement, p);
  }
  if (data) p.update(data, setTriggerValue);
  return () => { p.destroy(); players.delete(parentElement); };
}
