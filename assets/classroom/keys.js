// Story keys: presentation-clicker and keyboard keys move through the story's steps and chapters.
// Installed on window in the capture phase, so it runs before the player's own keys (which would
// otherwise take → ← space for stepping the animation). Keys inside form controls are left alone;
// space on a focused button keeps activating that button.
// It also drives the player to the step's moment: pause, then seek (window.player is the player's API);
// in presenter mode it then brings the question and the player into view.
// A toggle or checkbox keeps only space (which flips it): a clicker's keys work right after the
// presenter toggle was switched on, while the toggle still has the focus.
const SKIP_ALL = "input:not([type=checkbox]), textarea, select, [contenteditable], [role=slider], [role=radio]," +
  " [role=radiogroup], [role=combobox], [role=listbox], [role=option], [role=spinbutton], [role=textbox]," +
  " [role=menu], [role=menuitem], [role=tab]";
const ACTIVATES = "button, a, summary, [role=button], [role=link], input[type=checkbox], [role=switch], [role=checkbox]";
const NEXT = new Set(["ArrowRight", "PageDown", "."]);
const BACK = new Set(["ArrowLeft", "PageUp"]);
const state = { trigger: null, seq: 0, installed: false, seekKey: null, touched: false, owner: null };

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
      if (data.presenter) present();
    }
    // The player may still be applying new data: apply again a few times, until the reader acts.
    if (tries > 0 && confirmations < 3) setTimeout(() => go(tries - 1), 250);
  };
  go(40);
}

// Presenter mode: the question fully in view in its scrolling column (or that column at its top),
// then the text-and-player block at the top of the screen.
function present() {
  const box = document.querySelector(".st-key-story_text"), q = document.querySelector(".st-key-story_question");
  if (box && q) {
    const b = box.getBoundingClientRect(), r = q.getBoundingClientRect();
    if (r.bottom > b.bottom) box.scrollTop += Math.min(r.bottom - b.bottom + 8, r.top - b.top);
    else if (r.top < b.top) box.scrollTop -= b.top - r.top;
  } else if (box) box.scrollTop = 0;
  if (window.player && typeof window.player.present === "function") window.player.present();
}

// The newest instance (known by its host element) owns the listeners: when Streamlit moves the
// component (the presenter toggle puts it in a column), the new instance may mount before the old
// one's cleanup runs, and that cleanup must not remove the listeners the new instance relies on.
export default function ({ data, setTriggerValue, parentElement }) {
  const mount = parentElement;
  state.owner = mount;
  state.trigger = setTriggerValue;
  if (!state.installed) {
    window.addEventListener("keydown", onKey, true);
    window.addEventListener("pointerdown", onTouch, true);
    state.installed = true;
  }
  document.body.dataset.storyKeys = "on";     // the keys are listened to (tests wait for it)
  seek(data);
  return () => {
    if (state.owner !== mount) return;          // a newer mount took over: its listeners stay
    window.removeEventListener("keydown", onKey, true);
    window.removeEventListener("pointerdown", onTouch, true);
    state.installed = false;
    state.seekKey = null;
    state.owner = null;
    state.trigger = null;
    delete document.body.dataset.storyKeys;
  };
}
