"""REST API of the contract: tasks CRUD and the stateless chat endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from . import agent
from .auth import AuthorizedUser
from .db import open_session
from .logs import request_id_var
from .metrics import LLM_FALLBACKS
from .models import (
    ChatRequest,
    ChatResponse,
    Conversation,
    Message,
    Task,
    TaskComplete,
    TaskCreate,
    TaskRead,
    TaskStatus,
    TaskUpdate,
    utcnow,
    valid_id,
)
from .settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/{user_id}")

HISTORY_LIMIT = 40  # messages of context sent to the LLM; older turns stay in the DB


def get_session(request: Request) -> Iterator[Session]:
    with open_session(request.app.state.engine) as session:
        yield session


DB = Annotated[Session, Depends(get_session)]


def _own_task(session: Session, user_id: str, task_id: int) -> Task:
    task = None
    if valid_id(task_id):  # out-of-range ids are missing ids, not database errors
        task = session.exec(select(Task).where(Task.id == task_id, Task.user_id == user_id)).first()
    if task is None:  # other users' tasks are indistinguishable from missing ones
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="task not found")
    return task


@router.get("/tasks", response_model=list[TaskRead])
def list_tasks(
    user_id: AuthorizedUser, session: DB, status_: Annotated[TaskStatus, Query(alias="status")] = "all"
) -> list[Task]:
    query = select(Task).where(Task.user_id == user_id)
    if status_ != "all":
        query = query.where(Task.completed == (status_ == "completed"))
    return list(session.exec(query.order_by(col(Task.id))).all())


@router.post("/tasks", response_model=TaskRead, status_code=status.HTTP_201_CREATED)
def create_task(user_id: AuthorizedUser, body: TaskCreate, session: DB) -> Task:
    task = Task(user_id=user_id, title=body.title, description=body.description or None)
    session.add(task)
    session.commit()  # the id is set by the INSERT; nothing needs reading back
    return task


@router.get("/tasks/{task_id}", response_model=TaskRead)
def get_task(user_id: AuthorizedUser, task_id: int, session: DB) -> Task:
    return _own_task(session, user_id, task_id)


@router.put("/tasks/{task_id}", response_model=TaskRead)
def update_task(user_id: AuthorizedUser, task_id: int, body: TaskUpdate, session: DB) -> Task:
    """Change any of title, description, completed; a field left out stays as it is.

    `null` clears the description; a `null` title or completed is a 422. 404 when the task is
    missing, another user's, or deleted by a concurrent request before this edit is written.
    """
    task = _own_task(session, user_id, task_id)
    changes = body.model_dump(exclude_unset=True)  # a null title or completed is refused by TaskUpdate
    if "description" in changes:
        changes["description"] = changes["description"] or None  # "" clears it
    for key, value in changes.items():
        setattr(task, key, value)
    task.updated_at = utcnow()
    session.add(task)
    session.commit()
    return task


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_task(user_id: AuthorizedUser, task_id: int, session: DB) -> Response:
    session.delete(_own_task(session, user_id, task_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/tasks/{task_id}/complete", response_model=TaskRead)
def complete_task(
    user_id: AuthorizedUser,
    task_id: int,
    session: DB,
    body: Annotated[TaskComplete | None, Body()] = None,
) -> Task:
    """Toggle completion, or set it explicitly with {"completed": true|false}.

    404 when the task is missing, another user's, or deleted by a concurrent request before
    this edit is written.
    """
    task = _own_task(session, user_id, task_id)
    wanted = body.completed if body is not None and body.completed is not None else not task.completed
    task.completed = wanted
    task.updated_at = utcnow()
    session.add(task)
    session.commit()
    return task


# --- chat ----------------------------------------------------------------------------


def _load_history(engine: Engine, user_id: str, conversation_id: int | None) -> list[dict[str, str]]:
    """The conversation's recent messages; nothing is written before the reply exists."""
    if conversation_id is None:
        return []
    with Session(engine) as session:
        _own_conversation(session, user_id, conversation_id)
        rows = session.exec(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.user_id == user_id)
            .order_by(col(Message.id).desc())
            .limit(HISTORY_LIMIT)
        ).all()
        return [{"role": m.role, "content": m.content} for m in reversed(rows)]


def _own_conversation(session: Session, user_id: str, conversation_id: int) -> Conversation:
    conv = None
    if valid_id(conversation_id):
        conv = session.exec(
            select(Conversation).where(Conversation.id == conversation_id, Conversation.user_id == user_id)
        ).first()
    if conv is None:  # someone else's conversation looks exactly like a missing one
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="conversation not found")
    return conv


def _store_turn(engine: Engine, user_id: str, conversation_id: int | None, asked: str, answered: str) -> int:
    """The user's message and the reply in one transaction: a turn is stored whole or not at all."""
    with Session(engine) as session:
        if conversation_id is None:
            conv = Conversation(user_id=user_id)
            session.add(conv)
            session.flush()
        else:
            conv = _own_conversation(session, user_id, conversation_id)
            conv.updated_at = utcnow()
            session.add(conv)
        assert conv.id is not None
        session.add(Message(user_id=user_id, conversation_id=conv.id, role="user", content=asked))
        session.add(Message(user_id=user_id, conversation_id=conv.id, role="assistant", content=answered))
        session.commit()
        return conv.id


@router.post("/chat", response_model=ChatResponse)
async def chat(user_id: AuthorizedUser, body: ChatRequest, request: Request) -> ChatResponse:
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    history = await run_in_threadpool(_load_history, engine, user_id, body.conversation_id)

    reply: agent.Reply | None = None
    if settings.openai_api_key is not None:
        token = request.headers["authorization"].partition(" ")[2].strip()
        try:
            reply = await agent.run_llm(settings, user_id, token, history, body.message, request_id_var.get())
        except agent.PartialAgentFailure as exc:
            log.warning("llm call failed after tool calls", extra={"error": repr(exc.__cause__)})
            reply = exc.reply
        except Exception as exc:  # network, 429, bad model...: the parser still answers
            LLM_FALLBACKS.inc()
            log.warning("llm call failed, using built-in parser", extra={"error": repr(exc)[:500]})
    if reply is None:
        reply = await run_in_threadpool(agent.run_parser, engine, user_id, body.message)

    conv_id = await run_in_threadpool(_store_turn, engine, user_id, body.conversation_id, body.message, reply.text)
    return ChatResponse.model_validate(
        {"conversation_id": conv_id, "response": reply.text, "tool_calls": reply.tool_calls}
    )


@router.delete("/conversations")
def delete_conversations(user_id: AuthorizedUser, session: DB) -> dict[str, int]:
    """Forget the user's chat history: every conversation and its messages, in one transaction.

    Not in the contract: ops/perf.ts needs it to remove what its load user said.
    """
    messages = session.execute(delete(Message).where(col(Message.user_id) == user_id)).rowcount
    conversations = session.execute(delete(Conversation).where(col(Conversation.user_id) == user_id)).rowcount
    session.commit()
    return {"conversations": conversations, "messages": messages}
