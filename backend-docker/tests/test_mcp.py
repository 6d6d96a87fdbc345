"""The MCP tools through the official MCP client against the app served by uvicorn."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.types import CallToolResult

from conftest import LiveServer, auth, metric_value, token

TOOLS = {"add_task", "list_tasks", "complete_task", "delete_task", "update_task"}


async def _session_call(url: str, sub: str, calls: list[tuple[str, dict[str, Any]]]) -> list[CallToolResult]:
    headers = {"Authorization": f"Bearer {token(sub)}"}
    async with streamablehttp_client(f"{url}/mcp", headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return [await session.call_tool(name, args) for name, args in calls]


def call(live: LiveServer, sub: str, *calls: tuple[str, dict[str, Any]]) -> list[CallToolResult]:
    return anyio.run(_session_call, live.url, sub, list(calls))


def ok(result: CallToolResult) -> Any:
    assert not result.isError, result.content
    data = result.structuredContent
    assert data is not None
    return data["tasks"] if set(data) == {"tasks"} else data  # list_tasks: {"tasks": [...]}


def error_text(result: CallToolResult) -> str:
    assert result.isError
    return " ".join(getattr(c, "text", "") for c in result.content)


def test_lists_exactly_the_contract_tools(live: LiveServer) -> None:
    async def go() -> Any:
        async with streamablehttp_client(f"{live.url}/mcp", headers=auth("alice")) as (r, w, _):
            async with ClientSession(r, w) as s:
                await s.initialize()
                return (await s.list_tools()).tools

    tools = {t.name: t for t in anyio.run(go)}
    assert set(tools) == TOOLS
    params = {name: set(t.inputSchema["properties"]) for name, t in tools.items()}
    assert params == {
        "add_task": {"user_id", "title", "description"},
        "list_tasks": {"user_id", "status"},
        "complete_task": {"user_id", "task_id"},
        "delete_task": {"user_id", "task_id"},
        "update_task": {"user_id", "task_id", "title", "description"},
    }
    assert set(tools["add_task"].inputSchema["required"]) == {"user_id", "title"}
    assert set(tools["update_task"].inputSchema["required"]) == {"user_id", "task_id"}


def test_each_tool(live: LiveServer) -> None:
    u = {"user_id": "alice"}
    added, second, listed = call(
        live, "alice",
        ("add_task", {**u, "title": "buy milk"}),
        ("add_task", {**u, "title": "call mom", "description": "about the trip"}),
        ("list_tasks", u),
    )
    assert ok(added) == {"task_id": 1, "status": "created", "title": "buy milk"}
    assert ok(second) == {"task_id": 2, "status": "created", "title": "call mom"}
    assert ok(listed) == [{"id": 1, "title": "buy milk", "completed": False},
                          {"id": 2, "title": "call mom", "completed": False}]

    done, pending, completed, updated, deleted, after = call(
        live, "alice",
        ("complete_task", {**u, "task_id": 1}),
        ("list_tasks", {**u, "status": "pending"}),
        ("list_tasks", {**u, "status": "completed"}),
        ("update_task", {**u, "task_id": 2, "title": "call mum", "description": "Sunday"}),
        ("delete_task", {**u, "task_id": 1}),
        ("list_tasks", {**u, "status": "all"}),
    )
    assert ok(done) == {"task_id": 1, "status": "completed", "title": "buy milk"}
    assert ok(pending) == [{"id": 2, "title": "call mom", "completed": False}]
    assert ok(completed) == [{"id": 1, "title": "buy milk", "completed": True}]
    assert ok(updated) == {"task_id": 2, "status": "updated", "title": "call mum"}
    assert ok(deleted) == {"task_id": 1, "status": "deleted", "title": "buy milk"}
    assert ok(after) == [{"id": 2, "title": "call mum", "completed": False}]

    task = httpx.get(f"{live.url}/api/alice/tasks/2", headers=auth("alice")).json()
    assert task["description"] == "Sunday"  # MCP and REST share one database

    missing, bad_status, empty_title, nothing = call(
        live, "alice",
        ("complete_task", {**u, "task_id": 99}),
        ("list_tasks", {**u, "status": "someday"}),
        ("add_task", {**u, "title": "  "}),
        ("update_task", {**u, "task_id": 2}),
    )
    assert "task 99 not found" in error_text(missing)
    assert error_text(bad_status) == "invalid arguments: status"
    assert "title must not be empty" in error_text(empty_title)
    assert "nothing to update" in error_text(nothing)


def test_mcp_requires_a_valid_token(live: LiveServer) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer nope"},
                    {"Authorization": f"Bearer {token('alice', exp_in=-60)}"}):
        r = httpx.post(f"{live.url}/mcp", json=body, headers={**accept, **headers})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"


def test_no_cross_user_access_through_mcp(live: LiveServer) -> None:
    (alice_task,) = call(live, "alice", ("add_task", {"user_id": "alice", "title": "alice's"}))
    tid = ok(alice_task)["task_id"]
    before = metric_value(httpx.get(f"{live.url}/metrics").text, "mcp_tool_calls_total",
                          {"tool": "list_tasks", "result": "denied"})

    # mallory's token naming alice as user_id: every tool refuses
    results = call(
        live, "mallory",
        ("list_tasks", {"user_id": "alice"}),
        ("add_task", {"user_id": "alice", "title": "spam"}),
        ("complete_task", {"user_id": "alice", "task_id": tid}),
        ("update_task", {"user_id": "alice", "task_id": tid, "title": "pwned"}),
        ("delete_task", {"user_id": "alice", "task_id": tid}),
    )
    for r in results:
        assert "forbidden" in error_text(r)
    # mallory's own user_id with alice's task id: not found
    results = call(
        live, "mallory",
        ("complete_task", {"user_id": "mallory", "task_id": tid}),
        ("delete_task", {"user_id": "mallory", "task_id": tid}),
        ("update_task", {"user_id": "mallory", "task_id": tid, "title": "pwned"}),
        ("list_tasks", {"user_id": "mallory"}),
    )
    for r in results[:3]:
        assert "not found" in error_text(r)
    assert ok(results[3]) == []

    (listed,) = call(live, "alice", ("list_tasks", {"user_id": "alice"}))
    assert ok(listed) == [{"id": tid, "title": "alice's", "completed": False}]
    after = metric_value(httpx.get(f"{live.url}/metrics").text, "mcp_tool_calls_total",
                         {"tool": "list_tasks", "result": "denied"})
    assert after == before + 1
