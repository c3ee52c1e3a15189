"""Regenerate the golden timelines — deliberately, after a change to the model you mean to keep:

    python -m tests.golden.regenerate

then read `git diff tests/golden` before committing: every changed number is a changed story.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim import PRESETS, run

HERE = Path(__file__).parent
EVERY = 6          # keep one step in six (one a minute) of metrics and node states


def golden(name: str) -> dict:
    """A preset's timeline, compact: metrics and states each minute, every event and milestone."""
    tl = run(PRESETS[name].scenario)
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
    for name in PRESETS:
        path(name).write_text(json.dumps(golden(name), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {path(name)}")


if __name__ == "__main__":
    main()
