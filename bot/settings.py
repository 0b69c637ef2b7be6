"""Settings from the environment or .env (pydantic-settings); every one is in .env.example."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator, model_validator
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
    dingtalk_client_id: str = ""
    dingtalk_client_secret: SecretStr | None = None
    dingtalk_robot_code: str = ""
    dingtalk_openapi_url: str = "https://api.dingtalk.com"
    dingtalk_oapi_url: str = "https://oapi.dingtalk.com"
    dingtalk_group_id: str | None = None
    wecom_webhook_url: SecretStr | None = None
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

    @field_validator(
        "group_chat_id",
        "rules_file",
        "dingtalk_client_secret",
        "dingtalk_group_id",
        "wecom_webhook_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("dingtalk_openapi_url", "dingtalk_oapi_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _robot_code_defaults_to_app_key(self) -> Settings:
        """DingTalk gives an app's own robot the app's AppKey as its code."""
        if not self.dingtalk_robot_code:
            self.dingtalk_robot_code = self.dingtalk_client_id
        return self

    @property
    def dingtalk_configured(self) -> bool:
        """Both DingTalk credentials are set, so `kaohe run` can start the DingTalk robot."""
        return bool(self.dingtalk_client_id and self.dingtalk_client_secret)

    @cached_property
    def tz(self) -> ZoneInfo:
        """The bureau's time zone."""
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The current time in the bureau's zone: read here, at the edge, and passed inward."""
        return datetime.now(self.tz)
