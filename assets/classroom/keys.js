// Story keys: presentation-clicker and keyboard keys move through the story's steps and chapters.
// Installed on window in the capture phase, so it runs before the player's own keys (which would
// otherwise take → ← space for stepping the animation). Keys inside form controls are left alone;
// space on a focused button keeps activating that button.
// It also drives the player to the step's moment: pause, then seek (window.player is the player's API).
const SKIP_ALL = "input, textarea, select, [contenteditable], [role=slider], [role=radio], [role=radiogroup]," +
  " [role=combobox], [role=listbox], [role=option], [role=spinbutton], [role=textbox], [role=menu]," +
  " [role=menuitem], [role=tab], [role=switch], [role=checkbox]";
const ACTIVATES = "button, a, summary, [role=button], [role=link]";
const NEXT = new Set(["ArrowRight", "PageDown", "."]);
const BACK = new Set(["ArrowLeft", "PageUp"]);
const state = { trigger: null, seq: 0, installed: false, seekKey: null, touched: false };

function onKey(e) {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !state.trigger) return;
  const target = e.target instanceof Element ? e.target : null;
  if (target && target.closest(SKIP_ALL)) return;
  let dir = 0;
  if (NEXT.has(e.key)) dir = 1;
  else if (BACK.has(e.key)) dir = -1;
  else if (e.key === " " || e.code === "Space") {
    if (target && target.closest(ACTIVATES)) return;
    dir = e.shiftKey ? -1 : 1;
  } else return;
  e.preventDefault();
  e.stopPropagation();
  state.seq += 1;
  state.trigger("nav", { dir, id: Date.now().toString(36) + "-" + state.seq });
}

function onTouch(e) {
  if (e.target instanceof Element && e.target.closest(".lo-player")) state.touched = true;
}

function seek(data) {
  if (!data || state.seekKey === data.key) return;
  state.seekKey = data.key;
  state.touched = false;
  const key = data.key;
  let confirmations = 0;
  const go = (tries) => {
    if (state.seekKey !== key || state.touched) return;
    const p = window.player;
    if (p && typeof p.seek === "function") {
      p.pause();
      p.seek(Number(data.seek_t));
      confirmations += 1;
      document.body.dataset.storyStep = key;
    }
    // The player may still be applying new data: apply again a few times, until the reader acts.
    if (tries > 0 && confirmations < 3) setTimeout(() => go(tries - 1), 250);
  };
  go(40);
}

export default function ({ data, setTriggerValue }) {
  state.trigger = setTriggerValue;
  if (!state.installed) {
    window.addEventListener("keydown", onKey, true);
    window.addEventListener("pointerdown", onTouch, true);
    state.installed = true;
  }
  seek(data);
  return () => {
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("pointerdown", onTouch, true);
    state.installed = false;
    state.seekKey = null;
  };
}
