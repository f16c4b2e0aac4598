"""The use cases: the only thing the transports (seed API, RPC, HTTP, CLI) call.

Each method is one transaction on the inventory store.  Methods raise :mod:`mega.errors`
exceptions (``InvalidArgument``, ``NotFound``, ``Conflict``); the transports map them to the seed's
codes or to HTTP statuses.  Every mutation writes change-log rows inside the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mega import context
from mega.domain.address import Endpoint, canonical_host, canonical_port, parse_endpoint
from mega.errors import Conflict, InvalidArgument, NotFound
from mega.inventory import repo
from mega.inventory.db import Store
from mega.inventory.inputs import (
    BusinessFields,
    DatabaseFields,
    InstanceFields,
    OwnerFields,
    ServerFields,
    count_arg,
    name_text,
    parse_fields,
)
from mega.inventory.models import (
    OFFLINE,
    ONLINE,
    ROLE_MASTER,
    ROLE_REPLICA,
    Business,
    Database,
    HaGroup,
    Instance,
    Owner,
    Server,
)
from mega.service_groups import GroupCases
from mega.settings import Settings

log = logging.getLogger("mega.service")

DEFAULT_OWNER = 1
DEFAULT_BUSINESS = 1


class Service(GroupCases):
    """Inventory and HA use cases over one :class:`~mega.inventory.db.Store`."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.db_url)

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction; a uniqueness violation becomes :class:`Conflict`."""
        try:
            with self.store.write() as session:
                yield session
        except IntegrityError as exc:
            raise Conflict(f"conflicts with an existing row: {_short(exc)}") from exc

    def read(self) -> Any:
        return self.store.read()

    # -- servers ----------------------------------------------------------------------------

    def list_servers(self, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
        stat, count = repo.check_stat(stat), count_arg(count)
        with self.store.query() as c:
            return repo.list_servers(session=c, stat=stat, count=count)

    def get_server(self, ip: Any) -> dict[str, Any]:
        host = _host(ip)
        with self.read() as s:
            server = repo.require_server(session=s, ip=host)
            return repo.server_dict(session=s, server_id=server.id)

    def add_server(self, ip: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        host = _host(ip)
        fields = parse_fields(ServerFields, dict(args)).given()
        with self.write() as s:
            found = repo.find_server(session=s, ip=host)
            if found is not None and found.stat != OFFLINE:
                raise Conflict(f"server {host} already exists")
            if found is not None:  # deleted before (soft): bring it back with the new fields
                return self._revive(s, found, fields, lambda: repo.server_dict(session=s, server_id=found.id))
            server = self._new_server(s, host, fields)
            return repo.server_dict(session=s, server_id=server.id)

    def _revive(self, s: Session, obj: Any, fields: dict[str, Any], show: Any) -> dict[str, Any]:
        before = repo.snapshot(obj)
        if "owner" in fields:
            obj.owner_id = repo.resolve_owner(session=s, ref=fields.pop("owner"))
        if "business" in fields:
            obj.business_id = repo.resolve_business(session=s, ref=fields.pop("business"))
        for key, value in fields.items():
            setattr(obj, key, value)
        obj.stat = fields.get("stat", ONLINE)
        if "online_date" not in fields:
            obj.online_date = repo.now()
        repo.log_change(session=s, action="revive", obj=obj, before=before)
        return show()

    def _new_server(self, s: Session, host: str, fields: dict[str, Any]) -> Server:
        server = Server(
            ip=host,
            name=fields.get("name", host),
            os=fields.get("os", "Linux"),
            owner_id=repo.resolve_owner(session=s, ref=fields.get("owner", DEFAULT_OWNER)),
            stat=fields.get("stat", ONLINE),
            online_date=fields.get("online_date") or repo.now(),
        )
        s.add(server)
        s.flush()
        repo.log_change(session=s, action="create", obj=server, before=None)
        return server

    def _server_for(self, s: Session, host: str) -> Server:
        """The server ``host``, created with defaults when missing (race-safe), online again when it
        was deleted: an online instance never sits on an offline server."""
        server = repo.find_server(session=s, ip=host)
        if server is not None:
            if server.stat == OFFLINE:
                self._revive(s, server, {}, lambda: None)
            return server
        try:
            with s.begin_nested():
                return self._new_server(s, host, {})
        except IntegrityError:
            return repo.require_server(session=s, ip=host)

    def mod_server(self, ip: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        host = _host(ip)
        fields = _need_fields(parse_fields(ServerFields, dict(args)).given())
        with self.write() as s:
            server = repo.require_server(session=s, ip=host)
            before = repo.snapshot(server)
            if fields.get("stat") == OFFLINE:
                self._refuse_if_busy_server(s, server)
            if "owner" in fields:
                server.owner_id = repo.resolve_owner(session=s, ref=fields.pop("owner"))
            for key, value in fields.items():
                setattr(server, key, value)
            repo.log_change(session=s, action="update", obj=server, before=before)
            return repo.server_dict(session=s, server_id=server.id)

    def del_server(self, ip: Any) -> None:
        """Soft delete: the server goes offline; refused while it has online instances."""
        host = _host(ip)
        with self.write() as s:
            server = repo.require_server(session=s, ip=host)
            if server.stat == OFFLINE:
                return
            self._refuse_if_busy_server(s, server)
            before = repo.snapshot(server)
            server.stat = OFFLINE
            repo.log_change(session=s, action="delete", obj=server, before=before)

    def _refuse_if_busy_server(self, s: Session, server: Server) -> None:
        ports = s.scalars(
            select(Instance.port).where(Instance.server_id == server.id, Instance.stat == ONLINE)
        ).all()
        if ports:
            raise Conflict(
                f"server {server.ip} still has online instances on port(s) {', '.join(map(str, ports))}; "
                "delete them first"
            )

    # -- instances --------------------------------------------------------------------------

    def list_instances(self, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
        stat, count = repo.check_stat(stat), count_arg(count)
        with self.store.query() as c:
            return repo.list_instances(session=c, stat=stat, count=count)

    def get_instance(self, ip: Any, port: Any = 3306) -> dict[str, Any]:
        ep = _endpoint(ip, port)
        with self.store.query() as c:
            return repo.instance_dict_at(session=c, endpoint=ep)

    def add_instance(self, ip: Any, port: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        ep = _endpoint(ip, port)
        fields = parse_fields(InstanceFields, dict(args)).given()
        with self.write() as s:
            found = repo.find_instance(session=s, endpoint=ep)
            if found is not None and found.stat != OFFLINE:
                raise Conflict(f"instance {ep} already exists")
            if found is not None:
                refs = self._instance_refs(s, ep, fields, current=found)
                plain = {k: v for k, v in fields.items() if k not in ("owner", "business", "role", "master")}
                self._server_for(s, ep.host)
                return self._revive(s, found, {**plain, **refs},
                                    lambda: repo.instance_dict(session=s, instance_id=found.id))
            inst = self._new_instance(s, ep, fields)
            return repo.instance_dict(session=s, instance_id=inst.id)

    def _new_instance(self, s: Session, ep: Endpoint, fields: dict[str, Any]) -> Instance:
        refs = self._instance_refs(s, ep, fields)
        server = self._server_for(s, ep.host)
        inst = Instance(
            server_id=server.id,
            port=ep.port,
            name=fields.get("name", ep.host),
            level=fields.get("level", 1),
            stat=fields.get("stat", ONLINE),
            business_id=refs.get("business_id", DEFAULT_BUSINESS),
            owner_id=refs.get("owner_id", DEFAULT_OWNER),
            db_type=fields.get("db_type", "MySQL"),
            ha_type=fields.get("ha_type", "MS"),
            role=refs.get("role", ROLE_MASTER),
            master_id=refs.get("master_id"),
            version=fields.get("version", ""),
            online_date=fields.get("online_date") or repo.now(),
        )
        s.add(inst)
        s.flush()
        repo.log_change(session=s, action="create", obj=inst, before=None)
        return inst

    def _instance_refs(
        self, s: Session, ep: Endpoint, fields: dict[str, Any], current: Instance | None = None
    ) -> dict[str, Any]:
        """Resolve owner, business, role and master of an instance's fields."""
        out: dict[str, Any] = {}
        if "owner" in fields:
            out["owner_id"] = repo.resolve_owner(session=s, ref=fields["owner"])
        if "business" in fields:
            out["business_id"] = repo.resolve_business(session=s, ref=fields["business"])
        role = fields.get("role", current.role if current else None)
        if fields.get("master") is not None:
            master_ep = parse_endpoint(fields["master"], default_port=3306)
            if master_ep == ep:
                raise InvalidArgument(f"instance {ep} cannot be its own master")
            master = repo.require_instance(session=s, endpoint=master_ep)
            if role == ROLE_MASTER and "role" in fields:
                raise InvalidArgument("instance_role=1 (master) cannot have an instance_master")
            out["master_id"], out["role"] = master.id, ROLE_REPLICA
        elif "role" in fields:
            out["role"] = fields["role"]
            if fields["role"] == ROLE_MASTER:
                out["master_id"] = None
        return out

    def mod_instance(self, ip: Any, port: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        ep = _endpoint(ip, port)
        fields = _need_fields(parse_fields(InstanceFields, dict(args)).given())
        with self.write() as s:
            inst = repo.require_instance(session=s, endpoint=ep)
            before = repo.snapshot(inst)
            if fields.get("stat") == OFFLINE:
                self._refuse_if_busy_instance(s, inst, ep)
            refs = self._instance_refs(s, ep, fields, current=inst)
            for key in ("owner", "business", "role", "master"):
                fields.pop(key, None)
            for key, value in {**fields, **refs}.items():
                setattr(inst, key, value)
            repo.log_change(session=s, action="update", obj=inst, before=before)
            return repo.instance_dict(session=s, instance_id=inst.id)

    def del_instance(self, ip: Any, port: Any) -> None:
        ep = _endpoint(ip, port)
        with self.write() as s:
            inst = repo.require_instance(session=s, endpoint=ep)
            if inst.stat == OFFLINE:
                return
            self._refuse_if_busy_instance(s, inst, ep)
            before = repo.snapshot(inst)
            inst.stat = OFFLINE
            repo.log_change(session=s, action="delete", obj=inst, before=before)

    def _refuse_if_busy_instance(self, s: Session, inst: Instance, ep: Endpoint) -> None:
        names = s.scalars(
            select(Database.name).where(Database.instance_id == inst.id, Database.stat == ONLINE)
        ).all()
        if names:
            raise Conflict(f"instance {ep} still has online databases: {', '.join(names)}; delete them first")
        group = s.scalar(select(HaGroup.name).where(HaGroup.master_id == inst.id, HaGroup.stat == ONLINE))
        if group:
            raise Conflict(f"instance {ep} is the master of HA group {group!r}; switch it over first")

    # -- databases --------------------------------------------------------------------------

    def list_databases(self, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
        stat, count = repo.check_stat(stat), count_arg(count)
        with self.store.query() as c:
            return repo.list_databases(session=c, stat=stat, count=count)

    def get_database(self, ip: Any, port: Any, db: Any) -> dict[str, Any]:
        ep, name = _endpoint(ip, port), _db_name(db)
        with self.read() as s:
            inst = repo.require_instance(session=s, endpoint=ep)
            found = repo.find_database(session=s, instance_id=inst.id, name=name)
            if found is None:
                raise NotFound(f"no database {name!r} on {ep}")
            return repo.database_dict(session=s, database_id=found.id)

    def add_database(self, db: Any, ip: Any, port: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        ep, name = _endpoint(ip, port), _db_name(db)
        fields = parse_fields(DatabaseFields, dict(args)).given()
        _same_place(fields, ep, name)
        with self.write() as s:
            inst = repo.find_instance(session=s, endpoint=ep)
            if inst is not None and inst.stat == OFFLINE:  # a database brings its instance back online
                self._server_for(s, ep.host)
                self._revive(s, inst, {}, lambda: None)
            if inst is None:
                try:
                    with s.begin_nested():
                        inst = self._new_instance(s, ep, {})
                except IntegrityError:
                    inst = repo.require_instance(session=s, endpoint=ep)
            found = repo.find_database(session=s, instance_id=inst.id, name=name)
            if found is not None and found.stat != OFFLINE:
                raise Conflict(f"database {name!r} already exists on {ep}")
            if found is not None:
                return self._revive(s, found, fields, lambda: repo.database_dict(session=s, database_id=found.id))
            database = Database(
                instance_id=inst.id,
                name=name,
                level=fields.get("level", 1),
                stat=fields.get("stat", ONLINE),
                business_id=repo.resolve_business(session=s, ref=fields.get("business", DEFAULT_BUSINESS)),
                owner_id=repo.resolve_owner(session=s, ref=fields.get("owner", DEFAULT_OWNER)),
                online_date=fields.get("online_date") or repo.now(),
            )
            s.add(database)
            s.flush()
            repo.log_change(session=s, action="create", obj=database, before=None)
            return repo.database_dict(session=s, database_id=database.id)

    def mod_database(self, ip: Any, port: Any, db: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        ep, name = _endpoint(ip, port), _db_name(db)
        fields = _need_fields(parse_fields(DatabaseFields, dict(args)).given())
        with self.write() as s:
            inst = repo.require_instance(session=s, endpoint=ep)
            database = repo.find_database(session=s, instance_id=inst.id, name=name)
            if database is None:
                raise NotFound(f"no database {name!r} on {ep}")
            before = repo.snapshot(database)
            if "ip" in fields or "port" in fields:
                target = _endpoint(fields.pop("ip", ep.host), fields.pop("port", ep.port))
                database.instance_id = repo.require_instance(session=s, endpoint=target).id
            if "owner" in fields:
                database.owner_id = repo.resolve_owner(session=s, ref=fields.pop("owner"))
            if "business" in fields:
                database.business_id = repo.resolve_business(session=s, ref=fields.pop("business"))
            for key, value in fields.items():
                setattr(database, key, value)
            repo.log_change(session=s, action="update", obj=database, before=before)
            return repo.database_dict(session=s, database_id=database.id)

    def del_database(self, ip: Any, port: Any, db: Any) -> None:
        ep, name = _endpoint(ip, port), _db_name(db)
        with self.write() as s:
            inst = repo.require_instance(session=s, endpoint=ep)
            database = repo.find_database(session=s, instance_id=inst.id, name=name)
            if database is None:
                raise NotFound(f"no database {name!r} on {ep}")
            if database.stat == OFFLINE:
                return
            before = repo.snapshot(database)
            database.stat = OFFLINE
            repo.log_change(session=s, action="delete", obj=database, before=before)

    # -- owners and business lines ----------------------------------------------------------

    def list_owners(self, count: int = 0) -> list[dict[str, Any]]:
        with self.read() as s:
            return repo.list_owners(session=s, count=count_arg(count))

    def add_owner(self, name: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        name = name_text(name, "owner name")
        fields = parse_fields(OwnerFields, dict(args)).given()
        with self.write() as s:
            if s.scalar(select(Owner.id).where(Owner.name == name)) is not None:
                raise Conflict(f"owner {name!r} already exists")
            owner = Owner(name=name, email=fields.get("email", ""), phone=fields.get("phone", ""),
                          stat=ONLINE, created_at=repo.now())
            s.add(owner)
            repo.log_change(session=s, action="create", obj=owner, before=None)
            return repo.snapshot(owner) or {}

    def list_businesses(self, count: int = 0) -> list[dict[str, Any]]:
        with self.read() as s:
            return repo.list_businesses(session=s, count=count_arg(count))

    def add_business(self, name: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        name = name_text(name, "business name")
        fields = parse_fields(BusinessFields, dict(args)).given()
        with self.write() as s:
            if s.scalar(select(Business.id).where(Business.name == name)) is not None:
                raise Conflict(f"business line {name!r} already exists")
            business = Business(
                name=name,
                owner_id=repo.resolve_owner(session=s, ref=fields.get("owner", DEFAULT_OWNER)),
                phone=fields.get("phone", ""),
                stat=ONLINE,
                created_at=repo.now(),
            )
            s.add(business)
            repo.log_change(session=s, action="create", obj=business, before=None)
            return repo.snapshot(business) or {}

    # -- HA operations (the engine works on the live servers) ---------------------------------

    def ha_engine(self, progress: Any = None) -> Any:
        from mega.ha.engine import HaEngine

        return HaEngine(self, self.settings, progress)

    def switchover(self, group: Any, to: Any = None, *, requested_by: str = "", progress: Any = None) -> Any:
        """Planned switchover of ``group`` (to ``to`` or the best candidate); returns the Outcome."""
        return self.ha_engine(progress).switchover(name_text(group, "group name"), _opt_text(to, "to"),
                                                   requested_by=requested_by or context.actor())

    def failover(self, group: Any, to: Any = None, *, force: bool = False, requested_by: str = "",
                 progress: Any = None) -> Any:
        """Failover of ``group`` whose primary is dead; returns the Outcome."""
        return self.ha_engine(progress).failover(name_text(group, "group name"), _opt_text(to, "to"), force=force,
                                                 requested_by=requested_by or context.actor())

    def rejoin(self, group: Any, instance: Any, *, requested_by: str = "", progress: Any = None) -> Any:
        """Make ``instance`` (a former primary) a replica of ``group``'s primary; returns the Outcome."""
        return self.ha_engine(progress).rejoin(name_text(group, "group name"), name_text(instance, "instance"),
                                               requested_by=requested_by or context.actor())

    def seed_failover(self, group_name: Any, old_master: Any, new_master: Any, method: Any, when: Any) -> int:
        """The seed's ``failover()``: switch ``group_name`` from ``old_master`` to ``new_master`` now.

        ``method``: ``switchover``/``online`` (planned), ``failover``/``offline`` (dead primary),
        ``force`` (failover even if the primary answers), or ``auto``/None (switchover when the
        primary answers, failover otherwise).  ``new_master`` None or '' picks the best candidate.
        Returns the record id, whatever the outcome (the record holds it).
        """
        group = self.get_group(group_name)
        old = parse_endpoint(old_master)
        if str(old) != group["master"]:
            raise Conflict(f"old_master {old} is not the primary of {group['name']!r} ({group['master']})")
        target = None if new_master in (None, "") else str(parse_endpoint(new_master))
        _not_scheduled(when)
        kind = (method or "auto").lower() if isinstance(method, str) or method is None else None
        if kind not in ("switchover", "online", "failover", "offline", "force", "auto"):
            raise InvalidArgument("method must be switchover|online, failover|offline, force or auto")
        if kind == "auto":
            from mega.errors import LiveServerError
            from mega.mysql.probe import probe

            try:
                probe(old, self.settings)
                kind = "switchover"
            except LiveServerError:
                kind = "failover"
        if kind in ("switchover", "online"):
            outcome = self.switchover(group["name"], target)
        else:
            outcome = self.failover(group["name"], target, force=kind == "force")
        return int(outcome.record_id)

    def retire_group(self, group: str) -> None:
        """Take an HA group and its instances offline (``sandbox down``); unknown groups are ignored."""
        try:
            members = self.get_group(group)["members"]
        except NotFound:
            return
        self.del_group(group)
        for text in members:
            ep = parse_endpoint(text)
            try:
                self.del_instance(ep.host, ep.port)
            except (Conflict, NotFound) as exc:
                log.warning("sandbox down: %s stays online: %s", text, exc)

    def register_topology(self, group: str, primary: str, replicas: list[str], *, db_type: str = "MariaDB",
                          version: str = "") -> dict[str, Any]:
        """Add (or update) the instances of a live topology and its HA group in one go."""
        name_text(group, "group name")
        ep = parse_endpoint(primary)
        extra = {"instance_db_type": db_type, **({"instance_version": version} if version else {})}
        for text, args in [(primary, {"instance_role": 1})] + [
            (r, {"instance_role": 2, "instance_master": str(ep)}) for r in replicas
        ]:
            rep = parse_endpoint(text)
            try:
                self.add_instance(rep.host, rep.port, {**extra, **args})
            except Conflict:
                self.mod_instance(rep.host, rep.port, {**extra, **args, "instance_stat": ONLINE})
        members = [str(parse_endpoint(r)) for r in replicas]
        try:
            return self.add_group(group, str(ep), {"group_members": members, "group_type": "MariaDB-GTID"})
        except Conflict:
            return self.mod_group(group, {"group_master": str(ep), "group_members": members, "group_stat": ONLINE})

    def list_changes(self, object_type: str | None = None, object_id: int | None = None,
                     count: int = 100) -> list[dict[str, Any]]:
        with self.read() as s:
            return repo.list_changes(session=s, object_type=object_type, object_id=object_id,
                                     count=count_arg(count))


# -- argument helpers ---------------------------------------------------------------------------


def _not_scheduled(when: Any) -> None:
    """The seed's ``time``: None/0/'now', or a 'YYYY-MM-DD HH:MM:SS' that is not in the future
    (callers pass the moment they decided to switch); a future time would be a scheduled switch."""
    if when in (None, 0, "", "0", "now"):
        return
    from datetime import datetime, timedelta

    from mega.inventory.inputs import DATE_FORMAT

    try:
        at = datetime.strptime(when, DATE_FORMAT) if isinstance(when, str) else None
    except ValueError:
        at = None
    if at is None:
        raise InvalidArgument(f"time must be None or 'YYYY-MM-DD HH:MM:SS', got {when!r}")
    if at > datetime.now() + timedelta(seconds=60):
        raise InvalidArgument(f"scheduled switches are not supported: time {when} is in the future; pass None (now)")


def _opt_text(value: Any, what: str) -> str | None:
    return None if value is None else name_text(value, what)


def _host(ip: Any) -> str:
    if ip is None:
        raise InvalidArgument("ip is required")
    return canonical_host(ip)


def _endpoint(ip: Any, port: Any) -> Endpoint:
    return Endpoint(_host(ip), canonical_port(port))


def _db_name(db: Any) -> str:
    if db is None:
        raise InvalidArgument("db (the database name) is required")
    return name_text(db, "database name", 64)


def _need_fields(fields: dict[str, Any]) -> dict[str, Any]:
    if not fields:
        raise InvalidArgument("nothing to change: give at least one field")
    return fields


def _same_place(fields: dict[str, Any], ep: Endpoint, name: str) -> None:
    """On add_database, database_ip/port/name may repeat the positional values but not differ."""
    if "ip" in fields and canonical_host(fields["ip"]) != ep.host:
        raise InvalidArgument("database_ip differs from ip")
    if "port" in fields and canonical_port(fields["port"]) != ep.port:
        raise InvalidArgument("database_port differs from port")
    if "name" in fields and fields["name"] != name:
        raise InvalidArgument("database_name differs from db")
    for key in ("ip", "port", "name"):
        fields.pop(key, None)


def _short(exc: IntegrityError) -> str:
    return str(exc.orig).splitlines()[0][:200] if exc.orig else "integrity error"
