"""The one-page handout: assets/teacher/handout.md with the model's numbers, and at its
`<!-- questions -->` mark every prediction question of the story — read from
assets/story/questions/*.md in chapter order, never retyped — as Markdown (the Teacher page's
preview) and as a self-contained printable HTML page (its download). Pure: no Streamlit.
"""

from __future__ import annotations

import html
import re
from string import Template
from typing import Callable

import sim

from .questions import QUESTIONS
from .story import load_chapters
from .teaching import source

QUESTIONS_MARK = "<!-- questions -->"
Runner = Callable[[sim.Scenario], sim.Timeline]


def story_questions(run: Runner) -> list[dict]:
    """[{chapter, title, id, prompt, options}] for every question of the story, in chapter order;
    prompts and options are filled with what lies in the reader's past at that chapter."""
    out = []
    for i, ch in enumerate(load_chapters(), start=1):
        if not ch.question:
            continue
        q = QUESTIONS[ch.question]
        o = q.compute(run(ch.scenario), run)
        out.append({"chapter": i, "title": ch.title, "id": q.id,
                    "prompt": q.prompt(o).replace("\\$", "$"), "options": [label for _, label in q.options(o)]})
    return out


def questions_markdown(questions: list[dict]) -> str:
    parts = []
    for n, q in enumerate(questions, start=1):
        opts = "\n".join(f"- ☐ {label}" for label in q["options"])
        parts.append(f"### {n}. Chapter {q['chapter']}: {q['title']}\n\n{' '.join(q['prompt'].split())}\n\n{opts}\n\n"
                     "My reason: ______________________________________________\n\n"
                     "Model answer: ___________________________________________")
    return "\n\n".join(parts)


def markdown(facts: dict[str, str], questions: list[dict]) -> str:
    """The handout as Markdown, numbers and questions filled in."""
    text = Template(source("handout")).safe_substitute(facts)
    return text.replace(QUESTIONS_MARK, questions_markdown(questions))


# ---- a small Markdown → HTML for the handout's own subset ---------------------------------------
def _inline(s: str) -> str:
    s = html.escape(s, quote=False)
    s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', s)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", s)


def to_html(md: str) -> str:
    """Headings, paragraphs, lists (with indented continuation lines) and pipe tables."""
    out: list[str] = []
    blocks = re.split(r"\n\s*\n", md.strip())
    for block in blocks:
        lines = block.split("\n")
        first = lines[0]
        if m := re.match(r"(#{1,4}) +(.*)", first):
            level = len(m.group(1))
            cls = ' class="question"' if level == 3 else ""
            out.append(f"<h{level}{cls}>{_inline(m.group(2))}</h{level}>")
            rest = "\n".join(lines[1:]).strip()
            if rest:
                out.append(to_html(rest))
        elif first.startswith("|"):
            rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines if not re.match(r"\|[-| :]+\|$", ln.strip())]
            head, body = rows[0], rows[1:]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body)
                       + "</tbody></table>")
        elif re.match(r"(- |\d+\. )", first):
            tag = "ol" if re.match(r"\d+\. ", first) else "ul"
            items: list[str] = []
            for ln in lines:
                if re.match(r"(- |\d+\. )", ln):
                    items.append(re.sub(r"^(- |\d+\. )", "", ln))
                else:
                    items[-1] += " " + ln.strip()
            cls = ' class="options"' if all(i.startswith("☐") for i in items) else ""
            out.append(f"<{tag}{cls}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{tag}>")
        else:
            out.append(f"<p>{_inline(' '.join(ln.strip() for ln in lines))}</p>")
    return "\n".join(out)


CSS = """
body { font-family: "Liberation Sans", Arial, sans-serif; font-size: 11pt; line-height: 1.35; color: #111;
       max-width: 48rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 18pt; margin: 0 0 .3rem; } h2 { font-size: 13pt; margin: 1rem 0 .3rem; border-bottom: 1px solid #999; }
h3 { font-size: 11.5pt; margin: .9rem 0 .2rem; }
p, li { margin: .25rem 0; } ul.options { list-style: none; padding-left: .5rem; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #999; padding: .2rem .4rem; text-align: left; }
a { color: #0b4f9c; } section.question { break-inside: avoid; page-break-inside: avoid; }
.print { margin: .5rem 0 1rem; } @media print { .print { display: none; } body { margin: 0; max-width: none; }
  a { color: inherit; text-decoration: none; } }
"""


def page(facts: dict[str, str], questions: list[dict]) -> str:
    """The handout as one printable HTML page: no script, no request beyond the page."""
    body = to_html(markdown(facts, questions))
    # each question (its heading up to the next heading) stays on one printed page
    body = re.sub(r'(<h3 class="question">.*?)(?=<h[23]|\Z)', r'<section class="question">\1</section>', body, flags=re.S)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Lights Out — handout</title>"
            f"<style>{CSS}</style></head><body>\n"
            "<p class=\"print\"><em>Print this page (Ctrl+P / ⌘P) or save it as PDF.</em></p>\n"
            f"{body}\n</body></html>\n")
