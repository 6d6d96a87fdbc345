"""Chat without an LLM key: the deterministic parser driving the shared tool layer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.agent import HELP, parse_intent
from app.application import create_app
from app.models import Message
from conftest import auth, make_settings

CHAT = "/api/alice/chat"


@pytest.mark.parametrize(
    ("message", "tool", "arguments"),
    [
        ("add buy milk", "add_task", {"title": "buy milk"}),
        ("Add Buy Milk.", "add_task", {"title": "Buy Milk"}),
        ("add call mom: about the trip", "add_task", {"title": "call mom", "description": "about the trip"}),
        ("add task: water plants", "add_task", {"title": "water plants"}),
        ("remind me to pay rent", "add_task", {"title": "pay rent"}),
        ("what's pending?", "list_tasks", {"status": "pending"}),
        ("What’s pending", "list_tasks", {"status": "pending"}),
        ("show pending tasks", "list_tasks", {"status": "pending"}),
        ("show completed", "list_tasks", {"status": "completed"}),
        ("what have I done?", "list_tasks", {"status": "completed"}),
        ("list tasks", "list_tasks", {"status": "all"}),
        ("show my tasks", "list_tasks", {"status": "all"}),
        ("mark 3 done", "complete_task", {"task_id": 3}),
        ("mark task 3 as done", "complete_task", {"task_id": 3}),
        ("complete 3", "complete_task", {"task_id": 3}),
        ("delete task 2", "delete_task", {"task_id": 2}),
        ("remove #2", "delete_task", {"task_id": 2}),
        ("rename 1 to buy oat milk", "update_task", {"task_id": 1, "title": "buy oat milk"}),
    ],
)
def test_parse_intent(message: str, tool: str, arguments: dict[str, Any]) -> None:
    intent = parse_intent(message)
    assert intent is not None, message
    assert (intent.tool, intent.arguments) == (tool, arguments)


@pytest.mark.parametrize("message", ["hello", "what's the weather?", "add", "add :", "rename 1 to", "mark done", "42"])
def test_parse_intent_unknown(message: str) -> None:
    assert parse_intent(message) is None


def say(client: TestClient, message: str, conversation_id: int | None = None, user: str = "alice") -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    r = client.post(f"/api/{user}/chat", json=body, headers=auth(user))
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == {"conversation_id", "response", "tool_calls"}
    return out


def test_chat_intents_end_to_end(client: TestClient) -> None:
    r = say(client, "add buy milk")
    conv = r["conversation_id"]
    assert r["response"] == "Added task 1: buy milk."
    assert r["tool_calls"] == [{
        "tool": "add_task",
        "arguments": {"user_id": "alice", "title": "buy milk"},
        "result": {"task_id": 1, "status": "created", "title": "buy milk"},
    }]
    r = say(client, "add call mom: about the trip", conv)
    assert r["tool_calls"][0]["result"] == {"task_id": 2, "status": "created", "title": "call mom"}
    task = client.get("/api/alice/tasks/2", headers=auth("alice")).json()
    assert task["description"] == "about the trip"

    r = say(client, "mark 1 done", conv)
    assert r["response"] == "Marked task 1 as done: buy milk."
    assert r["tool_calls"][0]["result"] == {"task_id": 1, "status": "completed", "title": "buy milk"}

    r = say(client, "what's pending?", conv)
    assert r["response"] == "Your pending tasks:\n2. [ ] call mom"
    assert r["tool_calls"][0]["result"] == [{"id": 2, "title": "call mom", "completed": False}]
    assert say(client, "show completed", conv)["response"] == "Your completed tasks:\n1. [x] buy milk"
    assert say(client, "list tasks", conv)["response"] == "Your tasks:\n1. [x] buy milk\n2. [ ] call mom"

    r = say(client, "rename 2 to call mum", conv)
    assert r["tool_calls"][0]["result"] == {"task_id": 2, "status": "updated", "title": "call mum"}
    r = say(client, "delete task 1", conv)
    assert r["tool_calls"][0]["result"] == {"task_id": 1, "status": "deleted", "title": "buy milk"}
    assert say(client, "show my tasks", conv)["response"] == "Your tasks:\n2. [ ] call mum"

    r = say(client, "delete task 99", conv)
    assert r["response"] == "Sorry, I couldn't do that: task 99 not found."
    assert r["tool_calls"][0]["result"] == {"error": "task 99 not found"}

    r = say(client, "sing me a song", conv)
    assert r["response"] == HELP and r["tool_calls"] == []
    assert say(client, "show completed", conv)["response"] == "You have no completed tasks."


def test_history_is_persisted_per_conversation(client: TestClient) -> None:
    first = say(client, "add buy milk")
    conv = first["conversation_id"]
    assert say(client, "list tasks", conv)["conversation_id"] == conv
    other = say(client, "what's pending?")
    assert other["conversation_id"] != conv

    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as s:
        rows = s.exec(select(Message).where(Message.conversation_id == conv).order_by(col(Message.id))).all()
    assert [(m.role, m.user_id) for m in rows] == [("user", "alice"), ("assistant", "alice")] * 2
    assert [m.content for m in rows][:2] == ["add buy milk", "Added task 1: buy milk."]

    assert client.post(CHAT, json={"conversation_id": 9999, "message": "hi"}, headers=auth()).status_code == 404
    assert client.post(CHAT, json={"message": ""}, headers=auth()).status_code == 422
    assert client.post(CHAT, json={}, headers=auth()).status_code == 422


SCRIPT = ["add buy milk", "add call mom: about the trip", "what's pending?", "mark 1 done",
          "show completed", "rename 2 to call mum", "delete task 1", "list tasks", "hello"]


def run_script(db_url: str) -> list[dict[str, Any]]:
    with TestClient(create_app(make_settings(db_url))) as c:
        conv = None
        out = []
        for msg in SCRIPT:
            r = say(c, msg, conv)
            conv = r["conversation_id"]
            out.append(r)
        return out


def test_no_key_path_is_deterministic(tmp_path: Any) -> None:
    a = run_script(f"sqlite:///{tmp_path / 'a.db'}")
    b = run_script(f"sqlite:///{tmp_path / 'b.db'}")
    assert a == b
    assert len({r["conversation_id"] for r in a}) == 1
