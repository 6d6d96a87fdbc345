"""JWT verification (401), path/user mismatch (403) and cross-user isolation over REST and chat."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from conftest import auth, token

BAD_TOKENS = {
    "no header": None,
    "not bearer": "Basic YWxpY2U6cHc=",
    "empty bearer": "Bearer ",
    "garbage": "Bearer not.a.jwt",
    "wrong secret": f"Bearer {token('alice', secret='another-secret-another-secret-xx')}",
    "expired": f"Bearer {token('alice', exp_in=-3600)}",
    "no exp": f"Bearer {token('alice', exp_in=None)}",
    "no sub": f"Bearer {token(None)}",
    "empty sub": f"Bearer {token('')}",
    "hs512": f"Bearer {token('alice', algorithm='HS512')}",
    "alg none": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0.",
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
def test_bad_credentials_get_401(client: TestClient, name: str) -> None:
    value = BAD_TOKENS[name]
    headers = {"Authorization": value} if value is not None else {}
    for method, path in [("GET", "/api/alice/tasks"), ("POST", "/api/alice/tasks"),
                         ("GET", "/api/alice/tasks/1"), ("PATCH", "/api/alice/tasks/1/complete"),
                         ("POST", "/api/alice/chat")]:
        r = client.request(method, path, headers=headers, json={"title": "x", "message": "hi"})
        assert r.status_code == 401, (name, method, path, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


def test_extra_claims_are_ignored(client: TestClient) -> None:
    t = token("alice", aud="somewhere", iss="better-auth", email="a@example.com")
    r = client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {t}"})
    assert r.status_code == 200


def test_other_users_path_is_403(client: TestClient) -> None:
    h = auth("mallory")
    for method, path in [("GET", "/api/alice/tasks"), ("POST", "/api/alice/tasks"),
                         ("GET", "/api/alice/tasks/1"), ("PUT", "/api/alice/tasks/1"),
                         ("DELETE", "/api/alice/tasks/1"), ("PATCH", "/api/alice/tasks/1/complete"),
                         ("POST", "/api/alice/chat")]:
        r = client.request(method, path, headers=h, json={"title": "x", "message": "list tasks"})
        assert r.status_code == 403, (method, path)


def test_users_cannot_see_or_touch_each_others_tasks(client: TestClient) -> None:
    a, m = auth("alice"), auth("mallory")
    tid = client.post("/api/alice/tasks", json={"title": "alice's secret"}, headers=a).json()["id"]

    assert client.get("/api/mallory/tasks", headers=m).json() == []
    assert client.get(f"/api/mallory/tasks/{tid}", headers=m).status_code == 404
    assert client.put(f"/api/mallory/tasks/{tid}", json={"title": "pwned"}, headers=m).status_code == 404
    assert client.patch(f"/api/mallory/tasks/{tid}/complete", headers=m).status_code == 404
    assert client.delete(f"/api/mallory/tasks/{tid}", headers=m).status_code == 404

    # nor through the chat parser
    for msg in (f"mark {tid} done", f"delete task {tid}", f"rename {tid} to pwned"):
        r = client.post("/api/mallory/chat", json={"message": msg}, headers=m)
        assert r.status_code == 200
        assert "not found" in r.json()["response"]
    r = client.post("/api/mallory/chat", json={"message": "list tasks"}, headers=m)
    assert "alice's secret" not in r.text

    # nor by continuing alice's conversation
    conv = client.post("/api/alice/chat", json={"message": "list tasks"}, headers=a).json()["conversation_id"]
    r = client.post("/api/mallory/chat", json={"conversation_id": conv, "message": "list tasks"}, headers=m)
    assert r.status_code == 404

    task = client.get(f"/api/alice/tasks/{tid}", headers=a).json()
    assert task["title"] == "alice's secret" and task["completed"] is False
