"""gaze.logs.format: the session and access line formats, the file stems, UTC timestamps."""

from __future__ import annotations

from datetime import date

import pytest

from gaze.logs.format import (
    ACCESS_STEM,
    ARCHIVE_NAME,
    SESSIONS_STEM,
    archive_re,
    clean_field,
    format_access_line,
    format_session_line,
    iso_utc_ms,
    line_day,
    member_name,
)
from tests.logskit import ms

pytestmark = pytest.mark.usefixtures("local_tz")


def test_stems() -> None:
    assert SESSIONS_STEM == "modulegaze-sessions"
    assert ACCESS_STEM == "modulegaze-access"


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1777905040000, "2026-05-04T14:30:40.000Z"),
        (1777905040001, "2026-05-04T14:30:40.001Z"),
        (1777905040010, "2026-05-04T14:30:40.010Z"),
        (1777905040999, "2026-05-04T14:30:40.999Z"),  # truncated to its own millisecond, never rounded up
        (1777939199999, "2026-05-04T23:59:59.999Z"),
        (1777939200000, "2026-05-05T00:00:00.000Z"),
    ],
)
def test_iso_utc_ms(epoch_ms: int, expected: str) -> None:
    assert iso_utc_ms(epoch_ms) == expected


def test_iso_utc_ms_is_utc_whatever_the_local_zone() -> None:
    assert iso_utc_ms(ms("2026-05-05T01:30:00.250+02:00")) == "2026-05-04T23:30:00.250Z"


def test_format_session_line_exact() -> None:
    got = format_session_line(1777905040000, "anna@example.com", "192.168.1.20", "cdn_math", 40)
    assert got == (
        "2026-05-04T14:30:40.000Z\tuserId=anna@example.com|192.168.1.20\tmoduleId=cdn_math"
        "\tdurationSeconds=40\tschemaVersion=1\n"
    )


def test_format_session_line_replaces_cr_lf_tab_each_with_one_space() -> None:
    got = format_session_line(1777905040123, "an\tna\r\n", "1.2.3.4\n", "m\rod\tule", 0)
    assert got == (
        "2026-05-04T14:30:40.123Z\tuserId=an na  |1.2.3.4 \tmoduleId=m od ule\tdurationSeconds=0\tschemaVersion=1\n"
    )
    fields = got.rstrip("\n").split("\t")
    assert len(fields) == 5
    assert got.count("\n") == 1
    assert "\r" not in got


def test_format_access_line() -> None:
    raw = 'info: 1.2.3.4 user=a - [x] "GET /uploads/modules/1_a/m/index.html HTTP/1.1"\t200\r\n'
    got = format_access_line(1777905040005, raw)
    assert got == (
        '2026-05-04T14:30:40.005Z\tinfo: 1.2.3.4 user=a - [x] "GET /uploads/modules/1_a/m/index.html HTTP/1.1" 200  \n'
    )
    assert got.count("\t") == 1


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("anna@example.com", "anna@example.com"),  # the usual value, unchanged
        ("Kofi\tMensah", "Kofi Mensah"),
        ("a\r\nb", "a  b"),
        ("nul\x00del\x7f", "nul del "),
        ("del\x7f", "del "),  # DEL alone
        ("\x1b[31mred", " [31mred"),
        ("Ama Owusu — é ü", "Ama Owusu — é ü"),  # not ASCII, no control character: unchanged
        ("élève\x0b", "élève "),
    ],
)
def test_clean_field_makes_each_control_character_one_space(raw: str, clean: str) -> None:
    assert clean_field(raw) == clean


def test_archive_names() -> None:
    assert member_name(SESSIONS_STEM, date(2026, 5, 4)) == "modulegaze-sessions-2026-05-04.log"
    ours = archive_re(SESSIONS_STEM)
    match = ours.match("modulegaze-sessions-2026-05-04.log.zip")
    assert match is not None and match.group(1) == "2026-05-04"
    assert ours.match("modulegaze-access-2026-05-04.log.zip") is None
    assert ours.match("modulegaze-sessions-2026-05-04-1777905040000.log.zip") is None
    upstream = archive_re(SESSIONS_STEM, upstream=True).match("modulegaze-sessions-2026-05-04-1777905040000.log.zip")
    assert upstream is not None and upstream.group(1) == "2026-05-04"
    assert ARCHIVE_NAME.match("modulegaze-access-2026-05-04.log.zip") is not None
    assert ARCHIVE_NAME.match("modulegaze-sessions-2026-05-04.log") is None


def test_line_day_is_the_local_day_of_the_first_timestamp() -> None:
    # 23:30 UTC on May 4 is 01:30 on May 5 in UTC+2.
    assert line_day(b"2026-05-04T23:30:00.000Z\tuserId=a|b\n2026-05-03T10:00:00.000Z\n") == date(2026, 5, 5)
    assert line_day(b"2026-05-04T10:00:00.000Z") == date(2026, 5, 4)
    assert line_day(b"") is None
    assert line_day(b"not a time\tuserId=a\n") is None
    assert line_day("\u00e9t\u00e9".encode()) is None
