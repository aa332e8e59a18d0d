"""The live checkpoint: what one save of the recorder (gaze/recorder.py) commits together, in one
transaction — the session records, what was set aside, the journal cursor with the open sessions,
and the access-log write's intent — and the file writes that follow it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gaze import setaside
from gaze.db import LIVE, Checkpoint
from gaze.localtime import local_day
from gaze.logs import ExactlyOnceLog, SessionLogWriter
from gaze.sessions import SessionRecord
from gaze.setaside import SetAside, error_line

log = logging.getLogger(__name__)

CHECKPOINT = "live"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one save commits together: the cursor, the open sessions (state), the records and
    access lines gathered so far, and what was set aside. `open_json`, when given, is the open
    sessions already encoded (SessionStore.open_json), saved as the state's "open"."""

    cursor: str | None
    state: dict[str, object]
    records: list[SessionRecord]
    access: list[str]
    aside: list[tuple[str, str, str]]
    open_json: str | None = None


def state_text(state: dict[str, object], open_json: str | None) -> str:
    """The checkpoint's state column: `state` as compact JSON, with `open_json` spliced in as "open"."""
    text = json.dumps(state, separators=(",", ":"))
    if open_json is None:
        return text
    return ('{"open":' if text == "{}" else text[:-1] + ',"open":') + open_json + "}"


def load_checkpoint(engine: Engine, name: str = CHECKPOINT) -> tuple[str | None, dict[str, object]]:
    with Session(engine) as db:
        row = db.get(Checkpoint, name)
        if row is None:
            return None, {}
        return row.cursor, json.loads(row.state or "{}")


def commit(
    engine: Engine, snap: Snapshot, access_log: ExactlyOnceLog, aside: SetAside, *, outbox: bool, now_ms: int
) -> bool:
    """One transaction: records (+ roll-ups), set-aside items, checkpoint, access-log intent. True
    when an access-log write was staged (gaze.logs.writer: `write_files` completes it).

    A record the database refuses is set aside (gaze.setaside.add_records_or_set_aside: found by
    halving the batch in savepoints), never allowed to hold back the records with it; it is counted
    in `aside`, with the items dropped to keep the table bounded.
    """
    today = local_day(None)
    refused = SetAside()
    with Session(engine) as db, db.begin():
        setaside.add_records_or_set_aside(db, snap.records, LIVE, aside=refused, outbox=outbox)
        dropped = setaside.store(db, snap.aside + refused.pending)
        row = db.get(Checkpoint, CHECKPOINT)
        if row is None:
            row = Checkpoint(name=CHECKPOINT)
            db.add(row)
        row.cursor = snap.cursor
        row.state = state_text(snap.state, snap.open_json)
        row.updated_ms = now_ms
        data = "".join(snap.access).encode("utf-8", errors="replace")
        staged = bool(snap.access) and access_log.stage(db, data, today)
    aside.dropped += dropped
    if refused.count:
        log.error("set aside %d record(s) the database refused: %s", refused.count, refused.last_error)
        aside.count += refused.count
        aside.last_error = refused.last_error
    return staged


def write_files(staged: ExactlyOnceLog | None, sessions_log: SessionLogWriter, new_records: bool) -> None:
    """After a commit: complete the staged access-log write and bring the session log up to date.
    A failure here is the log writers' status (retried by the tick), not the commit's."""
    try:
        if staged is not None:
            staged.complete(local_day(None))
        if new_records or sessions_log.status.waiting or not sessions_log.status.ok:
            sessions_log.flush()
    except Exception as exc:
        log.error("writing the log files failed: %s (retried)", error_line(exc))
