"""``mega ha ...`` (switchover, failover, rejoin, history, show) and ``mega sandbox ...``."""

from __future__ import annotations

import json as jsonlib
from typing import Annotated, Any, Optional

import typer

from mega.cli.common import State, _user, emit, run

ha = typer.Typer(help="Move the primary role: switchover, failover, rejoin; and their records.",
                 no_args_is_help=True)
sandbox = typer.Typer(help="Local MariaDB topologies (N mariadbd on loopback) registered as an HA group.",
                      no_args_is_help=True)
JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EXIT = {"Y": 0, "partial": 5, "aborted": 6, "rolled_back": 7, "N": 8}


def _say(line: str) -> None:
    typer.echo(line, err=True)


def _finish(outcome: Any, json: bool) -> None:
    data = outcome.as_dict()
    if json:
        typer.echo(jsonlib.dumps(data, indent=2, default=str))
    else:
        typer.echo(f"record {data['record_id']}: {data['kind']} of {data['group']} -> {data['status']} "
                   f"in {data['elapsed']:.2f}s")
        typer.echo(data["message"])
        for lost in data["lost"]:
            typer.echo(f"  lost {lost['endpoint']}: {lost['reason']}")
    raise typer.Exit(EXIT.get(data["status"], 1))


@ha.command()
def switchover(
    group: str,
    to: Annotated[Optional[str], typer.Option("--to", help="The new primary, HOST:PORT (default: the best).")] = None,
    json: JSON = False,
) -> None:
    """Planned switchover: the primary is alive; no acknowledged write is lost."""
    outcome = run(lambda: State.service().switchover(group, to, requested_by=f"cli:{_user()}", progress=_say))
    _finish(outcome, json)


@ha.command()
def failover(
    group: str,
    to: Annotated[Optional[str], typer.Option("--to", help="The new primary, HOST:PORT (default: the best).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Even if the primary still answers.")] = False,
    json: JSON = False,
) -> None:
    """Failover of a dead primary to the most advanced eligible replica."""
    outcome = run(lambda: State.service().failover(group, to, force=force, requested_by=f"cli:{_user()}",
                                                   progress=_say))
    _finish(outcome, json)


@ha.command()
def rejoin(group: str, instance: Annotated[str, typer.Argument(help="HOST:PORT of the former primary.")],
           json: JSON = False) -> None:
    """Make a former primary a replica of the current one (refused if it holds extra transactions)."""
    outcome = run(lambda: State.service().rejoin(group, instance, requested_by=f"cli:{_user()}", progress=_say))
    _finish(outcome, json)


@ha.command()
def history(group: str, count: int = 20, json: JSON = False) -> None:
    """The group's switch records, newest first."""
    rows = run(lambda: State.service().list_records(group, count))
    emit(rows, json, ("id", "kind", "method", "result", "old_master", "new_master", "requested_by", "re_time",
                      "end_time"))


@ha.command()
def show(record: int, json: JSON = False) -> None:
    """One switch record with every step."""
    data = run(lambda: State.service().get_record(record))
    if json:
        emit(data, True)
        return
    details = data.pop("details")
    emit({k: v for k, v in data.items() if k not in ("candidates", "lost")}, False)
    for c in data["candidates"]:
        typer.echo(f"candidate #{c['rank']} {c['endpoint']}: {'eligible' if c['eligible'] else 'excluded'}"
                   + (f" ({'; '.join(c['reasons'])})" if c["reasons"] else ""))
    for lost in data["lost"]:
        typer.echo(f"lost {lost['endpoint']}: {lost['reason']}")
    emit(details, False, ("re_time", "module", "target", "result", "time_used", "content"))


# --- sandbox ------------------------------------------------------------------------------


@sandbox.command("up")
def sandbox_up(
    name: Annotated[str, typer.Option("--name", help="Sandbox and HA group name.")] = "sandbox",
    nodes: Annotated[int, typer.Option("--nodes")] = 3,
    base_port: Annotated[Optional[int], typer.Option("--base-port")] = None,
    directory: Annotated[Optional[str], typer.Option("--dir")] = None,
) -> None:
    """Start N mariadbd on loopback (node 1 primary, GTID replicas) and register them as HA group NAME."""
    from mega import sandbox as sb

    def go() -> Any:
        cfg = State.service().settings
        box = sb.up(name, nodes, base_port, directory, settings=cfg, progress=_say)
        primary, replicas = box.topology()
        try:
            from mega.mysql.probe import probe

            version = probe(primary, cfg).version
            State.service().register_topology(name, str(primary), [str(r) for r in replicas],
                                              version=str(version or ""))
        except Exception:
            box.down(remove=False)
            raise
        return box, primary, replicas

    box, primary, replicas = run(go)
    typer.echo(f"sandbox {name}: primary {primary}, replicas {', '.join(map(str, replicas)) or 'none'}; "
               f"HA group {name!r} registered; data in {box.directory}")


NAME = Annotated[str, typer.Option("--name", help="Sandbox name (as given to `sandbox up`).")]
DIR = Annotated[Optional[str], typer.Option("--dir", help="Its directory, if `sandbox up` was given --dir.")]
NODE = Annotated[int, typer.Option("--node", help="Node number (1 = the first primary).")]


def _load(name: str, directory: str | None) -> Any:
    from mega import sandbox as sb
    from mega.errors import NotFound

    try:
        return sb.load(name, directory)
    except NotFound as exc:
        raise NotFound(f"{exc} (if `sandbox up` was given --dir, pass the same --dir)") from None


@sandbox.command("start")
def sandbox_start(name: NAME = "sandbox", directory: DIR = None, node: NODE = 1) -> None:
    """Start one stopped or killed node again (its data directory is kept)."""
    run(lambda: _load(name, directory).start(node, progress=_say))
    typer.echo(f"sandbox {name}: node {node} started")


@sandbox.command("stop")
def sandbox_stop(name: NAME = "sandbox", directory: DIR = None, node: NODE = 1) -> None:
    """Shut one node down cleanly."""
    run(lambda: _load(name, directory).stop(node))
    typer.echo(f"sandbox {name}: node {node} stopped")


@sandbox.command("kill")
def sandbox_kill(name: NAME = "sandbox", directory: DIR = None, node: NODE = 1) -> None:
    """SIGKILL one node (a crash, for trying failover)."""
    run(lambda: _load(name, directory).kill(node))
    typer.echo(f"sandbox {name}: node {node} killed")


@sandbox.command("status")
def sandbox_status(
    name: NAME = "sandbox",
    directory: DIR = None,
    json: JSON = False,
) -> None:
    """Each node: process, reachability, read_only, what it replicates from, GTID position."""
    from dataclasses import asdict


    rows = run(lambda: _load(name, directory).status())
    emit([{k: (str(v) if not isinstance(v, (int, float, bool, type(None), str)) else v)
           for k, v in asdict(r).items()} for r in rows], json)


@sandbox.command("down")
def sandbox_down(name: NAME = "sandbox", directory: DIR = None) -> None:
    """Stop every node, remove the directory, take the group and its instances offline (history stays)."""
    box = run(lambda: _load(name, directory))
    run(lambda: box.down())
    run(lambda: State.service().retire_group(name))
    typer.echo(f"sandbox {name}: stopped and removed; HA group {name!r} and its instances are offline")
