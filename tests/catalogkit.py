"""Helpers for the catalog tests: an oc4d "Module" table in PostgreSQL, upload folders on disk."""

from __future__ import annotations

import os
from pathlib import Path

MODULE_DDL = (
    'CREATE TABLE "Module" (id text primary key, name text not null, description text, index_html_url text, '
    'logo_url text, language text, enabled boolean default true, "createdAt" timestamp default now())'
)


def sql(url: str, *statements: str, params: list[tuple[str, tuple]] | None = None) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        for statement in statements:
            conn.execute(statement)
        for statement, values in params or []:
            conn.execute(statement, values)


def module_rows(url: str, rows: list[tuple]) -> None:
    sql(
        url,
        MODULE_DDL,
        params=[
            (
                'INSERT INTO "Module" (id, name, description, index_html_url, logo_url, language, enabled) '
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                row,
            )
            for row in rows
        ],
    )


def page(root: Path, build: str, slug: str, title: str | None = None, mtime: float | None = None) -> Path:
    folder = root / build / slug if build else root / slug
    folder.mkdir(parents=True, exist_ok=True)
    body = f"<html><head><title>{title}</title></head><body></body></html>" if title else "<html></html>"
    (folder / "index.html").write_text(body, encoding="utf-8")
    if mtime is not None and build:
        os.utime(root / build, (mtime, mtime))
    return folder
