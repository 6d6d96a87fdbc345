"""One outer ASGI middleware for cross-cutting request handling.

Request id, body-size limit, access log, Prometheus metrics and the last-resort
error handler live together because they all need the final status of the same
request; as pure ASGI (not BaseHTTPMiddleware) it also wraps the MCP endpoint.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from fastapi import HTTPException
from sqlalchemy.exc import DataError, DBAPIError
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db import vanished
from .logs import request_id_var
from .metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("app.access")
errlog = logging.getLogger("app.error")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")  # anything else could forge log lines
# The metrics' method label takes these values and "other": a client may send any token as
# the method (FOO, TRACE...), and each new value would be a new series.
METHOD_LABELS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHOD_LABELS else "other"


class BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so FastAPI's body parser passes it through."""

    def __init__(self) -> None:
        super().__init__(413, detail="request body too large")


class RequestMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        given = headers.get("x-request-id", "")
        rid = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            # Chunked uploads carry no Content-Length; count what actually arrives.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body:
                await _json(send_wrapper, 413, {"detail": "request body too large"})
            else:
                await self.app(scope, limited_receive, send_wrapper)
        except BodyTooLarge:
            if not started:
                await _json(send_wrapper, 413, {"detail": "request body too large"})
        except Exception as exc:
            table = vanished(exc)
            if table is None:
                await self._failed(exc, send_wrapper, started)
            else:
                # Deleted by a concurrent request between our read and our write: for the
                # client that is simply "not found", as if the delete had come first.
                log.info("row vanished under the request", extra={"table": table})
                if not started:
                    await _json(send_wrapper, 404, {"detail": f"{table} not found"})
        finally:
            elapsed = time.perf_counter() - start
            route = _route_template(scope)
            method = method_label(scope.get("method", ""))
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope.get("method", "")[:16],
                    "path": scope.get("path", ""),
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)

    @staticmethod
    async def _failed(exc: Exception, send: Send, started: bool) -> None:
        if isinstance(exc, DataError):
            # A value the database refused that validation let through: still the client's input.
            errlog.error("database refused a value", exc_info=exc)
            status, detail = 422, "invalid input"
        elif isinstance(exc, DBAPIError):
            errlog.error("database error", exc_info=exc)
            status, detail = 503, "database unavailable"
        else:
            # Last resort: the trace goes to the log, never to the client.
            errlog.error("unhandled error", exc_info=exc)
            status, detail = 500, "internal error"
        if not started:
            await _json(send, status, {"detail": detail})


def _route_template(scope: Scope) -> str:
    # The router stores the matched route in the scope; its path is the template
    # ("/api/{user_id}/tasks/{task_id}"), which keeps label cardinality bounded.
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        return getattr(route, "path", None) or "unmatched"
    return "unmatched"


async def _json(send: Send, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
    })
    await send({"type": "http.response.body", "body": data})
