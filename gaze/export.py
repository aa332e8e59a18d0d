"""CSV export of session records: the History page's download and `python main.py export`.

The first six columns mean what ComDevNet/cdn-auto's processor makes of a modulegaze-sessions.log
line (DESIGN §4), so our CSV and the one the organisation uploads agree row for row:
- User, IP Address: the line's userId split at its LAST `|` (a user name may hold `|`; an IP never);
- Access Date, Access Time: the record's END in UTC, as in the line (`YYYY-MM-DD`, `HH:MM:SS`);
- Module Viewed: the catalog name of the module (`GET /api/modules`), the raw moduleId when unknown;
- Duration Seconds: the line's durationSeconds.
Then our extra columns: the raw module id, the admin's device name, the local start and end.

UTF-8 without a byte-order mark (upload scripts read the first column as "User"); records end in
CRLF (RFC 4180), quoting by the csv module. `csv_row` is the one place a row is built.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from gaze.csvrow import HEADER, cdn_row, spreadsheet_safe
from gaze.history import NO_FILTERS, Filters, records_in
from gaze.localtime import Range
from gaze.records import RECORDS

CSV_HEADER = (
    *HEADER,
    "Module ID",
    "Device",
    "Local Start",
    "Local End",
)
_LOCAL = "%Y-%m-%d %H:%M:%S"


def csv_row(
    user: str, ip: str, module: str, end_ms: int, duration_s: int, module_name: str, device: str
) -> tuple[str, ...]:
    """One CSV record of a session: DESIGN §4's six columns (gaze.csvrow), then ours."""
    start_local = datetime.fromtimestamp((end_ms - duration_s * 1000) / 1000)
    end_local = datetime.fromtimestamp(end_ms / 1000)
    return (
        *cdn_row(end_ms, user, ip, module, duration_s, module_name),
        module,
        device,
        start_local.strftime(_LOCAL),
        end_local.strftime(_LOCAL),
    )


def csv_rows(
    engine: Engine,
    rng: Range,
    filters: Filters = NO_FILTERS,
    labels: dict[str, str] | None = None,
    names: Callable[[str], str] = str,
    order: Sequence[Any] = (),
) -> Iterator[str]:
    """The sessions ending in `rng` as CSV text, in `order` (/history's: its table's sort), else
    oldest end first: the header, then one record per item. `names(module_id)` gives the catalog
    name (the id itself when unknown), `labels` the device names by IP."""
    labels = labels or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take(row: Sequence[str]) -> str:
        writer.writerow([spreadsheet_safe(cell) for cell in row])  # a person's spreadsheet opens it
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    yield take(CSV_HEADER)
    r = RECORDS.c
    stmt = records_in(rng, filters, r.user_id, r.ip, r.module, r.end_ms, r.duration_s, order=order)
    name_cache: dict[str, str] = {}
    with engine.connect() as conn:
        for user, ip, module, end_ms, duration_s in conn.execution_options(yield_per=5000).execute(stmt):
            name = name_cache.get(module)
            if name is None:
                name = name_cache[module] = names(module)
            yield take(csv_row(user, ip, module, end_ms, duration_s, name, labels.get(ip, "")))
