// The Architecture page's editor: a plain <textarea> in the page (no iframe, nothing fetched).
// Typing does no work but restart a timer; after a pause of DEBOUNCE_MS the whole text goes to
// Python once (a trigger, so it is not re-sent with every later rerun), which validates it, redraws
// the graph and acknowledges the edit's number. Until then the status says "checking…".
// Python replaces the text (an example, an upload, a link) by raising `rev`; otherwise the text it
// sends back is ignored while the editor is mounted, so nothing the user types is ever overwritten.
// Keyboard: Tab leaves the editor as everywhere else (no trap); Ctrl/Cmd+Enter checks at once.
const DEBOUNCE_MS = 400;
const editors = new Map();

function makeEditor(root) {
  const ta = root.querySelector(".lo-arch-editor-text");
  const status = root.querySelector(".lo-arch-editor-status");
  const ed = { ta, status, rev: null, seq: 0, timer: null, sent: 0, ack: 0, verdict: "", trigger: null };

  const show = () => {
    let state = ed.verdict || "idle";
    let text = ed.verdict === "valid" ? "Valid: in use on every page." :
      ed.verdict === "invalid" ? "Not valid: see the message below (the last valid architecture stays in use)." : "";
    if (ed.timer !== null || ed.ack < ed.sent) {
      state = "checking";
      text = "checking…";
    }
    if (status.dataset.state !== state || status.textContent !== text) {
      status.dataset.state = state;
      status.textContent = text;
    }
  };

  const send = () => {
    if (ed.timer !== null) {
      clearTimeout(ed.timer);
      ed.timer = null;
    }
    if (!ed.trigger) return;
    ed.seq += 1;
    ed.sent = ed.seq;
    ed.trigger("edit", { text: ta.value, seq: ed.seq, rev: ed.rev });
    show();
  };

  const onInput = () => {
    if (ed.timer !== null) clearTimeout(ed.timer);
    ed.timer = setTimeout(send, DEBOUNCE_MS);
    if (status.dataset.state !== "checking") show();
  };
  const onKey = (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
    }
  };
  const onBlur = () => {
    if (ed.timer !== null) send();
  };
  ta.addEventListener("input", onInput);
  ta.addEventListener("keydown", onKey);
  ta.addEventListener("blur", onBlur);

  ed.update = (data, trigger) => {
    ed.trigger = trigger;
    if (!data) return;
    if (data.rev !== ed.rev) {          // Python replaced the text (or this is a fresh mount)
      if (ed.timer !== null) {
        clearTimeout(ed.timer);
        ed.timer = null;
      }
      ed.rev = data.rev;
      if (ta.value !== data.text) ta.value = String(data.text ?? "");
    } else if (ed.rev === null) {
      ta.value = String(data.text ?? "");
    }
    const ack = Number(data.ack) || 0;
    ed.ack = ack;
    if (ed.seq < ack) {                  // a fresh mount continues the numbering Python has seen
      ed.seq = ack;
      ed.sent = ack;
    }
    ed.verdict = data.verdict === "valid" || data.verdict === "invalid" ? data.verdict : "";
    ta.setAttribute("aria-invalid", ed.verdict === "invalid" ? "true" : "false");
    root.dataset.ack = String(ack);
    root.dataset.rev = String(ed.rev);
    show();
  };
  ed.destroy = () => {
    if (ed.timer !== null) clearTimeout(ed.timer);
    ta.removeEventListener("input", onInput);
    ta.removeEventListener("keydown", onKey);
    ta.removeEventListener("blur", onBlur);
  };
  return ed;
}

export default function ({ data, parentElement, setTriggerValue }) {
  let ed = editors.get(parentElement);
  if (!ed) {
    ed = makeEditor(parentElement);
    editors.set(parentElement, ed);
  }
  ed.update(data, setTriggerValue);
  return () => {
    ed.destroy();
    editors.delete(parentElement);
  };
}
