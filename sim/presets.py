"""Presets: the real story and instructive variants, each a Scenario plus its prose.

The prose (title, one-line summary, sources and assumptions) lives in assets/presets/NAME.md so
that writers edit Markdown, not Python; the first heading is the title, the first paragraph the
one-line description the CLI lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .interventions import Intervention
from .scenario import Scenario

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"


@dataclass(frozen=True)
class Preset:
    name: str
    scenario: Scenario

    @property
    def text(self) -> str:
        return _prose(self.name)

    @property
    def title(self) -> str:
        first = self.text.splitlines()[0]
        return first.lstrip("# ").strip()

    @property
    def summary(self) -> str:
        paragraphs = [p.strip() for p in self.text.split("\n\n")[1:] if p.strip()]
        return paragraphs[0].replace("\n", " ") if paragraphs else ""

    @property
    def description(self) -> str:
        """Everything after the title, as Markdown."""
        return self.text.split("\n", 1)[1].strip() if "\n" in self.text else ""


@lru_cache(maxsize=None)
def _prose(name: str) -> str:
    """A preset's Markdown, read once per process: every page rerun asks for titles and summaries."""
    path = PRESET_DIR / f"{name}.md"
    return path.read_text(encoding="utf-8") if path.exists() else f"# {name}\n"


_DEFAULT = Scenario()
# The scheduled operator step of the story as told: operators turn load shedding on at 2:30. Shown
# wherever a preset has it (caption, markers, event log); free play schedules nothing.
OPERATORS_SHED = Intervention("shed_load", start_min=150.0)
_STORY = _DEFAULT.replace(actions=_DEFAULT.actions + (OPERATORS_SHED,))
# The explainer's free play: power on and nothing scheduled, so the visitor's switch decides. The
# run a class watches before flipping (viz.runs.warm keeps its checkpoints in the worker).
FREE_PLAY = Scenario(actions=())

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("as_reported", _STORY),
        Preset("well_engineered", _DEFAULT.replace(
            generator="ok", cooling_on_generator=True, retry_policy="budget", circuit_breaker=True,
            load_shedding=True, failover_headroom=1.0, counter_fallback="last_known")),
        Preset("retry_storm", _DEFAULT.replace(
            ups_minutes=0.0, generator="ok", cooling_on_generator=True, power_restored_min=60.0)),
        Preset("cooling_failure", _STORY.replace(generator="ok", cooling_on_generator=False)),
        Preset("counters_done_right", _STORY.replace(counter_fallback="last_known")),
    )
}
DEFAULT_PRESET = "as_reported"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        from .scenario import ScenarioError

        raise ScenarioError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
