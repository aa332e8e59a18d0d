"""gaze.module_search: the limits form finds a module by what a person types (issue 20.2)."""

from __future__ import annotations

from gaze.module_search import matches, search, words
from gaze.simulator.traffic_data import DEMO_CATALOG

NAMES = {m["slug"]: m["name"] for m in DEMO_CATALOG}


def test_words_drop_case_accents_and_punctuation() -> None:
    assert words("Géographie (CDN) · Élève") == ["geographie", "cdn", "eleve"]


def test_a_prefix_a_plural_and_a_small_typo_find_the_module() -> None:
    assert search("maths", NAMES) == ["cdn_math"]  # "Mathematics (CDN)"
    assert search("algbra", NAMES) == ["cdn_algebra"]  # "Algebra Basics"
    assert search("geo", NAMES) == ["cdn_geo"]
    assert search("firts aid", NAMES) == ["health-first-aid"]


def test_words_in_any_order_case_and_accents() -> None:
    assert search("west geography", NAMES) == search("GEOGRAPHY West", NAMES) == ["cdn_geo"]
    assert search("salts bases", NAMES) == ["cdn_acid_bases_and_salts"]
    assert search("Géographie", {"a": "Geographie du Senegal", "b": "Histoire"}) == ["a"]
    assert search("geographie", {"a": "Géographie du Sénégal", "b": "Histoire"}) == ["a"]


def test_every_word_must_match_and_short_words_are_no_typos() -> None:
    assert search("english verbs", NAMES) == ["cdn_verbs"]
    assert search("acid", NAMES) == ["cdn_acid_bases_and_salts"]  # not "First Aid Basics"
    assert search("xyz", NAMES) == []
    assert matches("algebra chemistry", "Algebra Basics") == 0.0


def test_the_best_match_comes_first_and_nothing_typed_keeps_all() -> None:
    options = {"x": "Mathematics Extra", "y": "Maths Club", "z": "Geography"}
    assert search("maths", options) == ["y", "x"]  # the same word before a typo of it
    assert search("  ", options) == ["x", "y", "z"]
