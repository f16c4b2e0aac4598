"""Validation of the seed API's ``**args`` keyword sets.

Each set is a pydantic model that forbids unknown keys and accepts both legacy spellings
(``instance_bussiness``/``instance_business`` and so on).  Types are strict enough to refuse
nonsense (a list for a name, a bool for a level) and lax where 2014 callers were (numeric strings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from mega.errors import InvalidArgument

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def _parse_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in (DATE_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, fmt)
            except ValueError:
                continue
        raise ValueError(f"expected a date 'YYYY-MM-DD[ HH:MM:SS]', got {value!r}")
    raise ValueError(f"expected a date string 'YYYY-MM-DD HH:MM:SS', got {type(value).__name__}")


def _int_like(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _ref(value: Any) -> Any:
    """An owner or business: an id (int) or a name (str)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("expected an id (integer) or a name (string)")
    if isinstance(value, str) and not value.strip():
        raise ValueError("name is empty")
    return value


Date = Annotated[datetime, BeforeValidator(_parse_date)]
Int = Annotated[int, BeforeValidator(_int_like)]
Level = Annotated[int, BeforeValidator(_int_like), Field(ge=0, le=100)]
Stat = Annotated[Literal[0, 1], BeforeValidator(_int_like)]
Ref = Annotated[int | str, BeforeValidator(_ref)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    def given(self) -> dict[str, Any]:
        """The fields the caller actually passed."""
        return self.model_dump(exclude_unset=True)


class ServerFields(_Fields):
    name: Name | None = Field(None, validation_alias=AliasChoices("server_name"))
    online_date: Date | None = Field(None, validation_alias=AliasChoices("server_online"))
    owner: Ref | None = Field(None, validation_alias=AliasChoices("server_owner"))
    os: Short | None = Field(None, validation_alias=AliasChoices("server_os"))
    stat: Stat | None = Field(None, validation_alias=AliasChoices("server_stat"))


class InstanceFields(_Fields):
    level: Level | None = Field(None, validation_alias=AliasChoices("instance_level"))
    name: Name | None = Field(None, validation_alias=AliasChoices("instance_name"))
    business: Ref | None = Field(
        None, validation_alias=AliasChoices("instance_bussiness", "instance_business")
    )
    online_date: Date | None = Field(None, validation_alias=AliasChoices("instance_online"))
    owner: Ref | None = Field(None, validation_alias=AliasChoices("instance_owner"))
    db_type: Short | None = Field(None, validation_alias=AliasChoices("instance_dbtype", "instance_db_type"))
    ha_type: Short | None = Field(None, validation_alias=AliasChoices("instance_hatype", "instance_ha_type"))
    role: Literal[1, 2] | None = Field(None, validation_alias=AliasChoices("instance_role"))
    master: str | None = Field(None, validation_alias=AliasChoices("instance_master"))
    version: Short | None = Field(None, validation_alias=AliasChoices("instance_version"))
    stat: Stat | None = Field(None, validation_alias=AliasChoices("instance_stat"))


class DatabaseFields(_Fields):
    ip: str | None = Field(None, validation_alias=AliasChoices("database_ip"))
    port: Int | None = Field(None, validation_alias=AliasChoices("database_port"))
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, validation_alias=AliasChoices("database_name")
    )
    level: Level | None = Field(None, validation_alias=AliasChoices("database_level"))
    owner: Ref | None = Field(None, validation_alias=AliasChoices("database_owner"))
    business: Ref | None = Field(
        None, validation_alias=AliasChoices("database_business", "database_bussiness")
    )
    online_date: Date | None = Field(None, validation_alias=AliasChoices("database_online"))
    stat: Stat | None = Field(None, validation_alias=AliasChoices("database_stat"))


class GroupFields(_Fields):
    manager: str | None = Field(None, validation_alias=AliasChoices("group_manager"))
    wvip: str | None = Field(None, validation_alias=AliasChoices("group_wvip"))
    rvip: str | None = Field(None, validation_alias=AliasChoices("group_rvip"))
    type: Short | None = Field(None, validation_alias=AliasChoices("group_type"))
    members: list[str] | None = Field(None, validation_alias=AliasChoices("group_members"))
    master: str | None = Field(None, validation_alias=AliasChoices("group_master"))
    auto_failover: Stat | None = Field(None, validation_alias=AliasChoices("group_auto_failover"))
    stat: Stat | None = Field(None, validation_alias=AliasChoices("group_stat"))


class OwnerFields(_Fields):
    email: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, validation_alias=AliasChoices("owner_email")
    )
    phone: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, validation_alias=AliasChoices("owner_phone")
    )


class BusinessFields(_Fields):
    owner: Ref | None = Field(None, validation_alias=AliasChoices("business_owner"))
    phone: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, validation_alias=AliasChoices("business_phone")
    )


def parse_fields(model: type[_Fields], args: dict[str, Any]) -> _Fields:
    """Validate ``args`` against ``model``.

    :raises InvalidArgument: naming every bad or unknown key.
    """
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "?"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{key}: {msg}")
        raise InvalidArgument("; ".join(problems)) from None


def name_text(value: Any, what: str, max_len: int = 128) -> str:
    """A required non-empty name."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{what} must be a non-empty string")
    if len(value) > max_len:
        raise InvalidArgument(f"{what} is longer than {max_len} characters")
    return value


def count_arg(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"count must be an integer >= 0, got {value!r}")
    return value
