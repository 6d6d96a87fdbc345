"""Tables (exactly the contract's Task, Conversation, Message) and API schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, StrictBool, StrictInt, StringConstraints, field_serializer, field_validator
from sqlalchemy import DateTime, Text
from sqlmodel import Field, SQLModel


# Ids are PostgreSQL `integer` columns. Anything outside this range cannot name a row, so
# it is answered like any other missing id before it reaches (and upsets) the database.
ID_MAX = 2**31 - 1
USER_ID_MAX = 255  # the user_id columns' length; enforced by the app so SQLite agrees with PostgreSQL


def valid_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= ID_MAX


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written as UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Task(SQLModel, table=True):
    # Without AUTOINCREMENT SQLite hands the id of a deleted newest row to the next insert, and
    # an old "task 232" in a conversation would name a different task. PostgreSQL sequences never reuse.
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    completed: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Conversation(SQLModel, table=True):
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Message(SQLModel, table=True):
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    role: str = Field(max_length=16)  # "user" | "assistant"
    content: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


# --- API schemas -------------------------------------------------------------



def no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it everywhere keeps SQLite in step.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Surrounding whitespace is stripped first, so "   " is rejected as an empty title.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(no_nul)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(no_nul)]
ChatText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(no_nul)]


class TaskCreate(SQLModel):
    title: Title
    description: Description | None = None


class TaskUpdate(SQLModel):
    title: Title | None = None
    description: Description | None = None  # null clears it, like ""
    completed: StrictBool | None = None  # "yes", 1 or "true" are not booleans

    @field_validator("title", "completed", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Left out means "unchanged"; an explicit null would mean "no title", which a task cannot have.
        if value is None:
            raise ValueError("must not be null")
        return value


class TaskComplete(SQLModel):
    completed: StrictBool | None = None


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
    conversation_id: StrictInt | None = None
    message: ChatText


class ToolCall(SQLModel):
    tool: str
    arguments: dict[str, object]
    result: object


class ChatResponse(SQLModel):
    conversation_id: int
    response: str
    tool_calls: list[ToolCall]


TaskStatus = Literal["all", "pending", "completed"]
