"""The LLM path: a fake OpenAI-compatible server on 127.0.0.1 drives the real Agents SDK
against the app's own MCP endpoint; and an unreachable LLM falls back to the parser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.application import create_app
from conftest import LiveServer, auth, free_port, make_settings, metric_value


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class FakeLLM:
    """Chat Completions server: asks for add_task once, then answers with the tool result.

    With fail_after_tool=True the second call returns 500 (LLM dies mid-run)."""

    def __init__(self, fail_after_tool: bool = False, tool: str = "add_task",
                 arguments: dict[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_after_tool = fail_after_tool
        self.tool = tool
        self.arguments = {"title": "from llm"} if arguments is None else arguments

    async def completions(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        messages = body["messages"]
        if messages[-1]["role"] == "tool":
            if self.fail_after_tool:
                return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, 500)
            return JSONResponse(_completion({"content": "LLM says: " + str(messages[-1]["content"])}, "stop"))
        user_id = re.search(r'user\'s id is "([^"]+)"', messages[0]["content"]).group(1)  # type: ignore[union-attr]
        call = {"id": "call_1", "type": "function",
                "function": {"name": self.tool, "arguments": json.dumps({"user_id": user_id, **self.arguments})}}
        return JSONResponse(_completion({"content": None, "tool_calls": [call]}, "tool_calls"))

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self.completions, methods=["POST"]),
            Route("/healthz", lambda r: JSONResponse({})),
        ])


def test_agent_uses_mcp_tools_and_history(serve: Callable[..., LiveServer], db_url: str) -> None:
    fake = FakeLLM()
    llm = serve(lambda port: fake.app())
    live = serve(lambda port: create_app(make_settings(
        db_url, port=port, openai_api_key="sk-test", openai_base_url=f"{llm.url}/v1", openai_model="fake-model")))

    r = httpx.post(f"{live.url}/api/alice/chat", json={"message": "please note something"}, headers=auth(), timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["response"].startswith("LLM says: ")
    assert out["tool_calls"] == [{
        "tool": "add_task",
        "arguments": {"user_id": "alice", "title": "from llm"},
        "result": {"task_id": 1, "status": "created", "title": "from llm"},
    }]
    tasks = httpx.get(f"{live.url}/api/alice/tasks", headers=auth()).json()
    assert [t["title"] for t in tasks] == ["from llm"]
    assert fake.requests[0]["model"] == "fake-model"
    assert {t["function"]["name"] for t in fake.requests[0]["tools"]} == {
        "add_task", "list_tasks", "complete_task", "delete_task", "update_task"}

    # Second turn: the stored history (user + assistant) is sent back to the model.
    r = httpx.post(f"{live.url}/api/alice/chat", json={"conversation_id": out["conversation_id"],
                                                       "message": "and again"}, headers=auth(), timeout=60)
    assert r.status_code == 200
    sent = [(m["role"], m.get("content")) for m in fake.requests[2]["messages"][1:4]]
    assert sent == [("user", "please note something"), ("assistant", out["response"]), ("user", "and again")]


def test_llm_failure_falls_back_to_parser(
    serve: Callable[..., LiveServer], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    dead = free_port()  # nothing listens here: connection refused
    live = serve(lambda port: create_app(make_settings(
        db_url, port=port, openai_api_key="sk-test", openai_base_url=f"http://127.0.0.1:{dead}/v1")))
    before = metric_value(httpx.get(f"{live.url}/metrics").text, "llm_fallbacks_total")

    r = httpx.post(f"{live.url}/api/alice/chat", json={"message": "add buy milk"}, headers=auth(), timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["response"] == "Added task 1: buy milk."
    assert r.json()["tool_calls"][0]["tool"] == "add_task"
    after = metric_value(httpx.get(f"{live.url}/metrics").text, "llm_fallbacks_total")
    assert after == before + 1
    assert any(rec.getMessage() == "llm call failed, using built-in parser" for rec in caplog.records)


def test_llm_failure_after_a_tool_ran_does_not_repeat_it(serve: Callable[..., LiveServer], db_url: str) -> None:
    fake = FakeLLM(fail_after_tool=True)
    llm = serve(lambda port: fake.app())
    live = serve(lambda port: create_app(make_settings(
        db_url, port=port, openai_api_key="sk-test", openai_base_url=f"{llm.url}/v1")))

    r = httpx.post(f"{live.url}/api/alice/chat", json={"message": "add buy milk"}, headers=auth(), timeout=60)
    assert r.status_code == 200, r.text
    assert [c["tool"] for c in r.json()["tool_calls"]] == ["add_task"]
    assert r.json()["response"].startswith("I did this before losing the assistant: add_task(")
    # The agent's add_task ran once; the parser did not add "buy milk" on top.
    titles = [t["title"] for t in httpx.get(f"{live.url}/api/alice/tasks", headers=auth()).json()]
    assert titles == ["from llm"]


@pytest.mark.parametrize("titles", [[], ["buy milk", "call mom"]])
def test_llm_list_tasks_records_the_list(serve: Callable[..., LiveServer], db_url: str, titles: list[str]) -> None:
    # list_tasks answers {"tasks": [...]} as structured content; chat records the list
    # itself, as the parser does, empty or not.
    fake = FakeLLM(tool="list_tasks", arguments={})
    llm = serve(lambda port: fake.app())
    live = serve(lambda port: create_app(make_settings(
        db_url, port=port, openai_api_key="sk-test", openai_base_url=f"{llm.url}/v1")))
    for title in titles:
        assert httpx.post(f"{live.url}/api/alice/tasks", json={"title": title}, headers=auth()).status_code == 201
    want = [{"id": i + 1, "title": t, "completed": False} for i, t in enumerate(titles)]

    r = httpx.post(f"{live.url}/api/alice/chat", json={"message": "what do I have?"}, headers=auth(), timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["tool_calls"] == [{"tool": "list_tasks", "arguments": {"user_id": "alice"}, "result": want}]
    assert json.loads(fake.requests[1]["messages"][-1]["content"]) == {"tasks": want}  # what the model read
