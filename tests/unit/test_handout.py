"""The handout (issue 14): a printable HTML page with every question of the story, read from the
question files (not retyped), numbers from the model."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import sim
from classroom import handout, load_chapters
from classroom.questions import QUESTIONS
from classroom.teaching import all_facts

ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def run(scenario: sim.Scenario) -> sim.Timeline:
    return sim.run(scenario)


@pytest.fixture(scope="module")
def made():
    questions = handout.story_questions(run)
    return questions, handout.page(all_facts(run), questions)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.parts.append(data)


def _text(page: str) -> tuple[str, list[str]]:
    p = _Text()
    p.feed(page)
    return " ".join("".join(p.parts).split()), p.tags


def test_every_question_of_the_story_is_on_the_page(made):
    questions, page = made
    files = sorted(p.stem for p in (ROOT / "assets" / "story" / "questions").glob("*.md"))
    asked = [c.question for c in load_chapters() if c.question]
    assert sorted(asked) == files                      # the story asks every question file …
    assert [q["id"] for q in questions] == asked       # … and the handout has each, in order
    text, _ = _text(page)
    for q in questions:
        prompt = re.sub(r"[*_]", "", " ".join(q["prompt"].split()))
        prompt = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", prompt)
        assert prompt in text, q["id"]
        for label in q["options"]:
            assert f"☐ {label}" in text, (q["id"], label)
    assert page.count('<section class="question">') == len(files)


def test_the_questions_come_from_the_files_not_retyped(made):
    """A question's prompt is its file's `## prompt` section: change the file and the page follows."""
    questions, _ = made
    for q in questions:
        raw = QUESTIONS[q["id"]].sections["prompt"]
        fixed = re.split(r"\$\{\w+\}", raw)
        assert all(" ".join(part.split()) in " ".join(q["prompt"].split()) for part in fixed), q["id"]


def test_the_page_is_self_contained_and_filled(made):
    _, page = made
    text, tags = _text(page)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "script" not in tags and "link" not in tags and "img" not in tags    # nothing to fetch
    assert "${" not in page and "<!-- questions -->" not in page
    assert "@media print" in page and "break-inside: avoid" in page
    assert "Exit ticket" in text and "What happened" in text
