"""MCP server (official SDK, FastMCP, streamable HTTP) exposing the five todo tools.

Served in-process at /mcp, stateless and with JSON responses, so any replica can
answer any MCP request. Every request must carry the same Bearer JWT as the REST
API, and a tool's `user_id` must be the token's user.
"""

import json
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from mcp.server.fastmcp import Context, FastMCP
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


class ToolDenied(Exception):
    pass


def _token_user(ctx: Context) -> str:  # type: ignore[type-arg]
    request = ctx.request_context.request
    user = request.scope.get(USER_SCOPE_KEY) if request is not None else None
    if not user:  # only reachable if the server were exposed without MCPEndpoint
        raise ToolDenied("not authenticated")
    return str(user)


def build_mcp(engine: Engine) -> FastMCP:
    mcp = FastMCP(
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
        user_id: str, ctx: Context, status: str = "all"  # type: ignore[type-arg]
    ) -> list[TaskSummary]:
        """List the user's tasks; status is "all", "pending" or "completed"."""
        return await call("list_tasks", ctx, user_id, tools.list_tasks, status=status)

    @mcp.tool()
    async def complete_task(user_id: str, task_id: int, ctx: Context) -> TaskResult:  # type: ignore[type-arg]
        """Mark one of the user's tasks as completed."""
        return await call("complete_task", ctx, user_id, tools.complete_task, task_id=task_id)

    @mcp.tool()
    async def delete_task(user_id: str, task_id: int, ctx: Context) -> TaskResult:  # type: ignore[type-arg]
        """Delete one of the user's tasks."""
        return await call("delete_task", ctx, user_id, tools.delete_task, task_id=task_id)

    @mcp.tool()
    async def update_task(
        user_id: str,
        task_id: int,
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
            body = json.dumps({"detail": "invalid or missing bearer token"}).encode()
            await send({
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            })
            await send({"type": "http.response.body", "body": body})
            return
        scope[USER_SCOPE_KEY] = user
        await self.manager.handle_request(scope, receive, send)

