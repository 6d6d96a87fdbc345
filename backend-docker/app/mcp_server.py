"""MCP server (official SDK, FastMCP, streamable HTTP) exposing the five todo tools.

Served in-process at /mcp, stateless and with JSON responses, so any replica can
answer any MCP request. Every request must carry the same Bearer JWT as the REST
API, and a tool's `user_id` must be the token's user.
"""

import json
import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.fastmcp.exceptions import ToolError as SDKToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import Strict, ValidationError
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from . import jsonrpc, tools
from .auth import AuthError, JWTVerifier
from .db import open_session
from .metrics import MCP_TOOL_CALLS
from .tools import TaskResult, TaskSummary

USER_SCOPE_KEY = "todo.user_id"
T = TypeVar("T")
log = logging.getLogger(__name__)
# Strict: a bool is not a task id (the SDK already turns "3" into 3 for LLMs that quote numbers).
TaskId = Annotated[int, Strict()]


class ToolDenied(Exception):
    pass


class TaskList(TypedDict):
    """list_tasks' structured content: MCP wants an object there, so the list is under "tasks"."""

    tasks: list[TaskSummary]


class TodoMCP(FastMCP):  # type: ignore[type-arg]
    """FastMCP whose tool errors are short, stable texts.

    The SDK would otherwise return "Error executing tool x: " plus whatever the exception
    said: pydantic's report with its documentation links, or a driver message naming the
    database host and port. Those go to the log; the client gets one line.
    """

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Sequence[ContentBlock] | dict[str, Any]:
        try:
            return await super().call_tool(name, arguments)
        except Exception as exc:
            raise SDKToolError(_client_message(name, exc)) from None


def _client_message(name: str, exc: Exception) -> str:
    cause = exc.__cause__ if isinstance(exc, SDKToolError) and exc.__cause__ is not None else exc
    if isinstance(cause, (tools.ToolError, ToolDenied)):
        return str(cause)
    if isinstance(cause, ValidationError):
        fields = sorted({str(e["loc"][0]) for e in cause.errors() if e["loc"]})
        log.info("mcp tool arguments refused", extra={"tool": name, "errors": repr(cause.errors(include_url=False))[:1000]})
        return "invalid arguments: " + ", ".join(fields)
    if cause is exc and isinstance(exc, SDKToolError):
        return str(exc)  # the SDK's own refusal (unknown tool): no internals in it
    log.error("mcp tool failed", exc_info=cause, extra={"tool": name})
    return "internal error"


def _token_user(ctx: Context) -> str:  # type: ignore[type-arg]
    request = ctx.request_context.request
    user = request.scope.get(USER_SCOPE_KEY) if request is not None else None
    if not user:  # only reachable if the server were exposed without MCPEndpoint
        raise ToolDenied("not authenticated")
    return str(user)


def build_mcp(engine: Engine) -> FastMCP:
    mcp = TodoMCP(
        "todo",
        instructions="Manage the authenticated user's todo list.",
        stateless_http=True,
        json_response=True,
        # Host-header checks guard cookie-authenticated localhost servers against DNS
        # rebinding; this endpoint needs a bearer token and must accept cluster
        # hostnames, so they stay off.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    async def call(
        name: str, ctx: Context, user_id: str, fn: Callable[..., T], **kwargs: Any  # type: ignore[type-arg]
    ) -> T:
        if user_id != _token_user(ctx):
            MCP_TOOL_CALLS.labels(name, "denied").inc()
            raise ToolDenied("forbidden: user_id does not match the authenticated user")

        def run() -> T:
            with open_session(engine) as session:
                return fn(session, user_id, **kwargs)

        # The tool layer is synchronous DB code; keep it off the event loop.
        return await anyio.to_thread.run_sync(run)

    @mcp.tool()
    async def add_task(
        user_id: str, title: str, ctx: Context, description: str | None = None  # type: ignore[type-arg]
    ) -> TaskResult:
        """Create a task for the user. Returns {task_id, status: "created", title}."""
        return await call("add_task", ctx, user_id, tools.add_task, title=title, description=description)

    @mcp.tool()
    async def list_tasks(
        user_id: str, ctx: Context, status: Literal["all", "pending", "completed"] = "all"  # type: ignore[type-arg]
    ) -> Annotated[CallToolResult, TaskList]:
        """List the user's tasks; status is "all", "pending" or "completed".

        Returns one text block holding the whole list as JSON ([{id, title, completed}, ...],
        "[]" when empty) and structured content {"tasks": [...]} with the same list.
        """
        listed = await call("list_tasks", ctx, user_id, tools.list_tasks, status=status)
        # The SDK would send one text block per task (a client reading content[0] sees only
        # the first) and none for an empty list.
        return CallToolResult(
            content=[TextContent(type="text", text=json.dumps(listed))],
            structuredContent={"tasks": listed},
        )

    @mcp.tool()
    async def complete_task(user_id: str, task_id: TaskId, ctx: Context) -> TaskResult:  # type: ignore[type-arg]
        """Mark one of the user's tasks as completed."""
        return await call("complete_task", ctx, user_id, tools.complete_task, task_id=task_id)

    @mcp.tool()
    async def delete_task(user_id: str, task_id: TaskId, ctx: Context) -> TaskResult:  # type: ignore[type-arg]
        """Delete one of the user's tasks."""
        return await call("delete_task", ctx, user_id, tools.delete_task, task_id=task_id)

    @mcp.tool()
    async def update_task(
        user_id: str,
        task_id: TaskId,
        ctx: Context,  # type: ignore[type-arg]
        title: str | None = None,
        description: str | None = None,
    ) -> TaskResult:
        """Change the title and/or description of one of the user's tasks."""
        return await call(
            "update_task", ctx, user_id, tools.update_task,
            task_id=task_id, title=title, description=description,
        )

    return mcp


class MCPEndpoint:
    """ASGI app for /mcp: bearer auth and the JSON-RPC guard in front of the SDK's session manager."""

    def __init__(self, mcp: FastMCP, verifier: JWTVerifier) -> None:
        mcp.streamable_http_app()  # creates mcp.session_manager (the returned app is unused)
        self.manager: StreamableHTTPSessionManager = mcp.session_manager
        self._verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        try:
            user = self._verifier.user_from_header(headers.get("authorization"))
        except AuthError:
            await _send_json(send, 401, {"detail": "invalid or missing bearer token"}, [(b"www-authenticate", b"Bearer")])
            return
        if scope["method"] != "POST":
            # Stateless JSON mode has no event stream for GET and no session for DELETE to end;
            # the SDK would hold a GET open forever. The MCP spec allows 405 for both.
            await _send_json(send, 405, {"detail": "method not allowed"}, [(b"allow", b"POST")])
            return
        if not _accepts_json(headers.get("accept")):
            await _send(send, 406, jsonrpc.error_body(jsonrpc.INVALID_REQUEST, "Not Acceptable: the answer is application/json"))
            return
        if _media_type(headers.get("content-type")) != "application/json":
            await _send(send, 415, jsonrpc.error_body(jsonrpc.INVALID_REQUEST, "Unsupported Media Type: send application/json"))
            return
        body = await _read_body(receive)  # the middleware's receive: 413 beyond MAX_BODY_BYTES
        try:
            jsonrpc.check(jsonrpc.parse(body))
        except jsonrpc.Refused as refused:
            await _send(send, refused.http_status, refused.body())
            return
        scope[USER_SCOPE_KEY] = user
        # The SDK reads Accept literally ("application/json" must appear): "*/*" and a missing
        # header mean the same to HTTP, so it is told what this endpoint answers with.
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"accept"] + [(b"accept", b"application/json")]
        await self.manager.handle_request(scope, _replay(body, receive), _null_ids(send))


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _accepts_json(accept: str | None) -> bool:
    """Whether an Accept header admits application/json (absent: anything goes, RFC 9110)."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = next((p.partition("=")[2] for p in params if p.lower().startswith("q=")), "1")
        try:
            acceptable = float(q) > 0
        except ValueError:
            acceptable = False
        if acceptable and media.lower() in ("application/json", "application/*", "*/*"):
            return True
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # client gone: what arrived is parsed and answered into the void
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the SDK: the body once more, then the client's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _null_ids(send: Send) -> Send:
    """The SDK's own error answers (protocol version header, internal failures) carry
    `"id": "server-error"`; JSON-RPC wants null for an error not tied to a request."""
    held: Message | None = None

    async def wrapped(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] >= 400:
            held = message  # sent with the body, whose length may change
            return
        if held is not None and message["type"] == "http.response.body" and not message.get("more_body", False):
            start, held = held, None
            body = message.get("body", b"")
            try:
                error = json.loads(body)
            except ValueError:
                error = None
            if isinstance(error, dict) and error.get("id") == "server-error":
                error["id"] = None
                body = json.dumps(error).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({**message, "body": body})
            return
        if held is not None:  # a streamed error body: pass it on as it is
            await send(held)
            held = None
        await send(message)

    return wrapped


async def _send(send: Send, status: int, body: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]]) -> None:
    data = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
            *headers,
        ],
    })
    await send({"type": "http.response.body", "body": data})
