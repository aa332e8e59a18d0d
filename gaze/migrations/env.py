"""Alembic environment: runs on the connection handed over by gaze.db.migrate()."""

from __future__ import annotations

from alembic import context

from gaze.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via gaze.db.migrate()
    raise RuntimeError("run migrations through gaze.db.migrate(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
