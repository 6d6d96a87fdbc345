"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set), an in-process TestClient, and a real uvicorn server on
127.0.0.1 for the MCP and agent tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlmodel import SQLModel

SECRET = "test-secret-" + "0123456789abcdef" * 4  # 75 bytes: no short-key warnings
os.environ["BETTER_AUTH_SECRET"] = SECRET  # before anything imports app.main

from app import db  # noqa: E402
from app.application import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402


def token(sub: str | None = "alice", *, exp_in: int | None = 600, secret: str = SECRET,
          algorithm: str = "HS256", **claims: Any) -> str:
    payload: dict[str, Any] = dict(claims)
    if sub is not None:
        payload["sub"] = sub
    if exp_in is not None:
        payload["exp"] = int(time.time()) + exp_in
    return jwt.encode(payload, secret, algorithm=algorithm)


def auth(sub: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub)}"}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    # Every field that the machine's environment could set is given explicitly.
    values: dict[str, Any] = {
        "better_auth_secret": SECRET,
        "database_url": database_url,
        "openai_api_key": None,
        "openai_base_url": None,
        "mcp_server_url": None,
        "cors_origins": None,
        "max_body_bytes": 65536,
        "port": 8000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'todo.db'}"
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            # CI must prove the PostgreSQL half; a skip there would pass unnoticed.
            pytest.fail("TEST_DATABASE_URL not set under CI: the PostgreSQL tests cannot run (see tests/run.sh)")
        pytest.skip("TEST_DATABASE_URL not set")
    engine = db.make_engine(Settings(better_auth_secret=SECRET, database_url=url).db_url)
    SQLModel.metadata.drop_all(engine)  # every test starts from an empty schema
    engine.dispose()
    yield url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving an ASGI app on 127.0.0.1 in a background thread."""

    def __init__(self, app_factory: Callable[[int], Any]) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app_factory(self.port), log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, ready_path: str = "/healthz") -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while True:  # wait on a condition: the server answers ready_path
            if not self.thread.is_alive():
                raise RuntimeError("server thread exited during startup")
            try:
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {self.url} not ready")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., LiveServer]]:
    """serve(app_factory) -> started LiveServer; the factory gets the bound port."""
    servers: list[LiveServer] = []

    def start(app_factory: Callable[[int], Any], ready_path: str = "/healthz") -> LiveServer:
        srv = LiveServer(app_factory)
        servers.append(srv)
        return srv.start(ready_path)

    yield start
    for srv in reversed(servers):
        srv.stop()


@pytest.fixture
def live(serve: Callable[..., LiveServer], db_url: str) -> LiveServer:
    """The todo app served for real, its agent pointed at its own /mcp."""
    return serve(lambda port: create_app(make_settings(db_url, port=port)))


def metric_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """Value of one sample in Prometheus text output (0 when absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(sample.value)
    return 0.0
