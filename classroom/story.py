"""The guided story: chapters read from assets/story/NN_name.md, each tied to a simulated moment.

A chapter file starts with a small header between `---` lines, then Markdown:

    ---
    title: The power chain
    preset: as_reported                 # a sim.PRESETS name
    settings: generator=ok              # optional KEY=VALUE; … on top of the preset (as on the CLI)
    steps: Power cut | Power cut + 2m   # moments the reader steps through
    until: UPS exhausted - 10s          # the player shows the run up to here …
    ask_until: Power cut                # … or only up to here while the question is unanswered
    question: users_notice              # a classroom.questions id (optional)
    ---
    Story text …
    <!-- after -->
    Shown only after the reader has made a prediction …
    <!-- try -->
    Things to try …

Times are never typed as clock values that the model could contradict: a time is a milestone's
label (as in Timeline.milestones), a feature's first failure ("first failure"), `start`, `end` or
minutes (`45m`), plus or minus an offset (`+ 2m`, `- 10s`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parent.parent
STORY_DIR = ROOT / "assets" / "story"
TRY_MARK = "<!-- try -->"
AFTER_MARK = "<!-- after -->"


@dataclass(frozen=True)
class Chapter:
    slug: str
    title: str
    preset: str
    settings: tuple[tuple[str, str], ...]
    steps: tuple[str, ...]
    until: str
    ask_until: str
    question: str
    body: str
    after: str  # shown only once the chapter's question has been answered
    try_this: str

    @property
    def scenario(self) -> sim.Scenario:
        return sim.apply_settings(sim.PRESETS[self.preset].scenario, list(self.settings))

    def lab_query(self) -> dict[str, str]:
        """Query parameters that open the Lab (app_pages/lab.py reads them with sim.links.from_params)
        on exactly this chapter's scenario."""
        from sim.links import to_params

        return to_params(self.preset, self.scenario)


def _header(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        return {}, text
    _, head, rest = text.split("---", 2)
    meta = {}
    for line in head.strip().splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.split("  #")[0].strip()
    return meta, rest.strip()


def parse_chapter(path: Path) -> Chapter:
    meta, rest = _header(path.read_text(encoding="utf-8"))
    rest, _, try_this = rest.partition(TRY_MARK)
    body, _, after = rest.partition(AFTER_MARK)
    settings = tuple(
        (k.strip(), v.strip())
        for k, _, v in (part.partition("=") for part in re.split(r"[;,]", meta.get("settings", "")) if part.strip())
    )
    steps = tuple(s.strip() for s in meta.get("steps", "start").split("|") if s.strip())
    until = meta.get("until", "end")
    return Chapter(
        slug=path.stem, title=meta.get("title", path.stem), preset=meta.get("preset", sim.DEFAULT_PRESET),
        settings=settings, steps=steps, until=until, ask_until=meta.get("ask_until", until),
        question=meta.get("question", ""), body=body.strip(), after=after.strip(), try_this=try_this.strip(),
    )


def load_chapters(directory: Path = STORY_DIR) -> list[Chapter]:
    """Every chapter, in file-name order (01_…, 02_…)."""
    return [parse_chapter(p) for p in sorted(directory.glob("[0-9][0-9]_*.md"))]


_OFFSET = re.compile(r"^(.*?)\s*([+-])\s*(\d+(?:\.\d+)?)\s*([smh])$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


def first_failure_s(tl: sim.Timeline) -> float | None:
    """When the first user feature left 'up'."""
    feats = {n for n, d in tl.graph.nodes(data=True) if d.get("kind") == "feature"}
    times = [e.t_s for e in tl.events if e.node in feats and e.state != "up"]
    return min(times) if times else None


def resolve_time(expr: str, tl: sim.Timeline) -> float:
    """A chapter's time expression → simulated seconds, clamped to the run and snapped to a step."""
    expr = expr.strip()
    offset = 0.0
    m = _OFFSET.match(expr)
    if m and m.group(1):
        expr, sign, amount, unit = m.group(1).strip(), m.group(2), float(m.group(3)), m.group(4)
        offset = (1 if sign == "+" else -1) * amount * _UNIT[unit]
    end = float(tl.t_s[-1])
    low = expr.lower()
    if low == "start":
        base = 0.0
    elif low == "end":
        base = end
    elif low == "first failure":
        base = first_failure_s(tl)
        if base is None:
            raise ValueError("no user feature failed in this run")
    elif re.fullmatch(r"\d+(\.\d+)?\s*[smh]", low):
        base = float(low[:-1]) * _UNIT[low[-1]]
    else:
        found = [ms.t_s for ms in tl.milestones if ms.label.lower() == low]
        if not found:
            raise ValueError(f"no milestone {expr!r} in this run; milestones: {[m.label for m in tl.milestones]}")
        base = found[0]
    t = min(max(base + offset, 0.0), end)
    return float(tl.t_s[tl.index_at(t)])


def truncate(tl: sim.Timeline, t_end: float) -> sim.Timeline:
    """The same run, cut off after t_end: the player shows only what has happened so far, so an
    answer that lies in the future is not in the page before the reader predicts it."""
    n = tl.index_at(t_end) + 1
    last = tl.t_s[n - 1]
    return dataclasses.replace(
        tl, t_s=tl.t_s[:n], metrics={k: v[:n] for k, v in tl.metrics.items()},
        node_states=tl.node_states[:n], edge_fail=tl.edge_fail[:n],
        events=[e for e in tl.events if e.t_s <= last], milestones=[ms for ms in tl.milestones if ms.t_s <= last],
    )


def chapter_timeline(chapter: Chapter, full: sim.Timeline, revealed: bool) -> tuple[sim.Timeline, float]:
    """What the player shows for a chapter: the run up to `until` (or `ask_until` while its question
    is open), and that end time."""
    expr = chapter.until if (revealed or not chapter.question) else chapter.ask_until
    t_end = resolve_time(expr, full)
    return truncate(full, t_end), t_end
