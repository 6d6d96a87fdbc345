"""The app under clients nobody here wrote: edits racing deletes, malformed MCP messages,
readiness with a right revoked, arbitrary HTTP methods, the shapes MCP clients read, and
the small contract points. Every test runs on SQLite and PostgreSQL unless it says so."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from sqlalchemy import delete, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, select

from app import db
from app.application import create_app
from app.models import Conversation, Message, Task
from conftest import LiveServer, auth, make_settings, metric_value, token

BASE = "/api/alice/tasks"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LEAKS = re.compile(r"pydantic|errors\.pydantic\.dev|https?://|server-error|Traceback|validation error for|"
                   r"input_value|sqlalchemy|psycopg", re.I)


def server_errors(metrics: str) -> float:
    """All 5xx answers the app has counted, over every route and method."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(s.value for f in text_string_to_metric_families(metrics) for s in f.samples
               if s.name == "http_requests_total" and s.labels.get("status", "").startswith("5"))


def rpc(name: str, arguments: dict[str, Any], request_id: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}


def mcp_post(url: str, body: bytes | dict[str, Any], sub: str = "alice", **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/mcp", content=content, timeout=30,
                      headers={**MCP_HEADERS, "Authorization": f"Bearer {token(sub)}", **headers})


def tool_result(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert isinstance(result, dict)
    return result


def assert_whole_turns(engine: Any) -> None:
    """Every stored conversation is whole turns: user, assistant, user, assistant..."""
    with Session(engine) as s:
        conversations = {c.id for c in s.exec(select(Conversation)).all()}
        messages = s.exec(select(Message).order_by(Message.id)).all()
    by_conv: dict[int, list[str]] = {}
    for m in messages:
        assert m.conversation_id in conversations, f"message {m.id} without its conversation"
        by_conv.setdefault(m.conversation_id, []).append(m.role)
    for conv, roles in by_conv.items():
        assert roles == ["user", "assistant"] * (len(roles) // 2) and roles, (conv, roles)


# --- edits racing deletes ---------------------------------------------------------------

EDITS = ["rest put", "rest patch", "chat complete", "mcp update", "mcp complete"]


def edit(kind: str, url: str, tid: int) -> tuple[int, str, Any]:
    """One edit of task tid; returns (HTTP status, what it said, the raw answer)."""
    h = auth()
    if kind == "rest put":
        r = httpx.put(f"{url}{BASE}/{tid}", json={"title": "edited"}, headers=h, timeout=30)
        return r.status_code, r.text, r
    if kind == "rest patch":
        r = httpx.patch(f"{url}{BASE}/{tid}/complete", headers=h, timeout=30)
        return r.status_code, r.text, r
    if kind == "chat complete":
        r = httpx.post(f"{url}/api/alice/chat", json={"message": f"complete task {tid}"}, headers=h, timeout=30)
        return r.status_code, r.text, r
    tool = "update_task" if kind == "mcp update" else "complete_task"
    args: dict[str, Any] = {"user_id": "alice", "task_id": tid, **({"title": "edited"} if tool == "update_task" else {})}
    r = mcp_post(url, rpc(tool, args))
    return r.status_code, r.text, r


def edit_outcome(kind: str, status: int, said: str, tid: int) -> str:
    """"done" or "not found"; anything else fails the test."""
    assert status < 500, (kind, status, said)
    if kind.startswith("rest"):
        assert status in (200, 404), (kind, status, said)
        if status == 404:
            assert json.loads(said) == {"detail": "task not found"}
        return "done" if status == 200 else "not found"
    assert status == 200, (kind, status, said)
    body = json.loads(said)
    if kind == "chat complete":
        result = body["tool_calls"][0]["result"]
        if result == {"error": f"task {tid} not found"}:
            return "not found"
        assert result["status"] == "completed", body
        return "done"
    result = body["result"]
    text_ = " ".join(c.get("text", "") for c in result["content"])
    if result.get("isError"):
        assert text_ == f"task {tid} not found", text_
        return "not found"
    return "done"


@pytest.fixture
def vanish(db_url: str) -> Iterator[dict[int, str]]:
    """Task ids mapped to when a concurrent request deletes them: "before write" (between
    the request's read and its UPDATE) or "after commit" (before it answers). Hooked into
    every ORM session of this process, so the exact window is hit on every run."""
    other = db.make_engine(make_settings(db_url).db_url)
    plan: dict[int, str] = {}

    def delete_now(tid: int) -> None:
        with other.begin() as conn:
            conn.execute(delete(Task).where(Task.id == tid))

    def before_flush(session: OrmSession, *_: Any) -> None:
        for obj in list(session.dirty):
            if isinstance(obj, Task) and plan.get(obj.id or 0) == "before write":
                del plan[obj.id or 0]
                delete_now(obj.id or 0)

    def after_commit(session: OrmSession) -> None:
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Task) and plan.get(obj.id or 0) == "after commit":
                del plan[obj.id or 0]
                delete_now(obj.id or 0)

    event.listen(OrmSession, "before_flush", before_flush)
    event.listen(OrmSession, "after_commit", after_commit)
    yield plan
    event.remove(OrmSession, "before_flush", before_flush)
    event.remove(OrmSession, "after_commit", after_commit)
    other.dispose()


@pytest.mark.parametrize("when", ["before write", "after commit"])
@pytest.mark.parametrize("kind", EDITS)
def test_edit_of_a_task_deleted_meanwhile(live: LiveServer, vanish: dict[int, str], kind: str, when: str) -> None:
    before = server_errors(httpx.get(f"{live.url}/metrics").text)
    tid = httpx.post(f"{live.url}{BASE}", json={"title": "doomed"}, headers=auth()).json()["id"]
    vanish[tid] = when
    status, said, _ = edit(kind, live.url, tid)
    assert tid not in vanish, "the delete did not happen inside the request"
    # Deleted before our write: not found. After our commit: the edit happened first, and
    # what was written is the answer (it is not read back).
    assert edit_outcome(kind, status, said, tid) == ("not found" if when == "before write" else "done")
    assert httpx.get(f"{live.url}{BASE}/{tid}", headers=auth()).status_code == 404
    assert server_errors(httpx.get(f"{live.url}/metrics").text) == before
    assert_whole_turns(live.server.config.app.state.engine)


@pytest.mark.parametrize("kind", EDITS)
def test_edits_racing_deletes_for_real(live: LiveServer, kind: str) -> None:
    """No hook: a real edit and a real DELETE of the same task, released together, 12 rounds."""
    before = server_errors(httpx.get(f"{live.url}/metrics").text)
    outcomes: list[str] = []
    for _ in range(12):
        tid = httpx.post(f"{live.url}{BASE}", json={"title": "raced"}, headers=auth()).json()["id"]
        gate = threading.Barrier(2)
        answers: dict[str, tuple[int, str, Any]] = {}

        def run_edit(tid: int = tid, gate: threading.Barrier = gate) -> None:
            gate.wait()
            answers["edit"] = edit(kind, live.url, tid)

        def run_delete(tid: int = tid, gate: threading.Barrier = gate) -> None:
            gate.wait()
            r = httpx.delete(f"{live.url}{BASE}/{tid}", headers=auth(), timeout=30)
            answers["delete"] = (r.status_code, r.text, r)

        threads = [threading.Thread(target=run_edit), threading.Thread(target=run_delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert answers["delete"][0] in (204, 404), answers["delete"][1]
        status, said, _ = answers["edit"]
        outcomes.append(edit_outcome(kind, status, said, tid))
    assert server_errors(httpx.get(f"{live.url}/metrics").text) == before
    assert_whole_turns(live.server.config.app.state.engine)
    print(f"{kind}: {outcomes.count('done')} done, {outcomes.count('not found')} not found")


# --- malformed MCP input ------------------------------------------------------------------

LIST = rpc("list_tasks", {"user_id": "alice"})
CALL_PREFIX = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_tasks","arguments":'

# (case, body, extra headers, HTTP status, JSON-RPC code, id in the answer)
MALFORMED: list[tuple[str, bytes, dict[str, str], int, int, Any]] = [
    ("an integer of 5000 digits", CALL_PREFIX + b'{"user_id":"alice","status":' + b"9" * 5000 + b"}}}",
     {}, 400, -32700, None),
    ("an id of 5000 digits", b'{"jsonrpc":"2.0","method":"ping","id":' + b"7" * 5000 + b"}", {}, 400, -32700, None),
    ("a float beyond double", CALL_PREFIX + b'{"user_id":"alice","status":1e999}}}', {}, 400, -32700, None),
    ("NaN", b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":NaN}}', {}, 400, -32700, None),
    ("a body that is not UTF-8", CALL_PREFIX + b'{"user_id":"al\xffice"}}}', {}, 400, -32700, None),
    ("UTF-16", json.dumps(LIST).encode("utf-16"), {}, 400, -32700, None),
    ("a UTF-8 BOM", b"\xef\xbb\xbf" + json.dumps(LIST).encode(), {}, 400, -32700, None),
    ("arrays 20000 deep", b"[" * 20000 + b"]" * 20000, {}, 400, -32700, None),
    ("objects 900 deep in the arguments", CALL_PREFIX + b'{"x":' * 900 + b"1" + b"}" * 900 + b"}}",
     {}, 400, -32700, None),
    ("not JSON", b"{nope", {}, 400, -32700, None),
    ("an empty body", b"", {}, 400, -32700, None),
    ("a batch", json.dumps([LIST, LIST]).encode(), {}, 400, -32600, None),
    ("a JSON string", b'"tools/list"', {}, 400, -32600, None),
    ("no jsonrpc member", b'{"id":1,"method":"ping"}', {}, 400, -32600, 1),
    ("a method that is a number", b'{"jsonrpc":"2.0","id":"a","method":5}', {}, 400, -32600, "a"),
    ("an id that is an object", b'{"jsonrpc":"2.0","id":{},"method":"ping"}', {}, 400, -32600, None),
    ("an unknown method", b'{"jsonrpc":"2.0","id":3,"method":"tasks/explode"}', {}, 200, -32601, 3),
    ("an HTTP-style method", b'{"jsonrpc":"2.0","id":4,"method":"DELETE"}', {}, 200, -32601, 4),
    ("tools/call without a name", b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{}}',
     {}, 200, -32602, 5),
    ("an unsupported protocol version", json.dumps(LIST).encode(), {"mcp-protocol-version": "1999-01-01"},
     400, -32600, None),
    ("Accept: text/html", json.dumps(LIST).encode(), {"Accept": "text/html"}, 406, -32600, None),
    ("Accept with q=0", json.dumps(LIST).encode(), {"Accept": "application/json;q=0"}, 406, -32600, None),
    ("Content-Type: text/plain", json.dumps(LIST).encode(), {"Content-Type": "text/plain"}, 415, -32600, None),
]


def test_malformed_mcp_messages(live: LiveServer) -> None:
    metrics = httpx.get(f"{live.url}/metrics").text
    before = (server_errors(metrics), metric_value(metrics, "db_errors_total"))
    got: list[tuple[str, int, int, Any]] = []
    for case, body, headers, _, _, _ in MALFORMED:
        r = mcp_post(live.url, body, **headers)
        assert not LEAKS.search(r.text), (case, r.text)
        assert r.headers.get("content-type", "").startswith("application/json"), (case, r.status_code, r.text)
        answer = r.json()
        assert answer["jsonrpc"] == "2.0" and set(answer) == {"jsonrpc", "id", "error"}, (case, answer)
        got.append((case, r.status_code, answer["error"]["code"], answer["id"]))
    assert got == [(case, status, code, rid) for case, _, _, status, code, rid in MALFORMED]
    metrics = httpx.get(f"{live.url}/metrics").text
    assert (server_errors(metrics), metric_value(metrics, "db_errors_total")) == before
    # Counted as what they are: client errors on /mcp.
    assert metric_value(metrics, "http_requests_total", {"method": "POST", "route": "/mcp", "status": "400"}) >= 16
    # And the endpoint still serves a well-formed call after all of them.
    assert tool_result(mcp_post(live.url, LIST))["structuredContent"] == {"tasks": []}


@pytest.mark.parametrize("accept", ["*/*", "application/*", "application/json", None])
def test_mcp_accepts_any_accept_that_admits_json(live: LiveServer, accept: str | None) -> None:
    headers = {"Authorization": f"Bearer {token('alice')}", "Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    r = httpx.post(f"{live.url}/mcp", content=json.dumps(LIST), headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["result"]["structuredContent"] == {"tasks": []}


def test_rest_answers_unparseable_bodies_like_invalid_ones(client: TestClient) -> None:
    h = {**auth(), "Content-Type": "application/json"}
    tid = client.post(BASE, json={"title": "a"}, headers=auth()).json()["id"]
    bodies = [b'{"title": "\xff"}', b'{"title": "a", "n": ' + b"9" * 5000 + b"}", b"[" * 20000 + b"]" * 20000, b"{nope"]
    for body in bodies:
        r = client.post(BASE, content=body, headers=h)
        assert r.status_code == 422, (body[:40], r.status_code, r.text)
        assert r.json() == {"detail": [{"loc": ["body"] + r.json()["detail"][0]["loc"][1:], "msg": "invalid JSON"}]}
    r = client.put(f"{BASE}/{tid}", json={"title": None}, headers=auth())
    assert r.status_code == 422 and r.json() == {"detail": [{"loc": ["body", "title"], "msg": "must not be null"}]}
    r = client.put(f"{BASE}/{tid}", json={"completed": None}, headers=auth())
    assert r.status_code == 422 and r.json() == {"detail": [{"loc": ["body", "completed"], "msg": "must not be null"}]}
    assert client.put(f"{BASE}/{tid}", json={"description": None}, headers=auth()).status_code == 200  # clears it


def test_lone_surrogates_are_refused_everywhere(client: TestClient, live: LiveServer) -> None:
    lone = "a\ud800b"
    for body in ({"title": lone}, {"title": "a", "description": lone}):
        r = client.post(BASE, content=json.dumps(body), headers={**auth(), "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
    r = client.post("/api/alice/chat", content=json.dumps({"message": f"add {lone}"}),
                    headers={**auth(), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text

    metrics = httpx.get(f"{live.url}/metrics").text
    before = (metric_value(metrics, "db_errors_total"),
              metric_value(metrics, "mcp_tool_calls_total", {"tool": "add_task", "result": "failure"}))
    tid = tool_result(mcp_post(live.url, rpc("add_task", {"user_id": "alice", "title": "ok"})))[
        "structuredContent"]["task_id"]
    for name, args, field in (("add_task", {"title": lone}, "title"),
                              ("add_task", {"title": "x", "description": lone}, "description"),
                              ("update_task", {"task_id": tid, "title": lone}, "title")):
        result = tool_result(mcp_post(live.url, rpc(name, {"user_id": "alice", **args})))
        assert result["isError"], result
        assert result["content"][0]["text"] == f"{field} must be valid Unicode text (no lone surrogates)"
    metrics = httpx.get(f"{live.url}/metrics").text
    assert (metric_value(metrics, "db_errors_total"),
            metric_value(metrics, "mcp_tool_calls_total", {"tool": "add_task", "result": "failure"})) == before
    listed = tool_result(mcp_post(live.url, LIST))["structuredContent"]["tasks"]
    assert [t["title"] for t in listed] == ["ok"]


# --- list_tasks as MCP clients read it ----------------------------------------------------


def test_list_tasks_is_one_text_block_and_a_documented_object(live: LiveServer) -> None:
    async def go() -> Any:
        async with streamablehttp_client(f"{live.url}/mcp", headers=auth()) as (r, w, _):
            async with ClientSession(r, w) as s:
                await s.initialize()
                tools = {t.name: t for t in (await s.list_tools()).tools}
                empty = await s.call_tool("list_tasks", {"user_id": "alice"})
                for title in ("buy milk", "call mom"):
                    await s.call_tool("add_task", {"user_id": "alice", "title": title})
                full = await s.call_tool("list_tasks", {"user_id": "alice"})
                pending = await s.call_tool("list_tasks", {"user_id": "alice", "status": "completed"})
                return tools["list_tasks"], empty, full, pending

    tool, empty, full, pending = anyio.run(go)
    want = [{"id": 1, "title": "buy milk", "completed": False}, {"id": 2, "title": "call mom", "completed": False}]
    for result, tasks in ((empty, []), (full, want), (pending, [])):
        assert not result.isError
        assert len(result.content) == 1 and result.content[0].type == "text"
        assert json.loads(result.content[0].text) == tasks  # content[0] holds the whole list
        assert result.structuredContent == {"tasks": tasks}
    schema = tool.outputSchema
    assert schema is not None and schema["required"] == ["tasks"] and schema["properties"]["tasks"]["type"] == "array"
    assert "tasks" in (tool.description or "")


# --- JWT, HEAD --------------------------------------------------------------------------


def test_exp_must_be_a_number(client: TestClient, live: LiveServer) -> None:
    import time as _time

    import jwt as pyjwt

    from conftest import SECRET

    exp = int(_time.time()) + 600
    for claims in ({"exp": str(exp)}, {"exp": exp, "iat": str(exp - 600)}, {"exp": exp, "nbf": "0"},
                   {"exp": True}):
        bad = pyjwt.encode({"sub": "alice", **claims}, SECRET, algorithm="HS256")
        assert client.get(BASE, headers={"Authorization": f"Bearer {bad}"}).status_code == 401, claims
        r = httpx.post(f"{live.url}/mcp", content=json.dumps(LIST), timeout=30,
                       headers={**MCP_HEADERS, "Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, claims
    fine = pyjwt.encode({"sub": "alice", "exp": exp + 0.5, "iat": exp - 600}, SECRET, algorithm="HS256")
    assert client.get(BASE, headers={"Authorization": f"Bearer {fine}"}).status_code == 200


def test_head_on_health_routes(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        r = client.head(path)
        assert r.status_code == 200 and r.content == b"", (path, r.status_code)


# --- metrics labels -----------------------------------------------------------------------


def test_method_label_is_a_fixed_set(live: LiveServer) -> None:
    methods = ["FOO", "TRACE", "CONNECT", "PROPFIND", "get", "X" * 40] + [f"M{uuid.uuid4().hex[:8].upper()}" for _ in range(20)]
    for method in methods:
        for path in ("/healthz", BASE, "/mcp", "/nowhere"):
            r = httpx.request(method, f"{live.url}{path}", headers=auth(), timeout=10)
            assert r.status_code < 500, (method, path, r.status_code)
    from prometheus_client.parser import text_string_to_metric_families

    seen = {s.labels["method"] for f in text_string_to_metric_families(httpx.get(f"{live.url}/metrics").text)
            for s in f.samples if s.name.startswith(("http_requests_total", "http_request_duration_seconds"))}
    allowed = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert seen <= allowed, seen - allowed
    assert "other" in seen


# --- readiness and database rights (PostgreSQL) ------------------------------------------

# Every right the app uses (nothing deletes conversations or messages), and each table's id sequence.
APP_RIGHTS = {"task": ("SELECT", "INSERT", "UPDATE", "DELETE"), "conversation": ("SELECT", "INSERT", "UPDATE"),
              "message": ("SELECT", "INSERT")}
RIGHTS = [(table, right) for table, rights in APP_RIGHTS.items() for right in rights]


@pytest.fixture
def limited_role(db_url: str) -> Iterator[tuple[str, Callable[[str], None]]]:
    """A login role with exactly the app's rights; yields (its URL, run SQL as the owner)."""
    if not db_url.startswith("postgres"):
        pytest.skip("rights are a PostgreSQL matter")
    owner = db.make_engine(make_settings(db_url).db_url)
    SQLModel.metadata.create_all(owner)
    role = f"todo_app_{uuid.uuid4().hex[:8]}"

    def sql(statement: str) -> None:
        with owner.begin() as conn:
            conn.execute(text(statement))

    sql(f"CREATE ROLE {role} LOGIN")
    for table, rights in APP_RIGHTS.items():
        sql(f"GRANT {', '.join(rights)} ON {table} TO {role}")
        sql(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {role}")
    url = make_url(db_url).set(username=role, password=None).render_as_string(hide_password=False)
    yield url, sql
    sql(f"DROP OWNED BY {role}")
    sql(f"DROP ROLE {role}")
    owner.dispose()


@pytest.mark.parametrize(("table", "right"), [*RIGHTS, *[(t, "USAGE") for t in APP_RIGHTS]])
def test_readyz_checks_each_right(limited_role: tuple[str, Callable[[str], None]], table: str, right: str) -> None:
    url, sql = limited_role
    what = f"SEQUENCE {table}_id_seq" if right == "USAGE" else table
    app = create_app(make_settings(url))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/readyz").json() == {"status": "ready"}  # every right the app uses, no more
        sql(f"REVOKE {right} ON {what} FROM {make_url(url).username}")
        r = c.get("/readyz")
        name = f"public.{table}_id_seq" if right == "USAGE" else table
        assert r.status_code == 503, r.text
        assert r.json() == {"status": "unavailable", "detail": f"database rights missing: {right} on {name}"}
        sql(f"GRANT {right} ON {what} TO {make_url(url).username}")
        assert c.get("/readyz").status_code == 200
