"""Lights Out simulation: a data center's power chain and the cascade through a social video app.

A pure library (no Streamlit): `run(Scenario(...))` → `Timeline`, or `Simulation(scenario).step()`
one step at a time. Seeded and deterministic.
"""

from .architecture import ArchitectureError, default_architecture, load_architecture, parse_architecture
from .engine import OverBudget, run
from .interventions import Intervention, InterventionError
from .simulation import Simulation
from .narrate import Caption, caption_at, captions, summary
from .presets import DEFAULT_PRESET, FREE_PLAY, PRESETS, Preset, get_preset
from .scenario import Scenario, ScenarioError, apply_settings, to_settings
from .timeline import METRIC_NAMES, METRICS, STATES, Event, Milestone, Timeline, clock

__all__ = [
    "ArchitectureError", "default_architecture", "load_architecture", "parse_architecture", "run", "OverBudget",
    "Scenario", "ScenarioError", "apply_settings", "to_settings", "METRIC_NAMES", "METRICS", "STATES",
    "Event", "Milestone", "Timeline", "clock", "Caption", "caption_at", "captions", "summary",
    "DEFAULT_PRESET", "FREE_PLAY", "PRESETS", "Preset", "get_preset", "Simulation", "Intervention",
    "InterventionError", "load_architecture",
]
