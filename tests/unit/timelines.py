"""Timeline comparisons shared by the unit tests (prefix runs, resumed runs)."""


def assert_prefix(full, part) -> None:
    """`part` is exactly the start of `full`: records, events and milestones up to its last step."""
    n = len(part.t_s)
    assert part.t_s == full.t_s[:n]
    for name, values in part.metrics.items():
        assert values == full.metrics[name][:n], name
    assert part.node_states == full.node_states[:n]
    assert part.edge_fail == full.edge_fail[:n]
    end = part.t_s[-1]
    assert part.events == [e for e in full.events if e.t_s <= end]
    assert part.milestones == [m for m in full.milestones if m.t_s <= end]


def assert_same(a, b) -> None:
    """Two runs of the same length that agree exactly."""
    assert len(a.t_s) == len(b.t_s)
    assert_prefix(b, a)
