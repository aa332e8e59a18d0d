"""The parser's fast path (`logline._USUAL`, `_usual`) gives what the full rule (`logline._full`) gives,
line for line: over the conformance cases, both bench corpora and odd lines made from them, and so
the same sessions. The full rule is the code the fast path was put in front of (DESIGN §2)."""

from __future__ import annotations

import random
from functools import cache

import pytest

from bench.corpora import SHAPES
from gaze import logline
from gaze.logline import NO_MODULE, NOT_ACCESS, Hit, classify
from gaze.sessions import SessionRecord, SessionStore
from tests.conformance_data import load

CORPUS_ENTRIES = 80_000  # bench/ingest.py's default day, seed 0

# What a mutation puts into a usual line: every character the fast pattern treats specially, the
# markers the full rule looks for, other identity sources, odd digits and blanks.
PIECES = [
    '"', "[", "]", " ", "  ", "\t", "\x1f", "\x00", "\u00a0", "\u2028", "=", ":", "{", "}", "?", "#", "%",
    "%2F", "%00", "/", "\\", "-", ".", "Z", "T", "0", "9", "\u0663", "\u00b2", "é", "user=", " user=",
    " user=- ", " user=bob ", "::ffff:", "::1", "[::1]", "127.0.0.1", "0.0.0.0", "fe80::1%eth0",
    '"GET ', "GET ", "info:", "info: ", "/modules/", "/uploads/modules/", "index.html", "HTTP/1.1",
    "HTTP/2", " 404", " 200", " 2000", '{"user":"ana"}', '{"email":"A@B.org"}', " x-remote-user=kofi",
    " x-user: ama", "REMOTE_USER=yaw", "?user=esi", "&login=kwame", " - ", "[2026-05-04T10:00:00.000Z]",
    "[2026-13-04T10:00:00.000Z]", "\n", "\r",
]  # fmt: skip


def reference(message: str, include_loopback: bool) -> Hit | str:
    """The full rule alone, as classify applied it before the fast path."""
    try:
        if "/modules/" not in message:
            return NO_MODULE
        start = message.find("info:")
        if start < 0:
            return NOT_ACCESS
        return logline._full(message, start, include_loopback)
    except Exception:
        return NOT_ACCESS


@cache
def corpus(name: str) -> list[tuple[int, str]]:
    return [(line.time_ms, line.message) for line in SHAPES[name](0).day(CORPUS_ENTRIES)]


def odd_lines(seeds: list[str], count: int, seed: int) -> list[str]:
    """`count` lines made from usual ones by inserting, replacing or deleting a few pieces."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        line = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line) + 1)
            action = rng.random()
            if action < 0.5:
                line = line[:at] + rng.choice(PIECES) + line[at:]
            elif action < 0.8:
                line = line[:at] + rng.choice(PIECES) + line[at + rng.randint(1, 4) :]
            else:
                line = line[:at] + line[at + rng.randint(1, 6) :]
        out.append(line)
    return out


def usual_share(messages: list[str]) -> float:
    usual = sum(1 for m in messages if "info:" in m and logline._USUAL.match(m, m.find("info:")) is not None)
    return usual / len(messages)


def assert_same(messages: list[str]) -> None:
    for message in messages:
        for include_loopback in (False, True):
            assert classify(message, include_loopback) == reference(message, include_loopback), repr(message)


def test_conformance_lines_same_as_full_rule() -> None:
    lines = [case["line"] for case in load("lines.jsonl")]
    assert usual_share(lines) > 0.3  # the fast path is taken on many of them
    assert_same(lines)
    assert_same(odd_lines(lines, 20_000, seed=1))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_bench_corpus_same_hits_and_records(name: str) -> None:
    messages = corpus(name)
    assert usual_share([m for _, m in messages]) > 0.8
    fast = [classify(m) for _, m in messages]
    assert fast == [reference(m, False) for _, m in messages]
    assert records(messages, fast) == records(messages, [reference(m, False) for _, m in messages])


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_odd_lines_from_corpus_same_as_full_rule(name: str) -> None:
    seeds = [m for _, m in corpus(name)[:5000] if "/modules/" in m]
    odd = odd_lines(seeds, 30_000, seed=len(name))
    assert 0.2 < usual_share(odd) < 0.9  # both paths are exercised
    assert_same(odd)


def records(messages: list[tuple[int, str]], results: list[Hit | str]) -> list[SessionRecord]:
    store = SessionStore()
    out: list[SessionRecord] = []
    store.subscribe(out.extend)
    for (time_ms, _), result in zip(messages, results, strict=True):
        if isinstance(result, Hit):
            store.feed(result, time_ms)
    store.close_all()
    return out


USUAL = 'info: 10.0.0.7 {who}- [2026-05-04T10:00:00.000Z] "GET /modules/cdn_math/{target} HTTP/1.1" 200{tail}'


@pytest.mark.parametrize(
    ("who", "target", "tail", "user"),
    [
        ("", "index.html?user=esi", "", "esi"),  # the query names the user: the target's answer
        ("", "index.html?login=kwame&user=", "", "kwame"),
        ("", "index.html?user=esi", " x-user: ama", "ama"),  # a header beats the query
        ("", "index.html?user=esi", ' 12 "-" "ua" {"user":"ana"}', "ana"),  # so does a JSON object
        ("user=kofi ", "index.html?user=esi", " 12 x-user=ama", "kofi"),  # morgan's token beats both
        ("user=- ", "index.html?user=esi", " x-remote-user=yaw", "yaw"),  # a token naming no one
        ("user=- ", "index.html", "", "Guest"),
        ("user=anonymous ", "index.html", ' 12 "http://x/" "ua"', "Guest"),
        ("user=Ama%40X.org ", "img/a.png", ' 12 "-" "ua" {"timestamp":"t"}', "ama@x.org"),
        ("user=kofi ", "index.html", ' 12 {"timestamp":"t"}', "kofi"),  # a JSON object naming no one
        ("user=kofi ", "index.html", ' 12 {"\\u0075ser":"ana"}', "ana"),  # an escaped key still names
        ("", "index.html?user=esi", ' 12 {"timestamp":"t"} ', "esi"),
        ("", "index.html", ' 12 {"note":"x"} {"mail":"Y@Z.org"}', "y@z.org"),
        ("", "index.html", " 12 a=b", "Guest"),
        ("", "index.html", " ", "Guest"),
    ],
)
def test_usual_line_names_the_user_the_full_rule_names(who: str, target: str, tail: str, user: str) -> None:
    line = USUAL.format(who=who, target=target, tail=tail)
    assert logline._USUAL.match(line, 0) is not None  # the fast path reads it
    hit = classify(line)
    assert isinstance(hit, Hit) and hit.user == user
    assert hit == reference(line, False)


def test_memo_answers_the_same_and_forgets_everything_when_full() -> None:
    calls: list[str] = []

    def compute(text: str) -> int:
        calls.append(text)
        return len(text)

    memo = logline._Memo(compute, 2)
    assert [memo["a"], memo["bb"], memo["a"]] == [1, 2, 1] and calls == ["a", "bb"]  # known: not computed again
    assert memo["ccc"] == 3 and dict(memo) == {"ccc": 3}  # full: forgotten at once, so it stays bounded
    memo.cache_clear()
    assert memo["a"] == 1 and calls == ["a", "bb", "ccc", "a"]
