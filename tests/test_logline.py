from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaze.logline import GUEST, Hit, classify, module_from_path, parse
from gaze.logs.format import iso_utc_ms
from tests.conformance_data import case_id, load

LINES = load("lines.jsonl")
PATHS = load("module_paths.jsonl")


def as_dict(hit: Hit | None) -> dict[str, Any] | None:
    if hit is None:
        return None
    return {
        "kind": hit.kind,
        "ip": hit.ip,
        "user": hit.user,
        "module": hit.module,
        "time": None if hit.time_ms is None else iso_utc_ms(hit.time_ms),
    }


@pytest.mark.parametrize("case", LINES, ids=case_id)
def test_line_conformance(case: dict[str, Any]) -> None:
    assert as_dict(parse(case["line"])) == case["expect"]


@pytest.mark.parametrize("case", PATHS, ids=case_id)
def test_module_path_conformance(case: dict[str, Any]) -> None:
    assert module_from_path(case["path"]) == case["module"]


def test_vendored_cases_are_all_loaded() -> None:
    assert len(LINES) == 50 and len(PATHS) == 12


def test_loopback_counts_when_enabled() -> None:
    line = 'info: 127.0.0.1 - [2026-05-04T00:00:00.000Z] "GET /modules/m1/index.html HTTP/1.1" 200'
    assert parse(line) is None
    assert classify(line) == "loopback"
    hit = parse(line, include_loopback=True)
    assert hit is not None and hit.ip == "127.0.0.1" and hit.user == GUEST


def test_reasons() -> None:
    assert classify("info: Server listening on port 80") == "no-module"
    assert classify("info: Server /modules/ listening") == "not-access"
    assert classify('info: 10.0.0.1 - "GET /modules/m/index.html HTTP/1.1" 404') == "status>=400"
    assert classify('info: 10.0.0.1 - "GET /img/x.png HTTP/1.1" 200') == "no-module"
    assert classify('info: nope - "GET /modules/m/index.html HTTP/1.1" 200') == "bad-address"


def test_invalid_percent_escape_kept() -> None:
    hit = parse('info: 10.0.0.1 - "GET /modules/a%zzb/index.html HTTP/1.1" 200')
    assert hit is not None and hit.module == "a%zzb"


def test_invalid_timestamp_falls_back_to_journal_time() -> None:
    hit = parse('info: 10.0.0.1 - [2026-13-45T99:00:00Z] "GET /modules/m/index.html HTTP/1.1" 200')
    assert hit is not None and hit.time_ms is None and hit.at(1234) == 1234


def test_short_iso_prefix_is_ignored() -> None:
    line = (
        "2026-05-04T14:30:00+0000 cdn oc4d[1]: info: 10.0.0.1 - [2026-05-04T14:30:00.000Z] "
        '"GET /modules/m/index.html HTTP/1.1" 200'
    )
    assert as_dict(parse(line)) == {
        "kind": "entry", "ip": "10.0.0.1", "user": GUEST, "module": "m", "time": "2026-05-04T14:30:00.000Z"
    }  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_on_text(text: str) -> None:
    classify(text)
    classify("info: 10.0.0.1 - " + text + ' "GET /modules/' + text + ' HTTP/1.1" 200 ' + text)


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_never_raises_on_decoded_bytes(data: bytes) -> None:
    classify(data.decode("utf-8", errors="replace"))


def test_huge_and_nul_lines() -> None:
    big = "info: 10.0.0.1 - " + "A" * 65536 + ' "GET /modules/m/' + "x" * 65536 + '.js HTTP/1.1" 200'
    hit = parse(big)
    assert hit is not None and hit.module == "m"
    assert parse('info: 10.0.0.1\x00 - "GET /modules/m/index.html\x00 HTTP/1.1" 200\x00') is None
    classify("\x00" * 70000)
    classify('info: 10.0.0.1 - "GET /modules/m/index.html HTTP/1.1" 200 ' + "{" * 70000 + "}")


def test_deeply_nested_json_is_skipped_not_a_crash() -> None:
    """A trailing JSON object nested past Python's limit gives no identity (the hit stays); a
    journal line nested that deep is a malformed line, counted and skipped."""
    from gaze.journalctl import MalformedLine, decode_json_line

    nested = '{"user":' + "[" * 100_000 + "]" * 100_000 + "}"
    line = 'info: 10.0.0.1 - [2026-05-04T14:30:00.000Z] "GET /modules/m1/index.html HTTP/1.1" 200 ' + nested
    hit = parse(line)
    assert hit is not None and hit.user == "Guest" and hit.module == "m1"
    with pytest.raises(MalformedLine, match="nested"):
        decode_json_line("[" * 100_000)
