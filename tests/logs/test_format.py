"""gaze.logs.format: the session and access line formats, the file stems, UTC timestamps."""

from __future__ import annotations

import pytest

from gaze.logs.format import ACCESS_STEM, SESSIONS_STEM, format_access_line, format_session_line, iso_utc_ms
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
