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
from mcp.types import ContentBlock
from pydantic import Strict, ValidationError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from . import tools
from .auth import AuthError, JWTVerifier
from .metrics import MCP_TOOL_CALLS
from .tools import TaskResult, TaskSummary

USER_SCOPE_KEY = "todo.user_id"
T = TypeVar("T")
log = logging.getLogger(__name__)
# Strict: a bool is not a task id (the SDK already turns "3" into 3 for LLMs that quote numbers).
TaskId = Annotated[int, Strict()]


class ToolDenied(Exception):
    pass


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
            with Session(engine) as session:
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
    ) -> list[TaskSummary]:
        """List the user's tasks; status is "all", "pending" or "completed"."""
        return await call("list_tasks", ctx, user_id, tools.list_tasks, status=status)

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
    """ASGI app for /mcp: bearer auth in front of the SDK's session manager."""

    def __init__(self, mcp: FastMCP, verifier: JWTVerifier) -> None:
        mcp.streamable_http_app()  # creates mcp.session_manager (the returned app is unused)
        self.manager: StreamableHTTPSessionManager = mcp.session_manager
        self._verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            user = self._verifier.user_from_header(Headers(scope=scope).get("authorization"))
        except AuthError:
            await _send_json(send, 401, {"detail": "invalid or missing bearer token"}, [(b"www-authenticate", b"Bearer")])
            return
        if scope["method"] != "POST":
            # Stateless JSON mode has no event stream for GET and no session for DELETE to end;
            # the SDK would hold a GET open forever. The MCP spec allows 405 for both.
            await _send_json(send, 405, {"detail": "method not allowed"}, [(b"allow", b"POST")])
            return
        scope[USER_SCOPE_KEY] = user
        await self.manager.handle_request(scope, receive, send)



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
