"""Generate large synthetic architectures (seeded) for scaling benchmarks.

Layers top to bottom: features → front-end services (in other regions) → backend services →
caches → datastores, all backends in the primary's halls; each node calls 1–3 nodes of the next
layers, so every node is reachable and the call graph has no cycles.
"""

from __future__ import annotations

import random

import networkx as nx

from sim import parse_architecture

FACILITY = """
name = "generated {n} nodes"
[[hall]]
id = "A"
[[hall]]
id = "B"
ups_load = 0.85
[[node]]
id = "utility"
kind = "facility"
role = "utility"
[[node]]
id = "generator"
kind = "facility"
role = "generator"
[[node]]
id = "ats"
kind = "facility"
role = "ats"
[[node]]
id = "ups"
kind = "facility"
role = "ups"
[[node]]
id = "cooling"
kind = "facility"
role = "cooling"
[[node]]
id = "pdu_a"
kind = "facility"
role = "pdu"
hall = "A"
[[node]]
id = "pdu_b"
kind = "facility"
role = "pdu"
hall = "B"
"""


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
    out = [FACILITY.format(n=nodes)]
    for i, f in enumerate(layers[0]):
        out.append(f'[[node]]\nid = "{f}"\nkind = "feature"\ndemand = {rng.randint(5, 100)}\n')
    for li, layer in enumerate(layers[1:], start=1):
        for nid in layer:
            kind = kinds[li - 1]
            where = 'site = "region"' if li == 1 else f'halls = {rng.choice([["A"], ["B"], ["A", "B"]])!r}'
            extra = "hit_ratio = 0.9\n" if kind == "cache" else ""
            out.append(f'[[node]]\nid = "{nid}"\nkind = "{kind}"\n{where.replace(chr(39), chr(34))}\n'
                       f"capacity = {rng.choice([2.0, 2.5, 3.0])}\n{extra}")
    calls = set()
    for li in range(len(layers) - 1):
        below = [n for layer in layers[li + 1:li + 3] for n in layer]
        for nid in layers[li]:
            for target in rng.sample(below, k=min(len(below), rng.randint(1, 3))):
                calls.add((nid, target))
        for target in layers[li + 1]:            # everyone has a caller
            if not any(t == target for _, t in calls):
                calls.add((rng.choice(layers[li]), target))
    for src, dst in sorted(calls):
        extra = "cache_miss = true\n" if src.startswith("cache") else ""
        retry = "retry = true\n" if src.startswith("feature") or rng.random() < 0.2 else ""
        out.append(f'[[call]]\nfrom = "{src}"\nto = "{dst}"\n{extra}{retry}')
    return "\n".join(out)


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
    out = [FACILITY.format(n=nodes).replace("generated", "dense")]
    for f in tiers[0]:
        out.append(f'[[node]]\nid = "{f}"\nkind = "feature"\ndemand = {rng.randint(5, 100)}\n')
    for li, tier in enumerate(tiers[1:]):
        for nid in tier:
            where = 'site = "region"' if li == 0 else f'halls = {rng.choice([["A"], ["B"], ["A", "B"]])!r}'
            extra = "hit_ratio = 0.9\n" if kinds[li] == "cache" else ""
            out.append(f'[[node]]\nid = "{nid}"\nkind = "{kinds[li]}"\n{where.replace(chr(39), chr(34))}\n'
                       f"capacity = {rng.choice([2.0, 2.5, 3.0])}\n{extra}")
    calls = set()
    for li in range(len(tiers) - 1):
        above, below = tiers[li], tiers[li + 1]
        for target in below:                      # two callers each (as many as the layer above has)
            for src in rng.sample(above, k=min(2, len(above))):
                calls.add((src, target))
        for src in above:                         # and every node calls something below
            if not any(s == src for s, _ in calls):
                calls.add((src, rng.choice(below)))
    for src, dst in sorted(calls):
        extra = "cache_miss = true\n" if src.startswith("cache") else ""
        out.append(f'[[call]]\nfrom = "{src}"\nto = "{dst}"\n{extra}retry = true\n')
    return "\n".join(out)
