"""Architecture validation (sim/architecture.py, the one place): a table of bad files, each with its
one message — naming the file, the line where it can, the node or call, and what is allowed — the
same through `parse_architecture` (the page) and `python -m sim run --architecture` (exit 2, one line)."""

import os
import time

import pytest

from sim import ArchitectureError, parse_architecture
from sim.__main__ import main
from sim.architecture import MAX_NODES, check_architecture
from tests.unit.archs import ONE_HALL_FACILITY

GOOD = ONE_HALL_FACILITY + """[[node]]
id = "app"
label = "The app"
kind = "feature"
[[node]]
id = "net"
kind = "infrastructure"
halls = ["A"]
[[node]]
id = "db"
kind = "datastore"
halls = ["A"]
needs = ["net"]
[[node]]
id = "q"
kind = "queue"
halls = ["A"]
[[call]]
from = "app"
to = "db"
"""


def _line(text: str, needle: str) -> int:
    """The 1-based line of the first line containing needle."""
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def _many_nodes(n: int) -> str:
    return GOOD + "".join(f'[[node]]\nid = "s{i}"\nkind = "service"\nsite = "region"\n' for i in range(n))


# (name, the file's text, words the message holds, the line it names or None)
BAD = [
    ("unknown kind", GOOD.replace('kind = "datastore"', 'kind = "databse"'), "kind = 'databse'; use one of: facility", "databse"),
    ("unknown facility role", GOOD.replace('role = "ups"', 'role = "battery"'), "role = 'battery'; a facility node needs one of", "battery"),
    ("unknown feature role", GOOD.replace('label = "The app"', 'label = "The app"\nrole = "sign_in"'), "a feature's role is one of: login", None),
    ("role on a service", GOOD.replace('id = "net"\nkind = "infrastructure"', 'id = "net"\nrole = "login"\nkind = "infrastructure"'), "role is for facility nodes", None),
    ("unknown key", GOOD.replace('label = "The app"', 'label = "The app"\ncolour = "red"'), "unknown key 'colour'; allowed:", None),
    ("duplicate node id", GOOD + '[[node]]\nid = "db"\nkind = "cache"\nhalls = ["A"]\n', "node 'db' is declared twice", None),
    ("duplicate hall", GOOD.replace('[[hall]]\nid = "A"\n', '[[hall]]\nid = "A"\n[[hall]]\nid = "A"\n'), "hall 'A' is declared twice", None),
    ("duplicate call", GOOD + '[[call]]\nfrom = "app"\nto = "db"\n', "call app -> db is declared twice", None),
    ("dangling call", GOOD.replace('to = "db"', 'to = "nope"'), "to = 'nope' is not a declared node", None),
    ("dangling needs", GOOD.replace('needs = ["net"]', 'needs = ["nothing"]'), "node 'db': needs 'nothing', which is not a declared node", "needs = "),
    ("needs a feature", GOOD.replace('needs = ["net"]', 'needs = ["app"]'), "needs 'app', a feature node", "needs = "),
    ("needs a facility node", GOOD.replace('needs = ["net"]', 'needs = ["ups"]'), "needs 'ups', a facility node", "needs = "),
    ("needs cycle", GOOD.replace('halls = ["A"]\n[[node]]\nid = "db"', 'halls = ["A"]\nneeds = ["db"]\n[[node]]\nid = "db"'), "needs form a cycle (", None),
    ("dangling hall", GOOD.replace('id = "db"\nkind = "datastore"\nhalls = ["A"]', 'id = "db"\nkind = "datastore"\nhalls = ["Z"]'), "hall 'Z' is not declared (declared: A)", None),
    ("no power chain: no ups", GOOD.replace('[[node]]\nid = "ups"\nkind = "facility"\nrole = "ups"\n', ""), "the facility needs a node with role = 'ups'", None),
    ("no power chain: hall without pdu", GOOD.replace('[[hall]]\nid = "A"\n', '[[hall]]\nid = "A"\n[[hall]]\nid = "B"\n'), "hall 'B' has no node with role = \"pdu\"", None),
    ("no hall", GOOD.replace('[[hall]]\nid = "A"\n', ""), "declare at least one [[hall]]", None),
    ("no feature", GOOD.replace('kind = "feature"', 'kind = "service"\nsite = "region"'), "no node of kind \"feature\"", None),
    ("negative capacity", GOOD.replace('needs = ["net"]', 'needs = ["net"]\ncapacity = -1'), "node 'db': capacity = -1 is out of range (0.05 to 1000)", "capacity"),
    ("capacity not a number", GOOD.replace('needs = ["net"]', 'needs = ["net"]\ncapacity = "lots"'), "capacity = 'lots' must be a number", None),
    ("infinite boot time", GOOD.replace('needs = ["net"]', 'needs = ["net"]\nboot_min = inf'), "boot_min = inf is out of range", None),
    ("not-a-number demand", GOOD.replace('label = "The app"', 'label = "The app"\ndemand = nan'), "demand = nan is out of range", None),
    ("hit ratio of 1", GOOD + '[[node]]\nid = "c"\nkind = "cache"\nhalls = ["A"]\nhit_ratio = 1.5\n', "hit_ratio = 1.5 is out of range", None),
    ("call into a feature", GOOD + '[[node]]\nid = "f2"\nkind = "feature"\n[[call]]\nfrom = "db"\nto = "f2"\n', "call db -> f2: nothing may call a feature", None),
    ("call from the facility", GOOD + '[[call]]\nfrom = "ups"\nto = "db"\n', "from = 'ups' is a facility node", None),
    ("call cycle", GOOD + '[[node]]\nid = "svc"\nkind = "service"\nsite = "region"\n[[call]]\nfrom = "db"\nto = "svc"\n[[call]]\nfrom = "svc"\nto = "db"\n', "calls form a cycle (", None),
    ("fallback to a feature", GOOD + '[[node]]\nid = "f2"\nkind = "feature"\n[[call]]\nfrom = "f2"\nto = "db"\nfallback = "app"\n', "fallback = 'app' must name", None),
    ("consumes a non-queue", GOOD + '[[node]]\nid = "w"\nkind = "service"\nsite = "region"\nconsumes = "db"\n', "consumes = 'db' must name a node of kind \"queue\"", "consumes"),
    ("consumer not a service", GOOD.replace('id = "db"\nkind = "datastore"', 'id = "db"\nkind = "datastore"\nconsumes = "q"'), "consumes is for a service node", None),
    ("cache_miss from a service", GOOD.replace('to = "db"', 'to = "db"\ncache_miss = true'), "cache_miss = true only makes sense", None),
    ("label too long", GOOD.replace('label = "The app"', 'label = "' + "x" * 81 + '"'), "label is 81 characters long; at most 80", None),
    ("label with a line break", GOOD.replace('label = "The app"', 'label = "two\\nlines"'), "a label is one line of text", None),
    ("label not text", GOOD.replace('label = "The app"', 'label = 42'), "label = 42 must be text in quotes", None),
    ("bad id", GOOD.replace('id = "app"', 'id = "<app>"').replace('from = "app"', 'from = "<app>"'), "id = '<app>' must be a name of 1 to 80 letters", None),
    ("too many nodes", _many_nodes(MAX_NODES), f"nodes; a file may declare at most {MAX_NODES:,}", None),
    ("nested too deep", GOOD + "x = " + "[" * 40 + "]" * 40 + "\n", "nested more than 8 levels deep", None),
    ("not TOML", GOOD + "[[node]\n", "not valid TOML", None),
    ("too large", GOOD + "# " + "x" * (256 * 1024) + "\n", "larger than 256 KB", None),
]


@pytest.mark.parametrize("name, text, words, line", BAD, ids=[b[0] for b in BAD])
def test_each_bad_file_has_one_precise_message(name, text, words, line):
    assert check_architecture(GOOD, "mine.toml") == ""
    with pytest.raises(ArchitectureError) as err:
        parse_architecture(text, source="mine.toml", max_bytes=256 * 1024)
    msg = str(err.value)
    assert msg.startswith("mine.toml: ") and words in msg, msg
    assert "\n" not in msg and len(msg) < 400
    if line is not None:
        assert f"line {_line(text, line)}:" in msg, msg


@pytest.mark.parametrize("name, text, words, line", BAD[::3], ids=[b[0] for b in BAD[::3]])
def test_the_cli_says_the_same_in_one_line_and_exits_2(name, text, words, line, tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    assert main(["run", "--quiet", "--architecture", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and words in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "/proc/self", "/dev/stdin"])
def test_special_files_are_refused_without_reading(special, capsys):
    if not os.path.exists(special):
        pytest.skip(f"{special} absent")
    start = time.monotonic()
    assert main(["run", "--architecture", special]) == 2
    err = capsys.readouterr().err
    assert special in err and ("not a regular file" in err or "cannot be read" in err), err
    assert err.count("\n") == 1 and time.monotonic() - start < 2


def test_a_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert main(["run", "--architecture", str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_long_cycle_is_named_quickly():
    chain = "".join(f'[[node]]\nid = "s{i}"\nkind = "service"\nsite = "region"\n' for i in range(1500))
    calls = "".join(f'[[call]]\nfrom = "s{i}"\nto = "s{(i + 1) % 1500}"\n' for i in range(1500))
    start = time.monotonic()
    msg = check_architecture(GOOD + chain + calls, "loop.toml")
    assert "calls form a cycle" in msg and time.monotonic() - start < 2


def test_the_largest_allowed_file_validates_within_a_second():
    text = _many_nodes(MAX_NODES - 10)
    start = time.monotonic()
    assert check_architecture(text) == ""
    assert time.monotonic() - start < 1.0


def test_a_label_that_looks_like_a_formula_is_inert_in_the_events_csv():
    """Hall labels reach the events' causes; a spreadsheet must not run them."""
    import sim

    text = GOOD.replace('[[hall]]\nid = "A"\n', '[[hall]]\nid = "A"\nlabel = \'=HYPERLINK("http://example.invalid","x")\'\n')
    g = parse_architecture(text)
    tl = sim.run(sim.Scenario(duration_min=30), g)
    cells = [line.split(",", 3)[3] for line in tl.events_csv().splitlines()[1:]]
    assert any("HYPERLINK" in c for c in cells)
    assert not any(c.lstrip('"').startswith(("=", "+", "-", "@")) for c in cells)
