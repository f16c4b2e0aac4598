"""Typed settings, built by :func:`load_settings` (never at import time).

Layers, lowest first: defaults, an optional TOML file (``--config`` or ``MEGA_CONFIG``), then
``MEGA_*`` environment variables.  Secrets are :class:`pydantic.SecretStr` so they never print.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from mega.domain.address import parse_endpoint
from mega.errors import InvalidArgument


class Settings(BaseSettings):
    """Everything Mega reads from its environment.

    :ivar db_url: SQLAlchemy URL of the inventory store (SQLite by default).
    :ivar rpc_addr: ``host:port`` the 1104 RPC listener binds to.
    :ivar token: shared secret every RPC request must carry (``TOKEN`` key) when set.
    """

    model_config = SettingsConfigDict(env_prefix="MEGA_", extra="forbid", validate_default=True)

    db_url: str = Field(default_factory=lambda: f"sqlite:///{Path.cwd() / 'mega.db'}")
    rpc_addr: str = "127.0.0.1:1104"
    http_addr: str = "127.0.0.1:8104"
    token: SecretStr | None = None
    rpc_max_frame: int = Field(default=4 * 1024 * 1024, ge=1024)
    rpc_timeout: float = Field(default=10.0, gt=0)
    rpc_max_clients: int = Field(default=256, ge=1)
    log_level: str = "INFO"

    # Credentials Mega uses on managed instances (admin) and for replication.
    mysql_user: str = "mega"
    mysql_password: SecretStr = SecretStr("mega")
    repl_user: str = "mega_repl"
    repl_password: SecretStr = SecretStr("mega_repl")
    connect_timeout: float = Field(default=2.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)

    # HA engine.
    hooks_dir: str | None = None
    hook_timeout: float = Field(default=30.0, gt=0)
    catchup_timeout: float = Field(default=10.0, gt=0)
    read_only_timeout: float = Field(default=5.0, gt=0)
    max_failover_lag: float = Field(default=60.0, ge=0)
    operation_timeout: float = Field(default=120.0, gt=0)

    @field_validator("rpc_addr", "http_addr")
    @classmethod
    def _check_addr(cls, value: str) -> str:
        try:
            parse_endpoint(value)
        except InvalidArgument as exc:
            raise ValueError(str(exc)) from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get("MEGA_CONFIG")
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings: defaults < TOML file < environment < explicit ``overrides``.

    :param config: a TOML file; ``MEGA_CONFIG`` is used when not given.
    :raises pydantic.ValidationError: on a bad value, naming the field.
    """
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        previous = os.environ.get("MEGA_CONFIG")
        os.environ["MEGA_CONFIG"] = str(path)
        try:
            return Settings(**overrides)
        finally:
            if previous is None:
                os.environ.pop("MEGA_CONFIG", None)
            else:
                os.environ["MEGA_CONFIG"] = previous
    return Settings(**overrides)
