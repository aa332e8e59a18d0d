"""Finding a module by what a person types: the limits form's module search (and Enter's pick).

Every typed word must match a word of the option's text, in any order: the same word, the start of
one ("geo" finds "Geography"), or a small typo of either ("maths" finds "Mathematics", "algbra"
finds "Algebra"). Case and accents do not count ("geographie" finds "Géographie"). Typos are
judged by the standard library's difflib (`SequenceMatcher.ratio`): enough for short words and a
catalog of a few hundred modules, and nothing to install.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from difflib import SequenceMatcher

__all__ = ["matches", "search", "words"]

TYPO_FROM = 5  # shorter words match only whole or as a prefix: "acid" is no typo of "aid"
CLOSE = 0.8  # SequenceMatcher ratio from which two words are one with a small typo
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of a text, lower-case and without accents: `Géographie (CDN)` -> geographie, cdn."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _WORD.findall(plain.casefold())


def _word_score(typed: str, word: str) -> float:
    """How well one typed word matches one word of an option: 0 (not at all) to 1 (the same word)."""
    if word == typed:
        return 1.0
    if word.startswith(typed):
        return 0.9
    if len(typed) < TYPO_FROM:
        return 0.0
    # A typo in the whole word, or in its start as long as what was typed ("maths" ~ "math…").
    ends = {len(word), len(typed) - 1, len(typed), len(typed) + 1}
    best = max(SequenceMatcher(None, typed, word[:end]).ratio() for end in ends if end > 0)
    return 0.8 * best if best >= CLOSE else 0.0


def matches(query: str, text: str) -> float:
    """How well `text` answers `query` (0: not at all): every typed word must match a word of it."""
    typed = words(query)
    have = words(text)
    if not typed or not have:
        return 0.0
    total = 0.0
    for word in typed:
        best = max(_word_score(word, other) for other in have)
        if not best:
            return 0.0
        total += best
    return total / len(typed)


def search(query: str, options: Mapping[str, str]) -> list[str]:
    """The keys of the options whose text matches `query`, best first (ties in the options' order);
    every key when nothing is typed."""
    if not words(query):
        return list(options)
    scored = [
        (score, index, key) for index, (key, text) in enumerate(options.items()) if (score := matches(query, text))
    ]
    return [key for _, _, key in sorted(scored, key=lambda item: (-item[0], item[1]))]
