"""Tables (exactly the contract's Task, Conversation, Message) and API schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import StringConstraints, field_serializer
from sqlalchemy import DateTime, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written as UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Task(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    completed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Conversation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    role: str = Field(max_length=16)  # "user" | "assistant"
    content: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# --- API schemas -------------------------------------------------------------

# Surrounding whitespace is stripped first, so "   " is rejected as an empty title.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class TaskCreate(SQLModel):
    title: Title
    description: Description | None = None


class TaskUpdate(SQLModel):
    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None


class TaskComplete(SQLModel):
    completed: bool | None = None


class TaskRead(SQLModel):
    id: int
    user_id: str
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime

    @field_serializer("created_at", "updated_at")
    def _utc(self, dt: datetime) -> str:
        return _aware(dt).isoformat()


class ChatRequest(SQLModel):
    conversation_id: int | None = None
    message: str = Field(min_length=1, max_length=4000)


class ToolCall(SQLModel):
    tool: str
    arguments: dict[str, object]
    result: object


class ChatResponse(SQLModel):
    conversation_id: int
    response: str
    tool_calls: list[ToolCall]


TaskStatus = Literal["all", "pending", "completed"]
