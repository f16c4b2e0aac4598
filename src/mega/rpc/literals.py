"""Literal-safe values: what may travel in 1104 requests and replies (standard library only).

A reply is the ``repr`` of a value made only of ``str``, ``int``, finite ``float``, ``bool``,
``None``, ``list``, ``tuple`` and ``dict``, so ``ast.literal_eval`` (or an old caller's ``eval``)
reads it back. :func:`to_literal` converts common result types into that shape.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import ipaddress
import math
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, Final


class ReplyError(ValueError):
    """A reply (or a result to be sent as a reply) is not made of literal-safe values."""


SAFE_SCALARS: Final = (str, int, float, bool, type(None))


def check_literal(value: Any, _depth: int = 0) -> None:
    """Raise :class:`ReplyError` unless ``value`` is built only from literal-safe exact types.

    Allowed: ``str``, ``int``, ``float`` (finite), ``bool``, ``None``, ``list``, ``tuple``, ``dict``.
    """
    if _depth > 200:
        raise ReplyError("value is nested too deeply")
    kind = type(value)
    if kind in SAFE_SCALARS:
        if kind is float and not math.isfinite(value):
            raise ReplyError(f"{value!r} is not a literal")
        return
    if kind is list or kind is tuple:
        for item in value:
            check_literal(item, _depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            check_literal(key, _depth + 1)
            check_literal(item, _depth + 1)
        return
    raise ReplyError(f"values of type {kind.__name__} are not allowed (only str, int, float, bool, "
                     "None, list, tuple, dict)")


def to_literal(value: Any, _depth: int = 0) -> Any:
    """Convert a result to literal-safe types so its ``repr`` reads back with ``literal_eval``.

    Conversions: subclasses (``IntEnum``, ``NamedTuple``...) to their base type, ``Enum`` to its
    value, ``datetime`` to ``'YYYY-MM-DD HH:MM:SS'``, ``date``/``time`` to ISO text, ``timedelta``
    to seconds, ``Decimal`` to ``int`` or ``float``, ``bytes`` to text, sets to sorted lists,
    mappings and dataclasses / pydantic models to dicts, UUIDs, paths and IP addresses to text,
    NaN and infinities to ``None``.

    :raises ReplyError: for anything else (the caller should answer with an internal error).
    """
    if _depth > 200:
        raise ReplyError("result is nested too deeply")
    if value is None or type(value) in (str, int, bool):
        return value
    nxt = _depth + 1
    if isinstance(value, enum.Enum):
        return to_literal(value.value, nxt)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (str, int)):
        return str(value) if isinstance(value, str) else int(value)
    if isinstance(value, (list, tuple)):
        converted = [to_literal(item, nxt) for item in value]
        return converted if isinstance(value, list) else tuple(converted)
    if isinstance(value, Mapping):
        return {to_literal(key, nxt): to_literal(item, nxt) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [to_literal(item, nxt) for item in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (uuid.UUID, PurePath, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_literal({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, nxt)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_literal(dump(), nxt)
    raise ReplyError(f"a result of type {type(value).__name__} cannot be sent over RPC")
