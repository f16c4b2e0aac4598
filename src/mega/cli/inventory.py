"""``mega server|instance|database|group|owner|business ...``: the resource pool from the shell."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mega.cli.common import State, emit, run, seed_args

JSON = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
STAT = Annotated[int, typer.Option("--stat", help="0 all, 1 online, 2 offline.")]
COUNT = Annotated[int, typer.Option("--count", help="At most N rows (0: all).")]
PORT = Annotated[Optional[int], typer.Argument(help="Instance port (or give IP as HOST:PORT; default 3306).")]

servers = typer.Typer(help="Servers (hosts).", no_args_is_help=True)
instances = typer.Typer(help="MySQL/MariaDB instances (host:port).", no_args_is_help=True)
databases = typer.Typer(help="Databases (schemas) on instances.", no_args_is_help=True)
groups = typer.Typer(help="HA groups (a primary, its replicas, VIPs).", no_args_is_help=True)
owners = typer.Typer(help="Owners.", no_args_is_help=True)
businesses = typer.Typer(help="Business lines.", no_args_is_help=True)

SERVER_COLS = ("id", "ip", "name", "os", "stat", "owner_name", "online_date")
INSTANCE_COLS = ("id", "ip", "port", "name", "role", "master", "stat", "business", "owner", "db_type", "level")
DB_COLS = ("id", "ip", "port", "name", "stat", "business", "owner_name", "level", "online_date")
GROUP_COLS = ("id", "name", "master", "members", "wvip", "rvip", "type", "stat", "last_time")


def _svc():  # type: ignore[no-untyped-def]
    return State.service()


def _at(ip: str, port: int | None) -> tuple[str, int]:
    """``IP PORT`` or ``HOST:PORT`` (``[v6]:port``) as (host, port)."""
    if port is not None:
        return ip, port
    from mega.domain.address import parse_endpoint

    ep = run(lambda: parse_endpoint(ip, default_port=3306))
    return ep.host, ep.port


# --- servers --------------------------------------------------------------------------------


@servers.command("list")
def server_list(stat: STAT = 0, count: COUNT = 0, json: JSON = False) -> None:
    emit(run(lambda: _svc().list_servers(stat, count)), json, SERVER_COLS)


@servers.command("show")
def server_show(ip: str, json: JSON = False) -> None:
    emit(run(lambda: _svc().get_server(ip)), json)


@servers.command("add")
def server_add(
    ip: str,
    name: Annotated[Optional[str], typer.Option(help="Defaults to the ip.")] = None,
    os: Optional[str] = None,
    owner: Annotated[Optional[str], typer.Option(help="Owner name.")] = None,
    online: Annotated[Optional[str], typer.Option(help="Online date YYYY-MM-DD[ HH:MM:SS].")] = None,
    json: JSON = False,
) -> None:
    args = seed_args(server_name=name, server_os=os, server_owner=owner, server_online=online)
    emit(run(lambda: _svc().add_server(ip, args)), json)


@servers.command("mod")
def server_mod(
    ip: str,
    name: Optional[str] = None,
    os: Optional[str] = None,
    owner: Optional[str] = None,
    online: Optional[str] = None,
    stat: Annotated[Optional[int], typer.Option(help="1 online, 0 offline.")] = None,
    json: JSON = False,
) -> None:
    args = seed_args(server_name=name, server_os=os, server_owner=owner, server_online=online, server_stat=stat)
    emit(run(lambda: _svc().mod_server(ip, args)), json)


@servers.command("del")
def server_del(ip: str) -> None:
    run(lambda: _svc().del_server(ip))
    typer.echo(f"server {ip} is offline")


# --- instances ------------------------------------------------------------------------------


def _instance_args(name, level, business, owner, db_type, ha_type, role, master, version, online, stat=None):  # type: ignore[no-untyped-def]
    return seed_args(
        instance_name=name, instance_level=level, instance_business=business, instance_owner=owner,
        instance_db_type=db_type, instance_ha_type=ha_type, instance_role=role, instance_master=master,
        instance_version=version, instance_online=online, instance_stat=stat,
    )


@instances.command("list")
def instance_list(stat: STAT = 0, count: COUNT = 0, json: JSON = False) -> None:
    emit(run(lambda: _svc().list_instances(stat, count)), json, INSTANCE_COLS)


@instances.command("show")
def instance_show(ip: str, port: PORT = None, json: JSON = False) -> None:
    host, port = _at(ip, port)
    emit(run(lambda: _svc().get_instance(host, port)), json)


@instances.command("add")
def instance_add(
    ip: str,
    port: PORT = None,
    name: Optional[str] = None,
    level: Optional[int] = None,
    business: Optional[str] = None,
    owner: Optional[str] = None,
    db_type: Optional[str] = None,
    ha_type: Optional[str] = None,
    role: Annotated[Optional[int], typer.Option(help="1 master, 2 replica.")] = None,
    master: Annotated[Optional[str], typer.Option(help="Its master, host:port.")] = None,
    version: Optional[str] = None,
    online: Optional[str] = None,
    json: JSON = False,
) -> None:
    host, port = _at(ip, port)
    args = _instance_args(name, level, business, owner, db_type, ha_type, role, master, version, online)
    emit(run(lambda: _svc().add_instance(host, port, args)), json)


@instances.command("mod")
def instance_mod(
    ip: str,
    port: PORT = None,
    name: Optional[str] = None,
    level: Optional[int] = None,
    business: Optional[str] = None,
    owner: Optional[str] = None,
    db_type: Optional[str] = None,
    ha_type: Optional[str] = None,
    role: Optional[int] = None,
    master: Optional[str] = None,
    version: Optional[str] = None,
    online: Optional[str] = None,
    stat: Optional[int] = None,
    json: JSON = False,
) -> None:
    host, port = _at(ip, port)
    args = _instance_args(name, level, business, owner, db_type, ha_type, role, master, version, online, stat)
    emit(run(lambda: _svc().mod_instance(host, port, args)), json)


@instances.command("del")
def instance_del(ip: str, port: PORT = None) -> None:
    host, port = _at(ip, port)
    run(lambda: _svc().del_instance(host, port))
    typer.echo(f"instance {ip if port is None else f'{host}:{port}'} is offline")


# --- databases ------------------------------------------------------------------------------


@databases.command("list")
def database_list(stat: STAT = 0, count: COUNT = 0, json: JSON = False) -> None:
    emit(run(lambda: _svc().list_databases(stat, count)), json, DB_COLS)


@databases.command("show")
def database_show(ip: str, port: int, db: str, json: JSON = False) -> None:
    emit(run(lambda: _svc().get_database(ip, port, db)), json)


@databases.command("add")
def database_add(
    ip: str, port: int, db: str,
    level: Optional[int] = None, business: Optional[str] = None, owner: Optional[str] = None,
    online: Optional[str] = None, json: JSON = False,
) -> None:
    args = seed_args(database_level=level, database_business=business, database_owner=owner, database_online=online)
    emit(run(lambda: _svc().add_database(db, ip, port, args)), json)


@databases.command("mod")
def database_mod(
    ip: str, port: int, db: str,
    name: Annotated[Optional[str], typer.Option(help="Rename.")] = None,
    level: Optional[int] = None, business: Optional[str] = None, owner: Optional[str] = None,
    online: Optional[str] = None, stat: Optional[int] = None, json: JSON = False,
) -> None:
    args = seed_args(database_name=name, database_level=level, database_business=business,
                     database_owner=owner, database_online=online, database_stat=stat)
    emit(run(lambda: _svc().mod_database(ip, port, db, args)), json)


@databases.command("del")
def database_del(ip: str, port: int, db: str) -> None:
    run(lambda: _svc().del_database(ip, port, db))
    typer.echo(f"database {db} on {ip}:{port} is offline")


# --- HA groups ------------------------------------------------------------------------------


def _group_args(manager, wvip, rvip, type_, members, auto_failover, master=None, stat=None):  # type: ignore[no-untyped-def]
    return seed_args(
        group_manager=manager, group_wvip=wvip, group_rvip=rvip, group_type=type_,
        group_members=[m.strip() for m in members.split(",") if m.strip()] if members else None,
        group_auto_failover=auto_failover, group_master=master, group_stat=stat,
    )


@groups.command("list")
def group_list(stat: STAT = 0, count: COUNT = 0, json: JSON = False) -> None:
    emit(run(lambda: _svc().list_groups(stat, count)), json, GROUP_COLS)


@groups.command("show")
def group_show(name: str, json: JSON = False) -> None:
    emit(run(lambda: _svc().get_group(name)), json)


MEMBERS = Annotated[Optional[str], typer.Option(help="Comma-separated host:port list.")]


@groups.command("add")
def group_add(
    name: str,
    master: Annotated[str, typer.Argument(help="The primary, host:port.")],
    members: MEMBERS = None,
    manager: Annotated[Optional[str], typer.Option(help="Manager server ip.")] = None,
    wvip: Optional[str] = None,
    rvip: Optional[str] = None,
    type: Optional[str] = None,
    auto_failover: Optional[int] = None,
    json: JSON = False,
) -> None:
    args = _group_args(manager, wvip, rvip, type, members, auto_failover)
    emit(run(lambda: _svc().add_group(name, master, args)), json)


@groups.command("mod")
def group_mod(
    name: str,
    members: MEMBERS = None,
    manager: Optional[str] = None,
    wvip: Optional[str] = None,
    rvip: Optional[str] = None,
    type: Optional[str] = None,
    auto_failover: Optional[int] = None,
    master: Annotated[Optional[str], typer.Option(help="Record another primary (no switch!).")] = None,
    stat: Optional[int] = None,
    json: JSON = False,
) -> None:
    args = _group_args(manager, wvip, rvip, type, members, auto_failover, master, stat)
    emit(run(lambda: _svc().mod_group(name, args)), json)


@groups.command("del")
def group_del(name: str) -> None:
    run(lambda: _svc().del_group(name))
    typer.echo(f"HA group {name} is offline")


@groups.command("rule")
def group_rule(
    name: str,
    member: str,
    rule: Annotated[str, typer.Argument(help="prefer, neutral, prefer_not or must_not.")],
) -> None:
    """Set a member's promotion rule (used when choosing a new primary)."""
    run(lambda: _svc().set_promotion_rule(name, member, rule))
    typer.echo(f"{member} in {name}: {rule}")


# --- owners, business lines -----------------------------------------------------------------


@owners.command("list")
def owner_list(count: COUNT = 0, json: JSON = False) -> None:
    emit(run(lambda: _svc().list_owners(count)), json)


@owners.command("add")
def owner_add(name: str, email: Optional[str] = None, phone: Optional[str] = None, json: JSON = False) -> None:
    emit(run(lambda: _svc().add_owner(name, seed_args(owner_email=email, owner_phone=phone))), json)


@businesses.command("list")
def business_list(count: COUNT = 0, json: JSON = False) -> None:
    emit(run(lambda: _svc().list_businesses(count)), json)


@businesses.command("add")
def business_add(name: str, owner: Optional[str] = None, phone: Optional[str] = None, json: JSON = False) -> None:
    emit(run(lambda: _svc().add_business(name, seed_args(business_owner=owner, business_phone=phone))), json)
