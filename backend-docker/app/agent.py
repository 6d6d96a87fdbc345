"""Chat brains: an OpenAI Agents SDK agent using the MCP tools, or a deterministic parser.

Both paths end in the same tool layer (`app.tools`): the agent through the MCP
endpoint, the parser by calling the functions directly. Without OPENAI_API_KEY, or
when the LLM call fails, the parser answers, so chat never depends on the network.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from . import tools
from .db import open_session
from .settings import Settings

log = logging.getLogger(__name__)

HELP = (
    "I can manage your todo list. Try:\n"
    '- "add buy milk" (or "add call mom: about the trip" to include a description)\n'
    '- "list tasks", "what\'s pending?" or "show completed"\n'
    '- "mark 3 done" or "complete 3"\n'
    '- "delete task 2"\n'
    '- "rename 1 to buy oat milk"'
)


@dataclass
class Reply:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


# --- deterministic parser ----------------------------------------------------------

_ID = r"(?:task\s+)?(?:number\s+|no\.?\s*)?#?(\d+)"
_COMPLETE = re.compile(
    rf"^(?:please\s+)?(?:mark|complete|finish|check(?:\s+off)?|tick(?:\s+off)?|done(?:\s+with)?)\s+{_ID}"
    r"(?:\s+(?:as\s+)?(?:done|complete|completed|finished))?$",
    re.I,
)
_DELETE = re.compile(rf"^(?:please\s+)?(?:delete|remove|drop|cancel|erase)\s+{_ID}$", re.I)
_RENAME = re.compile(
    rf"^(?:please\s+)?(?:rename|retitle|change|update)\s+{_ID}\s+(?:title\s+)?to\s*:?\s+(.+)$",
    re.I | re.S,
)
_ADD = re.compile(
    r"^(?:please\s+)?(?:add|create|new|remind\s+me\s+to|remember\s+to)"
    r"(?:\s+(?:a\s+)?(?:new\s+)?(?:task|todo|to-do))?\s*(?::\s*|\s+)(.+)$",
    re.I | re.S,
)
_LIST_START = re.compile(
    r"^(?:what(?:'s|\s+is|\s+are|\s+do|\s+have|\s+did)?|which|list|show|view|display|see|get|my|all|tasks?|todos?)\b",
    re.I,
)
_PENDING = re.compile(r"\b(?:pending|open|remaining|incomplete|unfinished|left|to\s*-?do|outstanding)\b", re.I)
_COMPLETED = re.compile(r"\b(?:completed?|done|finished)\b", re.I)
_ALL = re.compile(r"\b(?:tasks?|todos?|list|everything|all)\b", re.I)


@dataclass
class Intent:
    tool: str
    arguments: dict[str, Any]


def parse_intent(message: str) -> Intent | None:
    """Map a chat message to one tool call, or None when it is not understood."""
    text = message.strip()
    bare = text.rstrip("?!. ").strip()
    if m := _COMPLETE.match(bare):
        return Intent("complete_task", {"task_id": int(m.group(1))})
    if m := _DELETE.match(bare):
        return Intent("delete_task", {"task_id": int(m.group(1))})
    if m := _RENAME.match(text):
        title = m.group(2).strip().rstrip(".").strip()
        return Intent("update_task", {"task_id": int(m.group(1)), "title": title}) if title else None
    if m := _ADD.match(text):
        title, sep, description = m.group(1).partition(":")
        title = title.strip().rstrip(".").strip()
        if not title:
            return None
        args: dict[str, Any] = {"title": title}
        if sep and description.strip():
            args["description"] = description.strip()
        return Intent("add_task", args)
    if _LIST_START.match(bare):
        # "pending" beats "completed" so "what's not completed" style phrasing lists open work.
        if _PENDING.search(bare) or re.search(r"\bnot\s+(?:yet\s+)?(?:done|completed?)\b", bare, re.I):
            return Intent("list_tasks", {"status": "pending"})
        if _COMPLETED.search(bare):
            return Intent("list_tasks", {"status": "completed"})
        if _ALL.search(bare):
            return Intent("list_tasks", {"status": "all"})
    return None


def _describe(intent: Intent, result: Any) -> str:
    if intent.tool == "list_tasks":
        status = intent.arguments["status"]
        label = "" if status == "all" else f"{status} "
        if not result:
            return f"You have no {label}tasks."
        lines = [f"{t['id']}. [{'x' if t['completed'] else ' '}] {t['title']}" for t in result]
        return f"Your {label}tasks:\n" + "\n".join(lines)
    verbs = {
        "add_task": "Added task {task_id}: {title}",
        "complete_task": "Marked task {task_id} as done: {title}",
        "delete_task": "Deleted task {task_id}: {title}",
        "update_task": "Updated task {task_id}: {title}",
    }
    return verbs[intent.tool].format(**result) + "."


def run_parser(engine: Engine, user_id: str, message: str) -> Reply:
    """Deterministic path: same input and same data give the same reply and tool calls."""
    intent = parse_intent(message)
    if intent is None:
        return Reply(HELP)
    fn = tools.TOOLS[intent.tool]
    arguments: dict[str, Any] = {"user_id": user_id, **intent.arguments}
    try:
        with open_session(engine) as session:
            result: Any = fn(session, user_id, **intent.arguments)
    except tools.ToolError as exc:
        error = {"tool": intent.tool, "arguments": arguments, "result": {"error": str(exc)}}
        return Reply(f"Sorry, I couldn't do that: {exc}.", [error])
    record = {"tool": intent.tool, "arguments": arguments, "result": result}
    return Reply(_describe(intent, result), [record])


# --- LLM agent ---------------------------------------------------------------------


def _instructions(user_id: str) -> str:
    return (
        "You are a friendly assistant that manages the user's todo list using the tools. "
        f"The current user's id is {json.dumps(user_id)}: pass exactly this as user_id to every "
        "tool call. Use list_tasks to find a task's id when the user names it by title. "
        "Confirm what you did briefly; never invent task ids or results."
    )


def _tool_output(tool: str, raw: object) -> Any:
    """Tool output as JSON the API can return (the tool's result, or {"error": text}).

    The same shapes as the parser's tool calls: list_tasks' structured content is
    {"tasks": [...]} (MCP wants an object there) and is recorded as the list itself.
    """
    if isinstance(raw, dict) and raw.get("type") == "text":
        raw = raw.get("text", "")
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {"error": raw}
        if tool == "list_tasks" and isinstance(value, dict) and set(value) == {"tasks"}:
            return value["tasks"]
        return value
    return raw


async def run_llm(
    settings: Settings,
    user_id: str,
    bearer_token: str,
    history: list[dict[str, str]],
    message: str,
    request_id: str | None,
) -> Reply:
    # Imported lazily: the SDK is only needed when a key is configured.
    from agents import Agent, OpenAIChatCompletionsModel, RunConfig, RunHooks, Runner
    from agents.mcp import MCPServerStreamableHttp
    from openai import AsyncOpenAI

    calls: list[dict[str, Any]] = []

    class Recorder(RunHooks[Any]):
        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: object) -> None:
            try:
                arguments = json.loads(getattr(context, "tool_arguments", "") or "{}")
            except ValueError:
                arguments = {}
            calls.append({"tool": tool.name, "arguments": arguments, "result": _tool_output(tool.name, result)})

    headers = {"Authorization": f"Bearer {bearer_token}"}
    if request_id:
        headers["X-Request-ID"] = request_id
    client = AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout,
        max_retries=1,
    )
    try:
        async with MCPServerStreamableHttp(
            params={"url": settings.mcp_url, "headers": headers, "timeout": 10},
            name="todo",
            client_session_timeout_seconds=30,
            use_structured_content=True,
        ) as server:
            agent = Agent(
                name="Todo assistant",
                instructions=_instructions(user_id),
                # Chat Completions is what every OpenAI-compatible server speaks.
                model=OpenAIChatCompletionsModel(model=settings.openai_model, openai_client=client),
                mcp_servers=[server],
            )
            result = await Runner.run(
                agent,
                input=[*history, {"role": "user", "content": message}],  # type: ignore[list-item]
                max_turns=8,
                hooks=Recorder(),
                # Traces would be exported to OpenAI: user data stays here.
                run_config=RunConfig(tracing_disabled=True),
            )
        return Reply(str(result.final_output or "").strip() or "Done.", calls)
    except Exception as exc:
        if calls:
            # Tools already changed data: replaying the message through the parser
            # could do it twice, so report what happened instead.
            done = "; ".join(f"{c['tool']}({c['arguments']})" for c in calls)
            raise PartialAgentFailure(Reply(f"I did this before losing the assistant: {done}.", calls)) from exc
        raise
    finally:
        await client.close()


class PartialAgentFailure(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__("agent failed after running tools")
        self.reply = reply
