"""The ``mega`` command line (Typer)."""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from typing import Annotated, Optional

import typer

from mega.cli import ha, inventory
from mega.cli.common import State, cli_errors, emit, fail, settings

app = typer.Typer(
    help="Mega: control plane of a MySQL/MariaDB fleet (resource pool, switchover, failover).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The inventory store.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(inventory.servers, name="server")
app.add_typer(inventory.instances, name="instance")
app.add_typer(inventory.databases, name="database")
app.add_typer(inventory.groups, name="group")
app.add_typer(inventory.owners, name="owner")
app.add_typer(inventory.businesses, name="business")
app.add_typer(ha.ha, name="ha")
app.add_typer(ha.sandbox, name="sandbox")


@app.callback()
def _root(
    config: Annotated[Optional[str], typer.Option("--config", help="TOML settings file.", envvar="MEGA_CONFIG")] = None,
) -> None:
    State.config = config


@app.command()
def serve() -> None:
    """Run Mega: the RPC listener on MEGA_RPC_ADDR over the store at MEGA_DB_URL (SQLite ./mega.db by default)."""
    from mega.daemon import serve as run_serve

    with cli_errors():
        cfg = settings()
        logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            run_serve(cfg, ready=lambda where: typer.echo(f"mega: RPC listening on {where}", err=True))
        except OSError as exc:
            fail(f"cannot listen on {cfg.rpc_addr}: {exc.strerror or exc}", 1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the inventory schema to the newest version."""
    from mega.inventory.db import Store, current_revision

    with cli_errors():
        url = settings().db_url
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        store = Store(url)
        store.upgrade()
        typer.echo(f"inventory schema at revision {current_revision(store.engine)}")


@app.command()
def funcs(json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the seed API functions (what RPC callers and `mega call` can use)."""
    from mega import api

    items = api.describe_functions()
    if json:
        typer.echo(jsonlib.dumps(items, indent=2))
        return
    for n, item in enumerate(items, 1):
        typer.echo(f"{n:2d} {item['name']}{item['args']}")


@app.command()
def call(
    func: Annotated[str, typer.Argument(help="A seed API function (see `mega funcs`).")],
    args: Annotated[str, typer.Argument(help="Its arguments as call text, e.g. \"'10.0.0.1',3306\".")] = "",
    json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Call a seed API function in-process, the way an RPC caller would; prints its result."""
    from mega import api
    from mega.rpc.codec import RequestError, parse_args

    functions = api.public_functions()
    if func not in functions:
        fail(f"unknown function {func!r}; `mega funcs` lists them", 2)
    try:
        pos, kw = parse_args(args) if args.strip() else ((), {})
    except RequestError as exc:
        fail(f"bad arguments: {exc}", 2)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    with cli_errors():
        State.service()
        result = functions[func](*pos, **kw)
    typer.echo(jsonlib.dumps(result, default=str, ensure_ascii=False) if json else repr(result))
    raise typer.Exit(_exit_status(getattr(functions[func], "__seed_shape__", ""), result))


def _exit_status(shape: str, result: object) -> int:
    """0 when the seed result means success, else the CLI's status for its code (2, 3, 4, 1)."""
    from mega.cli.common import EXIT_FOR_CODE
    from mega.errors import Code

    if shape in ("list", "one"):
        code = result[1]  # type: ignore[index]
    elif shape == "code":
        code = result
    else:  # bool / id: False or None is a failure whose reason went to stderr
        return 1 if result is False or result is None else 0
    return 0 if code == 0 else EXIT_FOR_CODE.get(Code(code), 1)


@app.command()
def changes(
    object_type: Annotated[
        Optional[str], typer.Option("--type", help="server, instance, database, ha_group...")
    ] = None,
    object_id: Annotated[Optional[int], typer.Option("--id")] = None,
    count: int = 50,
    json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The change log: who changed what, newest first."""
    with cli_errors():
        rows = State.service().list_changes(object_type, object_id, count)
    emit(rows, json, ("id", "at", "actor", "action", "object_type", "object_id"))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
