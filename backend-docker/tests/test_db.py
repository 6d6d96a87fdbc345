"""Schema creation is idempotent and safe when several replicas start at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import inspect

from app import db
from conftest import SECRET, make_settings

ROOT = Path(__file__).resolve().parents[1]


def test_concurrent_schema_creation(db_url: str) -> None:
    url = make_settings(db_url).db_url
    engines = [db.make_engine(url) for _ in range(6)]  # one per "replica"
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def replica(engine: object) -> None:
        barrier.wait()  # start together to provoke the race
        try:
            db.init_schema(engine)  # type: ignore[arg-type]
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    db.init_schema(engines[0])  # and once more on an existing schema
    assert {"task", "conversation", "message"} <= set(inspect(engines[0]).get_table_names())
    for e in engines:
        e.dispose()


def test_sqlite_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "todo.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.init_schema(engine)
    engine.dispose()
    assert path.exists()


def test_app_main_is_importable(tmp_path: Path) -> None:
    code = "import app.main as m; print(type(m.app).__name__)"
    env = {"BETTER_AUTH_SECRET": SECRET, "SQLITE_PATH": str(tmp_path / "x.db"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("FastAPI")


def test_sqlite_files_from_before_autoincrement_are_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)  # the tables as earlier versions created them
    con.executescript("""
        CREATE TABLE task (id INTEGER NOT NULL PRIMARY KEY, user_id VARCHAR(255) NOT NULL, title VARCHAR(200) NOT NULL,
            description VARCHAR(1000), completed BOOLEAN NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
        CREATE INDEX ix_task_user_id ON task (user_id);
        CREATE TABLE conversation (id INTEGER NOT NULL PRIMARY KEY, user_id VARCHAR(255) NOT NULL,
            created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL);
        CREATE INDEX ix_conversation_user_id ON conversation (user_id);
        CREATE TABLE message (id INTEGER NOT NULL PRIMARY KEY, user_id VARCHAR(255) NOT NULL,
            conversation_id INTEGER NOT NULL REFERENCES conversation (id), role VARCHAR(16) NOT NULL, content TEXT NOT NULL,
            created_at DATETIME NOT NULL);
        CREATE INDEX ix_message_user_id ON message (user_id);
        CREATE INDEX ix_message_conversation_id ON message (conversation_id);
        INSERT INTO task VALUES (1, 'alice', 'a', NULL, 0, '2026-01-01', '2026-01-01'),
                                (2, 'alice', 'b', NULL, 0, '2026-01-01', '2026-01-01');
        INSERT INTO conversation VALUES (1, 'alice', '2026-01-01', '2026-01-01');
        INSERT INTO message VALUES (1, 'alice', 1, 'user', 'hi', '2026-01-01');
    """)
    con.commit()
    con.close()
    engine = db.make_engine(f"sqlite:///{path}")
    db.init_schema(engine)
    db.init_schema(engine)  # nothing left to upgrade the second time
    with engine.begin() as conn:
        from sqlalchemy import text

        assert conn.execute(text("SELECT id, title FROM task ORDER BY id")).all() == [(1, "a"), (2, "b")]
        assert conn.execute(text("SELECT content FROM message")).scalar() == "hi"
        conn.execute(text("DELETE FROM task WHERE id = 2"))
        conn.execute(text("INSERT INTO task (user_id, title, completed, created_at, updated_at) "
                          "VALUES ('bob', 'c', 0, '2026-01-01', '2026-01-01')"))
        assert conn.execute(text("SELECT max(id) FROM task")).scalar() == 3
        assert set(inspect(conn).get_table_names()) == {"task", "conversation", "message"}
        assert {i["name"] for i in inspect(conn).get_indexes("task")} == {"ix_task_user_id"}
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert inspect(conn).get_foreign_keys("message")[0]["referred_table"] == "conversation"
    engine.dispose()
