"""Regenerate the golden timelines — deliberately, after a change to the model you mean to keep:

    python -m tests.golden.regenerate

then read `git diff tests/golden` before committing: every changed number is a changed story.

Goldens: every preset (on the built-in app), and runs of the example architectures in
sim/architectures/ that have no story roles (their metrics are per feature).
"""

from __future__ import annotations

import json
from pathlib import Path

from sim import PRESETS, Scenario, load_architecture, run
from sim.architecture import ARCH_DIR
from sim.interventions import parse

HERE = Path(__file__).parent
EVERY = 6          # keep one step in six (one a minute) of metrics and node states
_STOP_DB = (parse("node_stop node=database start_min=20 end_min=30"),)
_BLIP_DB = (parse("node_stop node=database start_min=20 end_min=25"),)
_CUT_SITE = (parse("power start_min=10 end_min=40"),)
_STOP_WORKER = (parse("node_stop node=worker start_min=10 end_min=30"),)
# name -> (architecture file, scenario): a crash of the shared database, and the chain's storm
EXAMPLES: dict[str, tuple[str, Scenario]] = {
    "three_tier_database_stops": ("three_tier.toml", Scenario(actions=_STOP_DB, duration_min=60.0)),
    "service_chain_budget": ("service_chain.toml", Scenario(actions=_BLIP_DB, duration_min=60.0,
                                                            retry_policy="budget")),
    "service_chain_storm": ("service_chain.toml", Scenario(actions=_BLIP_DB, duration_min=60.0)),
    # site 1 loses power for 30 min: too little headroom at site 2, then enough (retry budget: no storm)
    "two_sites_headroom_short": ("two_sites.toml", Scenario(actions=_CUT_SITE, duration_min=90.0,
                                                            retry_policy="budget", failover_headroom=0.3)),
    "two_sites_headroom_enough": ("two_sites.toml", Scenario(actions=_CUT_SITE, duration_min=90.0,
                                                             retry_policy="budget", failover_headroom=1.5)),
    # the queue's consumer stops for 20 min: a backlog builds, then drains at its spare capacity
    "queue_worker_stops": ("queue_worker.toml", Scenario(actions=_STOP_WORKER, duration_min=90.0)),
}
NAMES = list(PRESETS) + list(EXAMPLES)


def timeline(name: str):
    if name in EXAMPLES:
        file, s = EXAMPLES[name]
        return run(s, load_architecture(ARCH_DIR / file))
    return run(PRESETS[name].scenario)


def golden(name: str) -> dict:
    """A run's timeline, compact: metrics and states each minute, every event and milestone."""
    tl = timeline(name)
    full = json.loads(tl.to_json())
    return {
        "preset": name,
        "t_s": full["t_s"][::EVERY],
        "metrics": {k: v[::EVERY] for k, v in full["metrics"].items()},
        "node_ids": full["node_ids"],
        "node_states": full["node_states"][::EVERY],
        "events": full["events"],
        "milestones": full["milestones"],
    }


def path(name: str) -> Path:
    return HERE / f"{name}.json"


def main() -> None:
    for name in NAMES:
        path(name).write_text(json.dumps(golden(name), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {path(name)}")


if __name__ == "__main__":
    main()
