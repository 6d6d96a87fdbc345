"""Engine construction and idempotent, replica-safe schema creation."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, event, exc as sa_exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import exc as orm_exc
from sqlmodel import Session, SQLModel, create_engine

from . import models  # also registers the tables on SQLModel.metadata
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

    # Counts DBAPI errors, connect failures included, wherever they happen (REST, chat,
    # MCP tools, readiness probe). A DataError is a value the database refused (out of
    # range, NUL...): the client's mistake, not a database fault to alert on.
    @event.listens_for(engine, "handle_error")
    def _count(ctx) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(ctx.sqlalchemy_exception, sa_exc.DataError):
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
        _sqlite_autoincrement(engine)


def _sqlite_autoincrement(engine: Engine) -> None:
    """Rebuild tables made before they had AUTOINCREMENT (which SQLite cannot ALTER in).

    Without it a deleted newest row's id is handed out again; the rebuild keeps every
    row and id, and sqlite_sequence then starts after the highest id kept.
    """
    with engine.connect() as conn:
        old_tables = [
            t for t in SQLModel.metadata.sorted_tables
            if "AUTOINCREMENT" not in (conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:n"), {"n": t.name}
            ).scalar() or "AUTOINCREMENT").upper()
        ]
        conn.rollback()
        if not old_tables:
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        # Both pragmas only act outside a transaction. With them the renamed old tables keep
        # message's REFERENCES pointing at the name "conversation", which the new table takes.
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("PRAGMA legacy_alter_table=ON")
        try:
            conn.begin()
            for table in old_tables:
                old = f"{table.name}_pre_autoincrement"
                conn.execute(text(f'ALTER TABLE "{table.name}" RENAME TO "{old}"'))
                for index in table.indexes:
                    conn.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
                table.create(conn)
                cols = ", ".join(f'"{c.name}"' for c in table.columns)
                conn.execute(text(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{old}"'))
                conn.execute(text(f'DROP TABLE "{old}"'))
            conn.commit()
        finally:
            conn.rollback()
            raw.execute("PRAGMA legacy_alter_table=OFF")
            raw.execute("PRAGMA foreign_keys=ON")


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


def open_session(engine: Engine) -> Session:
    """A request's session. Objects keep their values after commit: answering with what was
    just written needs no second read, which a concurrent delete could make fail."""
    return Session(engine, expire_on_commit=False)


_TABLE_IN_MESSAGE = re.compile(r"on table '([A-Za-z_]+)'")


def vanished(exc: BaseException) -> str | None:
    """The table whose row was deleted under this request (by a concurrent one), else None.

    The one place that knows what a vanished row looks like, for every caller: REST answers
    404 (middleware), chat and MCP a tool's "not found" (tools._counted). SQLAlchemy says it
    three ways: an UPDATE or DELETE that matched no row (StaleDataError), an expired attribute
    whose row is gone (ObjectDeletedError, "Instance ... has been deleted"), a refresh of such
    an instance ("Could not refresh instance").
    """
    if isinstance(exc, orm_exc.StaleDataError):
        found = _TABLE_IN_MESSAGE.search(str(exc))
        return found.group(1) if found else "row"
    if isinstance(exc, orm_exc.ObjectDeletedError) or (
        isinstance(exc, sa_exc.InvalidRequestError)
        and ("has been deleted" in str(exc) or "Could not refresh instance" in str(exc))
    ):
        return _instance_table(exc)
    return None


def _instance_table(exc: BaseException) -> str:
    # The messages name the instance ("Instance '<Task at 0x...>'"); its class is the table.
    found = re.search(r"<(\w+) at 0x", str(exc))
    if found:
        table = getattr(getattr(models, found.group(1), None), "__tablename__", None)
        if isinstance(table, str):
            return table
    return "row"


# Every right the app's own requests use, per table (nothing deletes conversations or messages).
# A new row also takes its id from the table's sequence (USAGE on it).
RIGHTS: dict[str, tuple[str, ...]] = {
    "task": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "conversation": ("SELECT", "INSERT", "UPDATE"),
    "message": ("SELECT", "INSERT"),
}


def missing_rights(engine: Engine) -> list[str]:
    """The rights of RIGHTS the database user lacks, as "INSERT on task" (PostgreSQL only).

    A role with DELETE but without INSERT passes the write probe of check_writable and then
    refuses every create: readiness has to ask for each right, not try one statement.
    """
    if engine.dialect.name != "postgresql":
        return []  # SQLite has no rights; a read-only file is check_writable's case
    pairs = [(table, right) for table, rights in RIGHTS.items() for right in rights]
    values = ", ".join(f"(:t{i}, :r{i})" for i in range(len(pairs)))
    params: dict[str, str] = {}
    for i, (table, right) in enumerate(pairs):
        params[f"t{i}"], params[f"r{i}"] = table, right
    tables = ", ".join(f"(:s{i})" for i in range(len(RIGHTS)))
    params.update({f"s{i}": table for i, table in enumerate(RIGHTS)})
    with engine.connect() as conn:
        missing = [
            f"{right} on {table}"
            for table, right in conn.execute(
                text(f"SELECT t, r FROM (VALUES {values}) AS x(t, r) WHERE NOT has_table_privilege(t, r)"),
                params,
            )
        ]
        missing += [
            f"USAGE on {seq}"
            for (seq,) in conn.execute(
                text(
                    f"SELECT s FROM (SELECT pg_get_serial_sequence(t, 'id') AS s FROM (VALUES {tables}) AS x(t)) y "
                    "WHERE s IS NOT NULL AND NOT has_sequence_privilege(s, 'USAGE, UPDATE')"
                ),
                params,
            )
        ]
        conn.rollback()
    return missing


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_writable(engine: Engine) -> None:
    """Raise unless this engine can write: a DELETE that matches no row, rolled back.

    It needs the same write access as any request (SQLite: a writable file; PostgreSQL: a
    primary that is not read-only) yet changes nothing and leaves nothing to flush.
    """
    with engine.connect() as conn:
        try:
            conn.execute(text("DELETE FROM task WHERE id < 0"))
        finally:
            conn.rollback()
