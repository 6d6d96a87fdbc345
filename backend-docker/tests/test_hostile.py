"""Inputs from outside that the contract tests did not try: out-of-range ids, loose
types, NUL characters, over-long user ids, failures mid-turn, read-only databases.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, select

from app import agent
from app.application import create_app
from app.models import Conversation, Message
from app.settings import Settings
from conftest import LiveServer, auth, make_settings, metric_value, token
from test_mcp import call, error_text, ok

BASE = "/api/alice/tasks"
HUGE = [2**31, 2**63, 10**30]  # beyond PostgreSQL integer, SQLite INTEGER, and both
INTERNALS = re.compile(r"pydantic|errors\.pydantic\.dev|psycopg|sqlalchemy|sqlite|127\.0\.0\.1|port \d|"
                       r"Traceback|validation error for|\binput_value\b|OverflowError|DataError", re.I)


def db_errors(c: TestClient) -> float:
    return metric_value(c.get("/metrics").text, "db_errors_total")


def test_out_of_range_ids_are_just_missing_over_rest(client: TestClient) -> None:
    h = auth()
    before = db_errors(client)
    for tid in HUGE:
        for method, path, body in (("GET", f"{BASE}/{tid}", None), ("PUT", f"{BASE}/{tid}", {"title": "x"}),
                                   ("DELETE", f"{BASE}/{tid}", None), ("PATCH", f"{BASE}/{tid}/complete", None)):
            r = client.request(method, path, json=body, headers=h)
            assert r.status_code == 404, (method, path, r.text)
            assert r.json() == {"detail": "task not found"}
        r = client.post("/api/alice/chat", json={"conversation_id": tid, "message": "list tasks"}, headers=h)
        assert r.status_code == 404 and r.json() == {"detail": "conversation not found"}, r.text
        r = client.post("/api/alice/chat", json={"message": f"mark {tid} done"}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["tool_calls"][0]["result"] == {"error": f"task {tid} not found"}
    assert db_errors(client) == before  # bad client input is not a database error


def test_out_of_range_ids_are_just_missing_over_mcp(live: LiveServer) -> None:
    u = {"user_id": "alice"}
    calls = [(tool, {**u, "task_id": tid, **({"title": "x"} if tool == "update_task" else {})})
             for tid in HUGE for tool in ("complete_task", "delete_task", "update_task")]
    for (_, args), result in zip(calls, call(live, "alice", *calls), strict=True):
        text = error_text(result)
        assert text.endswith(f"task {args['task_id']} not found"), text
        assert not INTERNALS.search(text), text
    assert metric_value(httpx.get(f"{live.url}/metrics").text, "db_errors_total") == 0


def test_failed_chat_turn_stores_nothing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        first = c.post("/api/alice/chat", json={"message": "list tasks"}, headers=auth()).json()

        def broken(*_: Any) -> agent.Reply:
            raise RuntimeError("parser exploded")

        monkeypatch.setattr(agent, "run_parser", broken)
        for body in ({"message": "add a"}, {"conversation_id": first["conversation_id"], "message": "add b"}):
            r = c.post("/api/alice/chat", json=body, headers=auth())
            assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    with Session(app.state.engine) as s:
        assert len(s.exec(select(Conversation)).all()) == 1
        assert [(m.role, m.content) for m in s.exec(select(Message).order_by(Message.id)).all()] == [
            ("user", "list tasks"), ("assistant", "You have no tasks.")]


def test_task_ids_are_never_reused(client: TestClient) -> None:
    h = auth()
    first = client.post(BASE, json={"title": "a"}, headers=h).json()["id"]
    newest = client.post(BASE, json={"title": "b"}, headers=h).json()["id"]
    assert client.delete(f"{BASE}/{newest}", headers=h).status_code == 204
    again = client.post("/api/bob/tasks", json={"title": "c"}, headers=auth("bob")).json()["id"]
    assert again > newest > first
    assert client.get(f"/api/alice/tasks/{newest}", headers=h).status_code == 404


def _read_only_engine(url: str) -> Any:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})


def test_readyz_fails_while_writes_fail(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/readyz").status_code == 200
        app.state.engine = _read_only_engine(settings.db_url)
        assert c.post(BASE, json={"title": "x"}, headers=auth()).status_code >= 500  # writes do fail
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable", "detail": "database not writable"}
        assert c.get(BASE, headers=auth()).status_code == 200  # and reads still work


@pytest.mark.parametrize("message", ["   ", "\n\t ", "\u3000"])
def test_blank_chat_message_is_refused(client: TestClient, message: str) -> None:
    r = client.post("/api/alice/chat", json={"message": message}, headers=auth())
    assert r.status_code == 422
    assert client.post("/api/alice/chat", json={"message": "list tasks"}, headers=auth()).json()[
        "conversation_id"] == 1  # the refused ones created no conversation


def test_validation_errors_are_short_and_stable(client: TestClient) -> None:
    client.post(BASE, json={"title": "a"}, headers=auth())
    for method, path, body in (("POST", BASE, {"title": ""}), ("POST", BASE, {"title": 5}), ("POST", BASE, "not json"),
                               ("PUT", f"{BASE}/1", {"completed": "yes"}), ("POST", "/api/alice/chat", {"message": 7})):
        r = client.request(method, path, content=body if isinstance(body, str) else json.dumps(body),
                           headers={**auth(), "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        assert not INTERNALS.search(r.text) and "http" not in r.text, r.text
        assert r.json()["detail"] and all(set(e) == {"loc", "msg"} for e in r.json()["detail"]), r.text


def test_tool_internal_errors_do_not_leak(live: LiveServer, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    from app import tools

    caplog.set_level("INFO")

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("connection to server at 127.0.0.1, port 5432 failed (psycopg)")

    monkeypatch.setitem(tools.__dict__, "add_task", broken)
    results = call(live, "alice",
                   ("add_task", {"user_id": "alice", "title": "x"}),
                   ("list_tasks", {"user_id": "alice", "status": 5}),
                   ("complete_task", {"user_id": "alice", "task_id": "one"}))
    texts = [error_text(r) for r in results]
    for text in texts:
        assert not INTERNALS.search(text) and "http" not in text, text
    assert texts == ["internal error", "invalid arguments: status", "invalid arguments: task_id"]
    # The details are in the server log instead.
    failed = [r for r in caplog.records if r.getMessage() == "mcp tool failed"]
    assert failed and "port 5432" in str(failed[0].exc_info[1])
    assert sum(r.getMessage() == "mcp tool arguments refused" for r in caplog.records) == 2


def test_loose_inputs_are_refused(client: TestClient) -> None:
    h = auth()
    tid = client.post(BASE, json={"title": "a"}, headers=h).json()["id"]
    for body in ({"completed": "yes"}, {"completed": 1}, {"completed": "true"}):
        assert client.put(f"{BASE}/{tid}", json=body, headers=h).status_code == 422
        assert client.patch(f"{BASE}/{tid}/complete", json=body, headers=h).status_code == 422
    assert client.post("/api/alice/chat", json={"conversation_id": "1", "message": "hi"}, headers=h).status_code == 422
    for body in ({"title": "a\x00b"}, {"title": "a", "description": "b\x00"}):
        assert client.post(BASE, json=body, headers=h).status_code == 422
        assert client.put(f"{BASE}/{tid}", json=body, headers=h).status_code == 422
    assert client.post("/api/alice/chat", json={"message": "add a\x00b"}, headers=h).status_code == 422
    assert [t["title"] for t in client.get(BASE, headers=h).json()] == ["a"]


def test_nul_and_loose_types_refused_over_mcp(live: LiveServer) -> None:
    u = {"user_id": "alice"}
    (added,) = call(live, "alice", ("add_task", {**u, "title": "a"}))
    tid = ok(added)["task_id"]
    results = call(live, "alice",
                   ("add_task", {**u, "title": "a\x00b"}),
                   ("update_task", {**u, "task_id": tid, "description": "\x00"}),
                   ("complete_task", {**u, "task_id": True}))
    for r in results:
        assert r.isError, r.content
    (listed,) = call(live, "alice", ("list_tasks", u))
    assert ok(listed) == [{"id": tid, "title": "a", "completed": False}]


@pytest.mark.parametrize("sub", ["u" * 256, "a\x00b"])
def test_user_ids_the_database_cannot_hold_are_refused(client: TestClient, live: LiveServer, sub: str) -> None:
    h = {"Authorization": f"Bearer {token(sub)}"}
    path = f"/api/{quote(sub, safe='')}/tasks"
    assert client.post(path, json={"title": "x"}, headers=h).status_code == 401
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    r = httpx.post(f"{live.url}/mcp", json=body, headers={**h, "Accept": "application/json, text/event-stream"})
    assert r.status_code == 401
    ok_len = "u" * 255
    assert client.post(f"/api/{ok_len}/tasks", json={"title": "x"}, headers=auth(ok_len)).status_code == 201


def test_mcp_has_its_own_route_label(live: LiveServer) -> None:
    call(live, "alice", ("list_tasks", {"user_id": "alice"}))
    text = httpx.get(f"{live.url}/metrics").text
    assert metric_value(text, "http_requests_total", {"method": "POST", "route": "/mcp", "status": "200"}) >= 1
    assert metric_value(text, "http_requests_total", {"method": "POST", "route": "unmatched"}) == 0


def test_list_tasks_declares_its_statuses(live: LiveServer) -> None:
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def go() -> Any:
        async with streamablehttp_client(f"{live.url}/mcp", headers=auth()) as (r, w, _):
            async with ClientSession(r, w) as s:
                await s.initialize()
                return {t.name: t for t in (await s.list_tools()).tools}

    status = anyio.run(go)["list_tasks"].inputSchema["properties"]["status"]
    assert status["enum"] == ["all", "pending", "completed"] and status["default"] == "all"


def test_get_mcp_is_405_not_a_silent_stream(live: LiveServer) -> None:
    for method in ("GET", "DELETE"):
        r = httpx.request(method, f"{live.url}/mcp", headers={**auth(), "Accept": "text/event-stream"}, timeout=5)
        assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert httpx.get(f"{live.url}/mcp", timeout=5).status_code == 401  # auth still comes first


def test_readme_references_stay_inside_the_repository() -> None:
    root = Path(__file__).resolve().parents[1]
    for md in root.glob("*.md"):
        text = md.read_text()
        assert "shared/reference" not in text, md
        for target in re.findall(r"\]\(([^)#:]+)\)", text):
            assert (md.parent / target).exists(), f"{md.name} -> {target}"


def test_postgres_half_fails_instead_of_skipping_under_ci() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_db.py::test_concurrent_schema_creation[postgres]"],
                       cwd=root, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "TEST_DATABASE_URL" in r.stdout, r.stdout
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_db.py::test_concurrent_schema_creation[postgres]"],
                       cwd=root, env={**env, "CI": ""}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "1 skipped" in r.stdout, r.stdout


def test_db_errors_count_database_faults_not_refused_values(settings: Settings) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DataError, DBAPIError

    from app import db
    from app.metrics import DB_ERRORS

    engine = db.make_engine(settings.db_url)
    value = lambda: DB_ERRORS._value.get()  # noqa: E731
    before = value()
    with pytest.raises(DBAPIError), engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert value() == before + 1  # a real database fault counts
    if engine.dialect.name == "postgresql":  # SQLite has no value it refuses this way
        with pytest.raises(DataError), engine.connect() as conn:
            conn.execute(text("SELECT CAST('x' AS integer)"))
        assert value() == before + 1  # a value the database refused does not
    engine.dispose()


def test_a_refused_value_that_slips_through_is_a_422(settings: Settings) -> None:
    from sqlalchemy.exc import DataError

    app = create_app(settings)

    @app.get("/refused")
    def refused() -> None:
        raise DataError("SELECT 1", {}, Exception("value out of range for type integer"))

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/refused")
    assert r.status_code == 422 and r.json() == {"detail": "invalid input"}
