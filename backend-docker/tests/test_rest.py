"""REST CRUD of the contract, validation (422) and body limits (413)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from conftest import auth

BASE = "/api/alice/tasks"


def test_crud_roundtrip(client: TestClient) -> None:
    h = auth("alice")
    r = client.post(BASE, json={"title": "  buy milk ", "description": "2 litres"}, headers=h)
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["title"] == "buy milk"  # surrounding whitespace stripped
    assert task["description"] == "2 litres"
    assert task["completed"] is False and task["user_id"] == "alice"
    assert task["created_at"].endswith("+00:00")
    tid = task["id"]

    assert client.get(f"{BASE}/{tid}", headers=h).json() == task
    assert [t["id"] for t in client.get(BASE, headers=h).json()] == [tid]

    r = client.put(f"{BASE}/{tid}", json={"title": "buy oat milk"}, headers=h)
    assert r.status_code == 200
    assert r.json()["title"] == "buy oat milk" and r.json()["description"] == "2 litres"
    r = client.put(f"{BASE}/{tid}", json={"description": "", "completed": True}, headers=h)
    assert r.json()["description"] is None and r.json()["completed"] is True

    # PATCH .../complete toggles, or sets the value given
    assert client.patch(f"{BASE}/{tid}/complete", headers=h).json()["completed"] is False
    assert client.patch(f"{BASE}/{tid}/complete", headers=h).json()["completed"] is True
    r = client.patch(f"{BASE}/{tid}/complete", json={"completed": True}, headers=h)
    assert r.json()["completed"] is True

    assert client.delete(f"{BASE}/{tid}", headers=h).status_code == 204
    assert client.get(f"{BASE}/{tid}", headers=h).status_code == 404
    assert client.delete(f"{BASE}/{tid}", headers=h).status_code == 404
    assert client.get(BASE, headers=h).json() == []


def test_list_filters_by_status(client: TestClient) -> None:
    h = auth("alice")
    ids = [client.post(BASE, json={"title": t}, headers=h).json()["id"] for t in ("a", "b", "c")]
    client.patch(f"{BASE}/{ids[1]}/complete", headers=h)
    titles = lambda q: [t["title"] for t in client.get(BASE + q, headers=h).json()]  # noqa: E731
    assert titles("") == ["a", "b", "c"]
    assert titles("?status=pending") == ["a", "c"]
    assert titles("?status=completed") == ["b"]
    assert client.get(BASE + "?status=bogus", headers=h).status_code == 422


def test_validation_errors_name_the_field(client: TestClient) -> None:
    h = auth("alice")
    cases = [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "d" * 1001}, "description"),
        ({"title": 5}, "title"),
    ]
    for body, field in cases:
        r = client.post(BASE, json=body, headers=h)
        assert r.status_code == 422, body
        assert any(field in err["loc"] for err in r.json()["detail"]), r.json()
    assert client.post(BASE, json={"title": "x" * 200, "description": "d" * 1000}, headers=h).status_code == 201

    tid = client.post(BASE, json={"title": "t"}, headers=h).json()["id"]
    assert client.put(f"{BASE}/{tid}", json={"title": ""}, headers=h).status_code == 422
    assert client.put(f"{BASE}/{tid}", json={"title": None}, headers=h).status_code == 422
    assert client.get(f"{BASE}/not-a-number", headers=h).status_code == 422
    r = client.post(BASE, content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422


def test_oversized_bodies_get_413(client: TestClient) -> None:
    h = auth("alice")
    big = {"title": "t", "description": "d" * 70_000}
    r = client.post(BASE, json=big, headers=h)
    assert r.status_code == 413 and r.json() == {"detail": "request body too large"}

    # Chunked upload without Content-Length is counted as it arrives.
    def chunks():
        yield b'{"title": "t", "description": "'
        for _ in range(80):
            yield b"d" * 1000
        yield b'"}'

    r = client.post(BASE, content=chunks(), headers={**h, "content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/alice/chat", json={"message": "x" * 70_000}, headers=h)
    assert r.status_code == 413
    assert client.get(BASE, headers=h).json() == []
