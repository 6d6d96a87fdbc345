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
