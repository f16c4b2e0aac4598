"""Shared CLI plumbing: settings and service from the environment, output, error exits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

from mega.errors import Code, MegaError, code_of

EXIT_FOR_CODE = {Code.NOT_FOUND: 3, Code.INVALID: 2, Code.CONFLICT: 4, Code.INTERNAL: 1}


class State:
    config: str | None = None
    _service: Any = None

    @classmethod
    def service(cls) -> Any:
        if cls._service is None:
            from mega import api
            from mega.service import Service
            from mega.settings import load_settings

            svc = Service(load_settings(cls.config))
            svc.store.upgrade()
            api.bind(svc)
            cls._service = svc
        return cls._service


def settings() -> Any:
    from mega.settings import load_settings

    return load_settings(State.config)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn Mega errors into one red line and an exit status (2 invalid, 3 not found, 4 conflict)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, OperationalError

    from mega import context

    try:
        with context.acting_as(f"cli:{_user()}"):
            yield
    except MegaError as exc:
        code = code_of(exc)
        typer.secho(f"error ({code.name.lower().replace('_', ' ')}): {exc}", fg="red", err=True)
        raise typer.Exit(EXIT_FOR_CODE.get(code, 1)) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '?'}: "
                             f"{'unknown setting' if e['type'] == 'extra_forbidden' else e['msg']}"
                             for e in exc.errors())
        typer.secho(f"error: bad settings (MEGA_* variables or --config file): {problems}", fg="red", err=True)
        raise typer.Exit(2) from None
    except FileNotFoundError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    except ArgumentError as exc:
        typer.secho(f"error: MEGA_DB_URL is not a usable database URL: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    except OperationalError as exc:
        typer.secho(f"error: cannot use the inventory store: {exc.orig}", fg="red", err=True)
        raise typer.Exit(1) from None


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def emit(data: Any, as_json: bool, columns: Sequence[str] | None = None) -> None:
    """Print ``data`` as JSON, or as an aligned table (lists of dicts) / key: value lines (dicts)."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
        return
    if isinstance(data, list):
        if not data:
            typer.echo("(none)")
            return
        cols = list(columns or data[0].keys())
        cells = [[_cell(row.get(c)) for c in cols] for row in data]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
        typer.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
        for r in cells:
            typer.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        return
    if isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, value in data.items():
            typer.echo(f"{key.ljust(width)}  {_cell(value)}")
        return
    typer.echo(_cell(data))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def seed_args(**options: Any) -> dict[str, Any]:
    """The seed-style ``**args`` from CLI options, leaving out those not given."""
    return {key: value for key, value in options.items() if value is not None}


def run(fn: Callable[[], Any]) -> Any:
    with cli_errors():
        return fn()


def fail(message: str, status: int = 2) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(status)
