"""Reading a user's file safely: a regular file, within a size limit, as UTF-8 text, parsed as TOML
without a traceback — so `--scenario /dev/zero` or a file nested 500 levels deep ends in one line.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Any

SCENARIO_MAX_BYTES = 64 * 1024          # a scenario is a few settings and actions
ARCHITECTURE_MAX_BYTES = 256 * 1024     # an architecture of up to 2,000 nodes
MAX_DEPTH = 8                           # tables within tables: a real file uses 2


class FileProblem(ValueError):
    """The file cannot be used; the message names it and why."""


def read_text(path: str | Path, limit: int, what: str) -> str:
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise FileProblem(f"{what} {p}: no such file") from None
    except OSError as exc:
        raise FileProblem(f"{what} {p}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise FileProblem(f"{what} {p}: not a regular file (a device, directory or pipe cannot be read)")
    try:
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise FileProblem(f"{what} {p}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise FileProblem(f"{what} {p}: larger than {limit // 1024} KB, the most that is read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileProblem(f"{what} {p}: not UTF-8 text") from None


def check_size(text: str, limit: int, source: str) -> None:
    """Text given directly (an upload, an editor) within the same limit as a file read from disk."""
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise FileProblem(f"{source}: larger than {limit // 1024} KB, the most that is read")


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """TOML → dict; a syntax error, or nesting deeper than MAX_DEPTH, is one plain line."""
    if _depth_hint(text) > 4 * MAX_DEPTH:
        raise FileProblem(f"{source}: nested more than {MAX_DEPTH} levels deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileProblem(f"{source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise FileProblem(f"{source}: nested more than {MAX_DEPTH} levels deep") from None
    if _depth(data) > MAX_DEPTH:
        raise FileProblem(f"{source}: nested more than {MAX_DEPTH} levels deep")
    return data


def _depth_hint(text: str) -> int:
    """The deepest run of opening brackets or braces: a cheap guard before the parser recurses."""
    deepest = run = 0
    for ch in text:
        if ch in "[{":
            run += 1
            deepest = max(deepest, run)
        elif ch in "]}":
            run = max(0, run - 1)
    return deepest


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


__all__ = ["FileProblem", "read_text", "check_size", "parse_toml", "SCENARIO_MAX_BYTES", "ARCHITECTURE_MAX_BYTES", "MAX_DEPTH"]
