"""Generate large synthetic architectures (seeded) for scaling benchmarks.

Layers top to bottom: features → front-end services (in other regions) → backend services →
caches → datastores, all backends in the primary's halls; each node calls 1–3 nodes of the next
layers, so every node is reachable and the call graph has no cycles.

Files are written compactly (`compact`): a 2,000-node file in the usual one-table-per-node style
is 370–430 KB, over the 256 KB a file may have (sim.files); this form holds the same graph in
200–250 KB, so the benchmarks load it like any user's file.

To try one in the app (upload it on the Architecture page) or on the command line:

    python benchmarks/generate.py --nodes 500 > gen500.toml
    python benchmarks/generate.py --nodes 500 --dense -o dense500.toml
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import networkx as nx

if __name__ == "__main__":  # run as a script: the repository's packages first on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import parse_architecture  # noqa: E402
from sim.architecture import MAX_NODES  # noqa: E402

HALLS = [{"id": "A"}, {"id": "B", "ups_load": 0.85}]
FACILITY = [{"id": "utility", "kind": "facility", "role": "utility"},
            {"id": "generator", "kind": "facility", "role": "generator"},
            {"id": "ats", "kind": "facility", "role": "ats"},
            {"id": "ups", "kind": "facility", "role": "ups"},
            {"id": "cooling", "kind": "facility", "role": "cooling"},
            {"id": "pdu_a", "kind": "facility", "role": "pdu", "hall": "A"},
            {"id": "pdu_b", "kind": "facility", "role": "pdu", "hall": "B"}]
DEFAULTS = {"capacity": 2.5, "hit_ratio": 0.9, "site": "primary", "retry": False, "cache_miss": False}


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'          # ids and kinds only: letters, digits and _
    if isinstance(value, list):
        return "[" + ",".join(_toml(v) for v in value) + "]"
    return repr(value)


def _short(name: str, index: int) -> str:
    """A short id: the kind's letter and a base-36 number (service_3_17 → s1k)."""
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        index, r = divmod(index, 36)
        out = digits[r] + out
        if not index:
            return name[0] + out


def compact(title: str, nodes: list[dict], calls: list[tuple[str, str, dict]]) -> str:
    """An architecture file in the compact form a 2,000-node file needs to fit the 256 KB limit:
    arrays of inline tables (`node = [{id="s1", kind="service"}, …]`, the same data as [[node]]
    tables), short ids, and no key that equals the format's default."""
    ids: dict[str, str] = {n["id"]: n["id"] for n in FACILITY}
    counts: dict[str, int] = {}
    for n in nodes:
        letter = n["id"][0]
        ids[n["id"]] = _short(n["id"], counts.get(letter, 0))
        counts[letter] = counts.get(letter, 0) + 1

    def table(d: dict) -> str:
        return "{" + ",".join(f"{k}={_toml(ids.get(v, v) if k in ('id', 'from', 'to') else v)}"
                              for k, v in d.items() if DEFAULTS.get(k, ...) != v) + "}"
    out = [f'name = "{title}"', "hall = [" + ",".join(table(h) for h in HALLS) + "]", "node = ["]
    out += [table(n) + "," for n in FACILITY + nodes]
    out += ["]", "call = ["]
    out += [table({"from": u, "to": v, **d}) + "," for u, v, d in calls]
    out.append("]")
    return "\n".join(out) + "\n"


def generate(nodes: int = 500, seed: int = 0, features: int = 6) -> nx.DiGraph:
    """An architecture with about `nodes` nodes in all (facility included)."""
    return parse_architecture(generate_text(nodes, seed, features), source=f"generated-{nodes}")


def generate_text(nodes: int = 500, seed: int = 0, features: int = 6) -> str:
    """`generate`'s architecture as a TOML file's text."""
    rng = random.Random(seed)
    rest = max(nodes - 7 - features, 4)
    sizes = [max(1, rest * f // 100) for f in (15, 35, 20, 30)]   # front, backend, cache, store
    sizes[1] += rest - sum(sizes)
    layers: list[list[str]] = [[f"feature_{i}" for i in range(features)]]
    kinds = ["service", "service", "cache", "datastore"]
    for li, size in enumerate(sizes):
        layers.append([f"{kinds[li]}_{li}_{i}" for i in range(size)])
    out: list[dict] = []
    for f in layers[0]:
        out.append({"id": f, "kind": "feature", "demand": rng.randint(5, 100)})
    for li, layer in enumerate(layers[1:], start=1):
        for nid in layer:
            kind = kinds[li - 1]
            node: dict = {"id": nid, "kind": kind}
            if li == 1:
                node["site"] = "region"
            else:
                node["halls"] = rng.choice([["A"], ["B"], ["A", "B"]])
            node["capacity"] = rng.choice([2.0, 2.5, 3.0])
            if kind == "cache":
                node["hit_ratio"] = 0.9
            out.append(node)
    calls = set()
    for li in range(len(layers) - 1):
        below = [n for layer in layers[li + 1:li + 3] for n in layer]
        for nid in layers[li]:
            for target in rng.sample(below, k=min(len(below), rng.randint(1, 3))):
                calls.add((nid, target))
        for target in layers[li + 1]:            # everyone has a caller
            if not any(t == target for _, t in calls):
                calls.add((rng.choice(layers[li]), target))
    edges = []
    for src, dst in sorted(calls):               # (sorted by the long names: the same order as before)
        edges.append((src, dst, {"cache_miss": src.startswith("cache"),
                                 "retry": src.startswith("feature") or rng.random() < 0.2}))
    return compact(f"generated {nodes} nodes", out, edges)


def generate_dense(nodes: int = 500, seed: int = 0, features: int = 8, layers: int = 10) -> nx.DiGraph:
    """`dense_text`'s architecture, parsed."""
    return parse_architecture(dense_text(nodes, seed, features, layers), source=f"dense-{nodes}")


def dense_text(nodes: int = 500, seed: int = 0, features: int = 8, layers: int = 10) -> str:
    """A dense architecture with about `nodes` nodes in all (facility included): `features` features
    over `layers` layers of services (the last three: caches, then datastores), each node called by
    two callers of the layer above (features: one each is enough), every call retried. Every feature
    reaches most of the graph, so (class, edge) pairs ≈ features × calls: the shape that made a
    500-node file take ~16 s against 3–4 s for `generate`'s."""
    rng = random.Random(seed)
    rest = max(nodes - 7 - features, layers)
    sizes = [rest // layers + (1 if i < rest % layers else 0) for i in range(layers)]
    kinds = ["service"] * (layers - 2) + ["cache", "datastore"]
    tiers: list[list[str]] = [[f"feature_{i}" for i in range(features)]]
    tiers += [[f"{kinds[li]}_{li}_{i}" for i in range(size)] for li, size in enumerate(sizes)]
    out: list[dict] = []
    for f in tiers[0]:
        out.append({"id": f, "kind": "feature", "demand": rng.randint(5, 100)})
    for li, tier in enumerate(tiers[1:]):
        for nid in tier:
            node: dict = {"id": nid, "kind": kinds[li]}
            if li == 0:
                node["site"] = "region"
            else:
                node["halls"] = rng.choice([["A"], ["B"], ["A", "B"]])
            node["capacity"] = rng.choice([2.0, 2.5, 3.0])
            if kinds[li] == "cache":
                node["hit_ratio"] = 0.9
            out.append(node)
    calls = set()
    for li in range(len(tiers) - 1):
        above, below = tiers[li], tiers[li + 1]
        for target in below:                      # two callers each (as many as the layer above has)
            for src in rng.sample(above, k=min(2, len(above))):
                calls.add((src, target))
        for src in above:                         # and every node calls something below
            if not any(s == src for s, _ in calls):
                calls.add((src, rng.choice(below)))
    edges = [(src, dst, {"cache_miss": src.startswith("cache"), "retry": True}) for src, dst in sorted(calls)]
    return compact(f"dense {nodes} nodes", out, edges)


def main(argv: list[str] | None = None) -> int:
    """Write one generated architecture (TOML) to a file or standard output."""
    ap = argparse.ArgumentParser(description="Write a large synthetic architecture (TOML) for the app or the CLI.")
    ap.add_argument("--nodes", type=int, default=500, help=f"about how many nodes in all (default 500; at most {MAX_NODES})")
    ap.add_argument("--dense", action="store_true",
                    help="ten layers, each node called by two callers, every call retried: the benchmarks' worst "
                         "case, degraded from the first minute (default: the generated shape, healthy until the cut)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    args = ap.parse_args(argv)
    if not 20 <= args.nodes <= MAX_NODES:
        ap.error(f"--nodes must be between 20 and {MAX_NODES} (a file may have at most {MAX_NODES:,} nodes)")
    text = (dense_text if args.dense else generate_text)(args.nodes, args.seed)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
