"""Operations: probes, metrics, request ids, JSON logs, error handling, settings, entry point."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.application import create_app
from app.logs import JsonFormatter
from app.settings import Settings
from conftest import SECRET, auth, free_port, make_settings, metric_value, token

ROOT = Path(__file__).resolve().parents[1]


def test_probes(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready"}


def test_metrics_use_route_templates(client: TestClient) -> None:
    client.get("/api/alice/tasks/12345", headers=auth())  # 404, but a known route
    client.get("/no/such/path")
    text = client.get("/metrics").text
    for name in ("http_requests_total", "http_request_duration_seconds_bucket",
                 "mcp_tool_calls_total", "db_errors_total"):
        assert name in text
    assert metric_value(text, "http_requests_total", {
        "method": "GET", "route": "/api/{user_id}/tasks/{task_id}", "status": "404"}) >= 1
    assert metric_value(text, "http_requests_total", {
        "method": "GET", "route": "unmatched", "status": "404"}) >= 1
    assert "12345" not in text and "/no/such/path" not in text
    assert metric_value(text, "http_request_duration_seconds_count", {
        "method": "GET", "route": "/api/{user_id}/tasks/{task_id}"}) >= 1

    before = metric_value(text, "mcp_tool_calls_total", {"tool": "add_task", "result": "ok"})
    client.post("/api/alice/chat", json={"message": "add x"}, headers=auth())
    after = metric_value(client.get("/metrics").text, "mcp_tool_calls_total", {"tool": "add_task", "result": "ok"})
    assert after == before + 1


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    forged = client.get("/healthz", headers={"X-Request-ID": 'x"\n{"level":"error"}'}).headers["x-request-id"]
    assert forged != 'x"\n{"level":"error"}' and len(forged) == 32


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buf
    root.removeHandler(handler)
    root.setLevel(old)


def test_json_access_log_without_secrets(client: TestClient, json_log: io.StringIO) -> None:
    bearer = token("alice")
    client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {bearer}", "X-Request-ID": "req-1"})
    client.post("/api/alice/chat", json={"message": "list tasks"},
                headers={"Authorization": f"Bearer {bearer}", "X-Request-ID": "req-2"})
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    access = [entry for entry in lines if entry["msg"] == "request"]
    assert [(a["request_id"], a["route"], a["status"]) for a in access] == [
        ("req-1", "/api/{user_id}/tasks", 200), ("req-2", "/api/{user_id}/chat", 200)]
    assert all(a["method"] and a["duration_ms"] >= 0 for a in access)
    raw = json_log.getvalue()
    assert bearer not in raw and SECRET not in raw and "authorization" not in raw.lower()


def test_unhandled_errors_are_generic_500(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"X-Request-ID": "r-500"})
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error"}
    assert r.headers["x-request-id"] == "r-500"
    assert "secret internals" not in r.text and "Traceback" not in r.text
    logged = [rec for rec in caplog.records if rec.getMessage() == "unhandled error"]
    assert logged and logged[0].exc_info is not None


def test_unreachable_database(tmp_path: Path) -> None:
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"
    app = create_app(make_settings(dead))
    with TestClient(app, raise_server_exceptions=False) as c:
        before = metric_value(c.get("/metrics").text, "db_errors_total")
        assert c.get("/healthz").status_code == 200  # liveness does not depend on the DB
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        app.state.schema_ready = True  # as if the DB went away after start-up
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json() == {"status": "unavailable", "detail": "database unreachable"}
        r = c.get("/api/alice/tasks", headers=auth())
        assert r.status_code == 503 and r.json() == {"detail": "database unavailable"}
        assert metric_value(c.get("/metrics").text, "db_errors_total") >= before + 2


def test_cors_only_when_configured(db_url: str) -> None:
    pre = {"Origin": "http://ui.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}
    with TestClient(create_app(make_settings(db_url, cors_origins="http://ui.example, http://x"))) as c:
        r = c.options("/api/alice/tasks", headers=pre)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://ui.example"
    with TestClient(create_app(make_settings(db_url))) as c:
        r = c.options("/api/alice/tasks", headers=pre)
        assert "access-control-allow-origin" not in r.headers


def test_settings_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATABASE_URL", "SQLITE_PATH", "PORT", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(better_auth_secret="x")
    assert s.db_url == "sqlite:///data/todo.db" and s.port == 8000 and s.host == "0.0.0.0"
    assert s.mcp_url == "http://127.0.0.1:8000/mcp" and s.openai_model == "gpt-4o-mini"
    for given in ("postgres://u:p@h:5432/d", "postgresql://u:p@h:5432/d"):
        assert Settings(better_auth_secret="x", database_url=given).db_url == "postgresql+psycopg://u:p@h:5432/d"
    monkeypatch.setenv("OPENAI_API_KEY", "")  # empty means unset
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    s = Settings(better_auth_secret="x")
    assert s.openai_api_key is None and s.log_level == "debug"
    with pytest.raises(ValueError, match="postgresql"):
        Settings(better_auth_secret="x", database_url="mysql://h/d")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"BETTER_AUTH_SECRET", "DATABASE_URL", "OPENAI_API_KEY", "WEB_CONCURRENCY",
                        "PROMETHEUS_MULTIPROC_DIR", "PORT", "HOST", "SQLITE_PATH"}}
    env.update(extra)
    return env


def test_missing_secret_exits_with_a_clear_message(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "app"], cwd=ROOT, env=_env(PORT="70000"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "BETTER_AUTH_SECRET: is required" in r.stderr
    assert "PORT:" in r.stderr
    assert "Traceback" not in r.stderr


def _wait_healthy(proc: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_python_m_app_serves_and_stops_on_sigterm(tmp_path: Path, workers: str) -> None:
    port = free_port()
    env = _env(BETTER_AUTH_SECRET=SECRET, HOST="127.0.0.1", PORT=str(port),
               SQLITE_PATH=str(tmp_path / "db" / "todo.db"), WEB_CONCURRENCY=workers, GRACEFUL_TIMEOUT="5")
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        r = httpx.post(f"{url}/api/alice/tasks", json={"title": "t"}, headers=auth(), timeout=10)
        assert r.status_code == 201
        for _ in range(4):
            assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        # with 2 workers the count is summed over both processes
        assert metric_value(metrics, "http_requests_total",
                            {"method": "GET", "route": "/readyz", "status": "200"}) == 4
        assert (tmp_path / "db" / "todo.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(entry["msg"] == "request" and entry["route"] == "/api/{user_id}/tasks" for entry in lines)
