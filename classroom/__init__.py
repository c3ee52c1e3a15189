"""Classroom helpers for the story, teacher and About pages (issue 5).

Pure Python, no Streamlit import: chapters are read from assets/story/*.md, every time and every
number the story shows is computed from a simulation Timeline (never typed into the prose), and
the predict-then-reveal questions are functions of the timeline too.
"""

from .story import Chapter, chapter_timeline, load_chapters, resolve_time, truncate
from .questions import QUESTIONS, Question, feedback, recovery_s

__all__ = ["Chapter", "chapter_timeline", "load_chapters", "resolve_time", "truncate",
           "QUESTIONS", "Question", "feedback", "recovery_s"]
