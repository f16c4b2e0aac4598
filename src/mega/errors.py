"""One exception hierarchy and the seed's numeric codes, mapped in one table.

Seed codes: ``0`` success, ``1`` not found, ``2`` invalid arguments, ``3`` conflict (already
exists or still in use), ``-1`` internal error.
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    """The seed API's return codes."""

    OK = 0
    NOT_FOUND = 1
    INVALID = 2
    CONFLICT = 3
    INTERNAL = -1


class MegaError(Exception):
    """Base of every error Mega raises on purpose; ``code`` is its seed code."""

    code: Code = Code.INTERNAL


class InvalidArgument(MegaError):
    """The caller's input is wrong (type, format, unknown key); nothing was changed."""

    code = Code.INVALID


class NotFound(MegaError):
    """The named object does not exist."""

    code = Code.NOT_FOUND


class Conflict(MegaError):
    """The object already exists, is still in use, or another operation holds it."""

    code = Code.CONFLICT


class StoreUnavailable(MegaError):
    """The inventory store cannot be reached."""

    code = Code.INTERNAL


class LiveServerError(MegaError):
    """A live MySQL/MariaDB server refused or failed an operation (see ``errno``)."""

    code = Code.INTERNAL

    def __init__(self, message: str, errno: int | None = None, target: str | None = None) -> None:
        super().__init__(message)
        self.errno = errno
        self.target = target


class OperationRefused(MegaError):
    """An HA operation is not allowed now (pre-check failed, lock held, primary alive...)."""

    code = Code.CONFLICT


def code_of(exc: BaseException) -> Code:
    """The seed code for ``exc``: its own for :class:`MegaError`, ``-1`` for anything else."""
    return exc.code if isinstance(exc, MegaError) else Code.INTERNAL
