"""Engine construction and idempotent, replica-safe schema creation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine

from . import models  # noqa: F401  # registers the tables on SQLModel.metadata
from .metrics import DB_ERRORS

log = logging.getLogger(__name__)

# Arbitrary constant shared by every replica: whoever holds it creates the schema.
_SCHEMA_LOCK_KEY = 0x70D0_5C4E


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # Request handlers run in a thread pool; a connection may change threads.
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # WAL lets readers proceed while a worker writes; FKs are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,  # survive DB restarts / idle connections cut by proxies
            pool_size=5,
            max_overflow=10,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )

    # Counts every DBAPI error, connect failures included, wherever it happens
    # (REST, chat, MCP tools, readiness probe).
    @event.listens_for(engine, "handle_error")
    def _count(_ctx) -> None:  # type: ignore[no-untyped-def]
        DB_ERRORS.inc()

    return engine


def init_schema(engine: Engine) -> None:
    """create_all, safe to run from many replicas starting at once."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # Serialise create_all across replicas; a second replica waits, then finds
            # every table present and creates nothing.
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            try:
                SQLModel.metadata.create_all(conn)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEMA_LOCK_KEY})
                conn.commit()
        return
    try:
        SQLModel.metadata.create_all(engine)
    except OperationalError as exc:
        # Two workers raced on the same SQLite file; the loser sees "already exists".
        if "already exists" not in str(exc):
            raise
        SQLModel.metadata.create_all(engine)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
