"""All configuration comes from the environment, validated once into `Settings`.

A bad or missing value fails fast with a message naming the variable, so a
misconfigured pod crash-loops with a readable log line instead of serving errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    # Empty variables count as unset, so `OPENAI_API_KEY=` in a manifest means "no key".
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=False)

    better_auth_secret: SecretStr = Field(min_length=1)
    database_url: str | None = None
    sqlite_path: Path = Path("./data/todo.db")

    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1, le=64)
    graceful_timeout: float = Field(default=20.0, ge=0)
    log_level: LogLevel = "info"
    max_body_bytes: int = Field(default=65536, ge=1024)
    cors_origins: str | None = None

    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_timeout: float = Field(default=30.0, gt=0)
    # Where the agent reaches the MCP tools; defaults to this very process.
    mcp_server_url: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @field_validator("database_url")
    @classmethod
    def _pg_driver(cls, v: str | None) -> str | None:
        """Accept the URL forms hosting providers hand out and pin the psycopg 3 driver."""
        if v is None:
            return None
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
            if v.startswith(prefix):
                return "postgresql+psycopg://" + v[len(prefix) :]
        if v.startswith(("postgresql+psycopg://", "sqlite:")):
            return v
        raise ValueError("must be a postgresql:// (or postgres://) URL")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path}"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]

    @property
    def mcp_url(self) -> str:
        return self.mcp_server_url or f"http://127.0.0.1:{self.port}/mcp"


def describe_error(exc: ValidationError) -> str:
    """One line per bad variable, named as it is set in the environment."""
    lines = []
    for err in exc.errors():
        name = "_".join(str(p) for p in err["loc"]).upper() or "?"
        msg = "is required" if err["type"] == "missing" else err["msg"]
        lines.append(f"  {name}: {msg}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings() -> Settings:
    """Settings from the environment, or exit with a readable message."""
    try:
        return Settings()  # type: ignore[call-arg]  # fields come from the environment
    except ValidationError as exc:
        raise SystemExit(describe_error(exc)) from None
