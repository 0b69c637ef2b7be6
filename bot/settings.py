"""Settings from the environment or .env (pydantic-settings); every one is in .env.example."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scoring.db import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    """Everything the bot and the CLI read from the environment."""

    model_config = SettingsConfigDict(env_prefix="KAOHE_", env_file=".env", extra="ignore")

    bot_token: str = ""
    bot_username: str = ""
    bot_api_base_url: str = "https://api.telegram.org/bot"
    bot_api_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = DEFAULT_DATABASE_URL
    group_chat_id: int | None = None
    timezone: str = "Asia/Shanghai"
    rules_file: str | None = None
    rate_limit: bool = True
    webhook_secret: str = ""
    # where evidence photos and documents are kept ("": the evidence folder beside a SQLite
    # database, else data/evidence)
    evidence_dir: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("group_chat_id", "rules_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @cached_property
    def tz(self) -> ZoneInfo:
        """The bureau's time zone."""
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The current time in the bureau's zone: read here, at the edge, and passed inward."""
        return datetime.now(self.tz)
