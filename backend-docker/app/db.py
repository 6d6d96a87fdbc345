"""Engine construction and idempotent, replica-safe schema creation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, create_engine

from . import models  # noqa: F401  # registers the tables on SQLModel.metadata
from .metrics import DB_ERRORS

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

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
            conn.commit()  # a session-level lock outlives the transaction
            try:
                SQLModel.metadata.create_all(conn)
                conn.commit()
            except Exception:
                conn.rollback()  # so the unlock below can run
                raise
            finally:
                # The connection goes back to the pool: never leave the lock held on it.
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEMA_LOCK_KEY})
                conn.commit()
        return
    with _file_lock(engine.url.database):
        SQLModel.metadata.create_all(engine)


@contextlib.contextmanager
def _file_lock(db_path: str | None) -> Iterator[None]:
    """Serialise create_all between worker processes sharing one SQLite file.

    Without it two workers race between "does the table exist" and CREATE TABLE
    (or trip over each other switching the file to WAL).
    """
    if not db_path or db_path == ":memory:" or fcntl is None:  # no flock on Windows
        yield
        return
    with open(f"{db_path}.init-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
