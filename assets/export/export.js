// Lights Out export bar: "copy link" and SVG/PNG downloads of the Lab's charts, made in the browser.
//
// Why in the browser: Altair's server-side export needs vl-convert (a large native wheel the app
// does not ship). The same vega libraries the player uses (served from app/static/vendor) render
// each Vega-Lite spec headlessly and hand the SVG or PNG to the browser as a download.
// Text from data is written with textContent only.

const LIBS = ["app/static/vendor/vega.min.js", "app/static/vendor/vega-lite.min.js"];
const scripts = new Map();
function loadScript(rel) {
  if (!scripts.has(rel)) {
    scripts.set(rel, new Promise((resolve, reject) => {
      if (rel.endsWith("vega.min.js") && window.vega) return resolve();
      if (rel.endsWith("vega-lite.min.js") && window.vegaLite) return resolve();
      const s = document.createElement("script");
      s.src = new URL(rel, document.baseURI).href;
      s.onload = resolve;
      s.onerror = () => { scripts.delete(rel); reject(new Error("could not load " + rel)); };
      document.head.appendChild(s);
    }));
  }
  return scripts.get(rel);
}
async function loadAll() { for (const rel of LIBS) await loadScript(rel); }

function download(href, name) {
  const a = document.createElement("a");
  a.href = href; a.download = name; a.rel = "noopener";
  document.body.appendChild(a); a.click(); a.remove();
}

async function exportChart(chart, format, prefix, status) {
  status.textContent = "Preparing " + chart.title + " (" + format.toUpperCase() + ")…";
  try {
    await loadAll();
    const vg = window.vegaLite.compile(chart.spec).spec;
    const view = new window.vega.View(window.vega.parse(vg), { renderer: "none" });
    await view.runAsync();
    const name = prefix + "-" + chart.id + "." + format;
    if (format === "svg") {
      const svg = await view.toSVG();
      const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
      download(url, name);
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } else {
      download(await view.toImageURL("png", 2), name);
    }
    view.finalize();
    status.textContent = "Downloaded " + name + ".";
  } catch (err) {
    status.textContent = "Could not export " + chart.title + ": " + err.message;
  }
}

function linkHref() {
  try { return window.top.location.href; } catch (_) { return window.location.href; }
}

async function copyLink(status) {
  const href = linkHref();
  try {
    await navigator.clipboard.writeText(href);
    status.textContent = "Link copied.";
  } catch (_) {
    // Clipboard blocked (insecure origin or no permission): select the text for a manual copy.
    const t = document.createElement("textarea");
    t.value = href; t.setAttribute("readonly", ""); t.style.position = "fixed"; t.style.opacity = "0";
    document.body.appendChild(t); t.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    t.remove();
    status.textContent = ok ? "Link copied." : "Copy the address from the box below the buttons.";
  }
}

export default function ({ data, parentElement }) {
  const root = parentElement.querySelector(".lo-export");
  if (!root) return;
  const d = data || {};
  const copyBtn = root.querySelector(".lo-copy");
  const copyStatus = root.querySelector(".lo-copy-status");
  copyBtn.onclick = () => copyLink(copyStatus);
  root.dataset.ready = "1";
  const box = root.querySelector(".lo-export-charts");
  const status = root.querySelector(".lo-export-status");
  const charts = Array.isArray(d.charts) ? d.charts : [];
  box.replaceChildren();
  for (const c of charts) {
    const row = document.createElement("div");
    row.className = "lo-export-chart";
    const label = document.createElement("span");
    label.textContent = c.title;
    row.appendChild(label);
    for (const fmt of ["svg", "png"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = fmt.toUpperCase();
      b.setAttribute("aria-label", "Download " + c.title + " as " + fmt.toUpperCase());
      b.dataset.chart = c.id; b.dataset.format = fmt;
      b.onclick = () => exportChart(c, fmt, d.prefix || "lights-out", status);
      row.appendChild(b);
    }
    box.appendChild(row);
  }
}
