"""The five todo tools: one implementation behind both the MCP server and the chat parser.

Each takes a Session and the (already authorised) user id, validates its own input
(an LLM is an untrusted caller), and returns exactly the contract's shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlmodel import Session, col, select
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from .db import vanished
from .metrics import MCP_TOOL_CALLS
from .models import Task, utcnow, valid_id

TITLE_MAX = 200
DESCRIPTION_MAX = 1000
STATUSES = ("all", "pending", "completed")


class ToolError(ValueError):
    """A tool call the user can fix (bad input, unknown task); its message is shown."""


class TaskResult(TypedDict):
    task_id: int
    status: str
    title: str


class TaskSummary(TypedDict):
    id: int
    title: str
    completed: bool


P = ParamSpec("P")
R = TypeVar("R")


def _counted(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                out = fn(*args, **kwargs)
            except ToolError:
                MCP_TOOL_CALLS.labels(name, "error").inc()
                raise
            except Exception as exc:
                if vanished(exc) is None:
                    MCP_TOOL_CALLS.labels(name, "failure").inc()
                    raise
                # Deleted by a concurrent request between our read and our write: to the
                # caller (MCP client, chat) that task is simply not found.
                MCP_TOOL_CALLS.labels(name, "error").inc()
                raise ToolError(f"task {kwargs.get('task_id')} not found") from exc
            MCP_TOOL_CALLS.labels(name, "ok").inc()
            return out

        return wrapper

    return deco


def _text(value: str, name: str) -> str:
    if "\x00" in value:  # PostgreSQL cannot store it; SQLite must refuse it too
        raise ToolError(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800" in JSON) is no character: neither database can store it,
        # and REST refuses it in validation. Refuse it here too instead of failing in the driver.
        raise ToolError(f"{name} must be valid Unicode text (no lone surrogates)") from None
    return value


def _title(value: str | None) -> str:
    title = _text((value or "").strip(), "title")
    if not title:
        raise ToolError("title must not be empty")
    if len(title) > TITLE_MAX:
        raise ToolError(f"title must be at most {TITLE_MAX} characters")
    return title


def _description(value: str | None) -> str | None:
    if value is None:
        return None
    value = _text(value.strip(), "description")
    if len(value) > DESCRIPTION_MAX:
        raise ToolError(f"description must be at most {DESCRIPTION_MAX} characters")
    return value or None


def _task_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ToolError("task_id must be a positive integer")
    return value


def _own_task(session: Session, user_id: str, task_id: int) -> Task:
    _task_id(task_id)
    # An id beyond the column's range cannot exist; asking the database would be an error there.
    task = None if not valid_id(task_id) else session.exec(
        select(Task).where(Task.id == task_id, Task.user_id == user_id)
    ).first()
    if task is None:  # another user's task looks exactly like a missing one
        raise ToolError(f"task {task_id} not found")
    return task


@_counted("add_task")
def add_task(
    session: Session, user_id: str, title: str, description: str | None = None
) -> TaskResult:
    task = Task(user_id=user_id, title=_title(title), description=_description(description))
    session.add(task)
    session.commit()
    assert task.id is not None
    return {"task_id": task.id, "status": "created", "title": task.title}


@_counted("list_tasks")
def list_tasks(session: Session, user_id: str, status: str | None = "all") -> list[TaskSummary]:
    status = (status or "all").strip().lower()
    if status not in STATUSES:
        raise ToolError("status must be one of: all, pending, completed")
    query = select(Task).where(Task.user_id == user_id)
    if status != "all":
        query = query.where(Task.completed == (status == "completed"))
    tasks = session.exec(query.order_by(col(Task.id))).all()
    return [{"id": t.id, "title": t.title, "completed": t.completed} for t in tasks if t.id]


@_counted("complete_task")
def complete_task(session: Session, user_id: str, task_id: int) -> TaskResult:
    task = _own_task(session, user_id, task_id)
    task.completed = True
    task.updated_at = utcnow()
    session.add(task)
    session.commit()
    return {"task_id": task_id, "status": "completed", "title": task.title}


@_counted("delete_task")
def delete_task(session: Session, user_id: str, task_id: int) -> TaskResult:
    task = _own_task(session, user_id, task_id)
    title = task.title
    session.delete(task)
    session.commit()
    return {"task_id": task_id, "status": "deleted", "title": title}


@_counted("update_task")
def update_task(
    session: Session,
    user_id: str,
    task_id: int,
    title: str | None = None,
    description: str | None = None,
) -> TaskResult:
    task = _own_task(session, user_id, task_id)
    if title is None and description is None:
        raise ToolError("nothing to update: give a title and/or a description")
    if title is not None:
        task.title = _title(title)
    if description is not None:
        task.description = _description(description)
    task.updated_at = utcnow()
    session.add(task)
    session.commit()
    return {"task_id": task_id, "status": "updated", "title": task.title}


TOOLS: dict[str, Callable[..., object]] = {
    "add_task": add_task,
    "list_tasks": list_tasks,
    "complete_task": complete_task,
    "delete_task": delete_task,
    "update_task": update_task,
}
