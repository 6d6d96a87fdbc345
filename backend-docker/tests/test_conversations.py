"""DELETE /api/{user}/conversations: the user's chat history goes, nobody else's."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Conversation, Message
from conftest import auth


def test_delete_conversations_removes_only_the_users_history(client: TestClient) -> None:
    for user in ("alice", "alice", "bob"):
        r = client.post(f"/api/{user}/chat", json={"message": "list tasks"}, headers=auth(user))
        assert r.status_code == 200, r.text
    r = client.delete("/api/alice/conversations", headers=auth("alice"))
    assert r.status_code == 200, r.text
    assert r.json() == {"conversations": 2, "messages": 4}
    with Session(client.app.state.engine) as s:  # type: ignore[attr-defined]
        assert {c.user_id for c in s.exec(select(Conversation)).all()} == {"bob"}
        assert {m.user_id for m in s.exec(select(Message)).all()} == {"bob"}
    # Nothing left: still 200, zero counts; another user's token is refused.
    assert client.delete("/api/alice/conversations", headers=auth("alice")).json() == {"conversations": 0, "messages": 0}
    assert client.delete("/api/alice/conversations", headers=auth("bob")).status_code == 403
