"""Application factory: wires settings, database, auth, REST, chat, MCP and operations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from . import db, metrics
from .auth import JWTVerifier
from .mcp_server import MCPEndpoint, build_mcp
from .middleware import RequestMiddleware
from .routes import router
from .settings import Settings

log = logging.getLogger(__name__)


async def _init_schema(app: FastAPI, first_attempt: asyncio.Event) -> None:
    """Create the schema; if the DB is not up yet, keep retrying in the background.

    The process stays alive (liveness passes) and /readyz reports 503 until this
    succeeds, instead of crash-looping while the database starts.
    """
    delay = 1.0
    while True:
        try:
            await run_in_threadpool(db.init_schema, app.state.engine)
            app.state.schema_ready = True
            log.info("database schema ready", extra={"dialect": app.state.engine.dialect.name})
            return
        except Exception as exc:
            log.error("database schema init failed; retrying", extra={"error": repr(exc)[:300], "retry_in_s": delay})
        finally:
            first_attempt.set()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 15.0)


class _LabelledRoute(Route):
    """A plain Starlette route that, like FastAPI's, records itself in the scope, so the
    metrics label /mcp requests "/mcp" instead of "unmatched"."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child = {**child, "route": self}
        return match, child


def _short_error(err: dict[str, Any]) -> dict[str, Any]:
    """One validation error as {loc, msg}: the library's wording, input echo and
    documentation links stay out of responses (they change with its versions)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "missing":
        msg = "required"
    elif kind == "string_too_short":
        msg = "must not be empty" if ctx.get("min_length") == 1 else f"at least {ctx.get('min_length')} characters"
    elif kind == "string_too_long":
        msg = f"at most {ctx.get('max_length')} characters"
    elif kind == "json_invalid":
        msg = "invalid JSON"
    elif kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        msg = str(ctx["error"])  # our own validators' messages
    elif kind.endswith(("_type", "_parsing")):
        msg = "wrong type"
    else:
        msg = "invalid value"
    return {"loc": [str(p) for p in err.get("loc", ())], "msg": msg}


def create_app(settings: Settings) -> FastAPI:
    engine = db.make_engine(settings.db_url)
    verifier = JWTVerifier(settings.better_auth_secret.get_secret_value())
    mcp_endpoint = MCPEndpoint(build_mcp(engine), verifier)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        first_attempt = asyncio.Event()
        init = asyncio.create_task(_init_schema(app, first_attempt))
        # Normal case: the schema exists before the first request is accepted.
        await first_attempt.wait()
        async with mcp_endpoint.manager.run():
            try:
                yield
            finally:
                init.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await init
        engine.dispose()

    app = FastAPI(title="Todo Chatbot API", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.verifier = verifier
    app.state.schema_ready = False

    app.include_router(router)
    # A plain route, not a Mount: a Mount would answer "/mcp" with a redirect to "/mcp/".
    # GET and DELETE are routed too so that the endpoint, not the router, answers them (405 with Allow).
    app.router.routes.append(_LabelledRoute("/mcp", endpoint=mcp_endpoint, methods=["GET", "POST", "DELETE"]))

    @app.exception_handler(RequestValidationError)
    async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
        log.info("request validation failed", extra={"errors": repr(exc.errors())[:1000]})
        return JSONResponse({"detail": [_short_error(e) for e in exc.errors()]}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's body parser: JSON it could not decode for another reason than syntax
            # (not UTF-8, a number Python cannot hold, nesting past the recursion limit). Same
            # answer as a syntax error, so every bad body has one shape.
            log.info("request body not parsed", extra={"error": repr(exc.__cause__)[:300]})
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "invalid JSON"}]}, 422)
        return await http_exception_handler(request, exc)

    # HEAD too: load balancers and uptime checkers probe with it.
    @app.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}  # liveness: no dependencies on purpose

    @app.api_route("/readyz", methods=["GET", "HEAD"], include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        if not request.app.state.schema_ready:
            return JSONResponse({"status": "unavailable", "detail": "database not initialised"}, 503)
        engine = request.app.state.engine
        try:
            await run_in_threadpool(db.ping, engine)
        except Exception:
            log.warning("readiness check failed: database unreachable")
            return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, 503)
        try:
            missing = await run_in_threadpool(db.missing_rights, engine)
        except Exception as exc:
            log.warning("readiness check failed: rights not readable", extra={"error": repr(exc)[:300]})
            return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, 503)
        if missing:
            # Writable is not enough: a role with DELETE but not INSERT fails every create.
            log.warning("readiness check failed: database rights missing", extra={"missing": missing})
            return JSONResponse(
                {"status": "unavailable", "detail": "database rights missing: " + ", ".join(missing)}, 503
            )
        try:
            # Most requests write: a read-only database (full disk, hot standby, read-only
            # file) must take the pod out of rotation too.
            await run_in_threadpool(db.check_writable, engine)
        except Exception as exc:
            log.warning("readiness check failed: database not writable", extra={"error": repr(exc)[:300]})
            return JSONResponse({"status": "unavailable", "detail": "database not writable"}, 503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Mcp-Session-Id", "Mcp-Protocol-Version"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)  # outermost
    return app
