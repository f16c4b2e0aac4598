"""Repository functions: reads that return the seed's plain dicts, lookups, and the change log.

Reads are Core ``select()``s over joined columns (no ORM objects on the hot path), so that listing
100,000 instances costs little more than the driver's own fetch.  Every function takes the
session as a keyword argument and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, DateTime, Select, bindparam, select
from sqlalchemy.orm import Session, aliased

from mega import context
from mega.domain.address import Endpoint, format_endpoint
from mega.errors import InvalidArgument, NotFound
from mega.inventory.inputs import DATE_FORMAT
from mega.inventory.models import (
    OFFLINE,
    ONLINE,
    Base,
    Business,
    ChangeLog,
    Database,
    FailoverRecord,
    FailoverRecordDetail,
    HaGroup,
    HaGroupMember,
    Instance,
    Owner,
    Server,
    Vip,
)


def now() -> datetime:
    """Wall-clock time to the second (the seed's date resolution)."""
    return datetime.now().replace(microsecond=0)


def fmt_date(value: datetime | None) -> str | None:
    return value.strftime(DATE_FORMAT) if value is not None else None


def _stat_filter(query: Select[Any], column: Any, stat: int) -> Select[Any]:
    if stat == 1:
        return query.where(column == ONLINE)
    if stat == 2:
        return query.where(column == OFFLINE)
    return query


def _limit(query: Select[Any], count: int) -> Select[Any]:
    return query.limit(count) if count else query


def _rows(session: Session | Connection, query: Select[Any], params: dict[str, Any] | None = None
          ) -> list[dict[str, Any]]:
    """Plain dicts, dates as 'YYYY-MM-DD HH:MM:SS' (this is the hot path of every list call)."""
    result = session.execute(query, params)
    keys = list(result.keys())
    dates = [n for n, col in enumerate(query.selected_columns) if isinstance(col.type, DateTime)]
    out = []
    for row in result:
        if dates:
            row = list(row)
            for n in dates:
                value = row[n]
                if value is not None:
                    row[n] = value.isoformat(" ", "seconds")
        out.append(dict(zip(keys, row, strict=True)))
    return out


# --- servers -------------------------------------------------------------------------------


@cache
def _server_query() -> Select[Any]:
    return select(
        Server.id,
        Server.ip,
        Server.name,
        Server.os,
        Server.stat,
        Server.owner_id.label("owner"),
        Owner.name.label("owner_name"),
        Server.online_date,
    ).join(Owner, Owner.id == Server.owner_id)


def list_servers(*, session: Session | Connection, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
    q = _stat_filter(_server_query(), Server.stat, stat).order_by(Server.id)
    return _rows(session, _limit(q, count))


def server_dict(*, session: Session, server_id: int) -> dict[str, Any]:
    return _rows(session, _server_query().where(Server.id == server_id))[0]


def find_server(*, session: Session, ip: str) -> Server | None:
    return session.scalars(select(Server).where(Server.ip == ip)).one_or_none()


def require_server(*, session: Session, ip: str) -> Server:
    server = find_server(session=session, ip=ip)
    if server is None:
        raise NotFound(f"no server {ip}")
    return server


# --- instances -----------------------------------------------------------------------------

_Master = aliased(Instance)
_MasterServer = aliased(Server)


@cache
def _instance_query() -> Select[Any]:
    return (
        select(
            Instance.id,
            Server.ip,
            Instance.port,
            Instance.server_id,
            Instance.name,
            Instance.level,
            Instance.stat,
            Instance.business_id,
            Business.name.label("business"),
            Instance.owner_id,
            Owner.name.label("owner"),
            Instance.db_type,
            Instance.ha_type,
            Instance.online_date,
            Instance.role,
            Instance.master_id,
            _MasterServer.ip.label("master_ip"),
            _Master.port.label("master_port"),
            Instance.version,
        )
        .join(Server, Server.id == Instance.server_id)
        .join(Business, Business.id == Instance.business_id)
        .join(Owner, Owner.id == Instance.owner_id)
        .outerjoin(_Master, _Master.id == Instance.master_id)
        .outerjoin(_MasterServer, _MasterServer.id == _Master.server_id)
    )


def _instance_rows(session: Session | Connection, query: Select[Any], params: dict[str, Any] | None = None
                   ) -> list[dict[str, Any]]:
    rows = _rows(session, query, params)
    for row in rows:
        mip, mport = row.pop("master_ip"), row.pop("master_port")
        row["master"] = format_endpoint(mip, mport) if mip is not None else None
    return rows


def list_instances(*, session: Session | Connection, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
    q = _stat_filter(_instance_query(), Instance.stat, stat).order_by(Instance.id)
    return _instance_rows(session, _limit(q, count))


def instance_dict(*, session: Session, instance_id: int) -> dict[str, Any]:
    return _instance_rows(session, _instance_query().where(Instance.id == instance_id))[0]


@cache
def _instance_at() -> Select[Any]:
    return _instance_query().where(Server.ip == bindparam("ip"), Instance.port == bindparam("port"))


def instance_dict_at(*, session: Session | Connection, endpoint: Endpoint) -> dict[str, Any]:
    """The instance at ``endpoint`` as a seed dict, in one query (the RPC hot path)."""
    rows = _instance_rows(session, _instance_at(), {"ip": endpoint.host, "port": endpoint.port})
    if not rows:
        raise NotFound(f"no instance {endpoint}")
    return rows[0]


def find_instance(*, session: Session, endpoint: Endpoint) -> Instance | None:
    q = (
        select(Instance)
        .join(Server, Server.id == Instance.server_id)
        .where(Server.ip == endpoint.host, Instance.port == endpoint.port)
    )
    return session.scalars(q).one_or_none()


def require_instance(*, session: Session, endpoint: Endpoint) -> Instance:
    inst = find_instance(session=session, endpoint=endpoint)
    if inst is None:
        raise NotFound(f"no instance {endpoint}")
    return inst


def endpoint_of(*, session: Session, instance_id: int) -> Endpoint:
    row = session.execute(
        select(Server.ip, Instance.port).join(Server, Server.id == Instance.server_id).where(Instance.id == instance_id)
    ).one()
    return Endpoint(row.ip, row.port)


# --- databases -----------------------------------------------------------------------------


@cache
def _database_query() -> Select[Any]:
    return (
        select(
            Database.id,
            Server.ip,
            Instance.port,
            Database.name,
            Database.level,
            Database.instance_id,
            Database.business_id,
            Business.name.label("business"),
            Database.owner_id.label("owner"),
            Owner.name.label("owner_name"),
            Database.online_date,
            Database.stat,
        )
        .join(Instance, Instance.id == Database.instance_id)
        .join(Server, Server.id == Instance.server_id)
        .join(Business, Business.id == Database.business_id)
        .join(Owner, Owner.id == Database.owner_id)
    )


def list_databases(*, session: Session | Connection, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
    q = _stat_filter(_database_query(), Database.stat, stat).order_by(Database.id)
    return _rows(session, _limit(q, count))


def database_dict(*, session: Session, database_id: int) -> dict[str, Any]:
    return _rows(session, _database_query().where(Database.id == database_id))[0]


def find_database(*, session: Session, instance_id: int, name: str) -> Database | None:
    q = select(Database).where(Database.instance_id == instance_id, Database.name == name)
    return session.scalars(q).one_or_none()


# --- owners, business lines, VIPs ------------------------------------------------------------


def resolve_owner(*, session: Session, ref: int | str) -> int:
    """An owner id from an id or a name."""
    cond = Owner.id == ref if isinstance(ref, int) else Owner.name == ref
    found = session.scalar(select(Owner.id).where(cond))
    if found is None:
        raise NotFound(f"no owner {ref!r}")
    return found


def resolve_business(*, session: Session, ref: int | str) -> int:
    cond = Business.id == ref if isinstance(ref, int) else Business.name == ref
    found = session.scalar(select(Business.id).where(cond))
    if found is None:
        raise NotFound(f"no business line {ref!r}")
    return found


def list_owners(*, session: Session, count: int = 0) -> list[dict[str, Any]]:
    q = select(Owner.id, Owner.name, Owner.email, Owner.phone, Owner.stat, Owner.created_at).order_by(Owner.id)
    return _rows(session, _limit(q, count))


def list_businesses(*, session: Session, count: int = 0) -> list[dict[str, Any]]:
    q = (
        select(
            Business.id,
            Business.name,
            Business.owner_id.label("owner"),
            Owner.name.label("owner_name"),
            Business.phone,
            Business.stat,
            Business.created_at,
        )
        .join(Owner, Owner.id == Business.owner_id)
        .order_by(Business.id)
    )
    return _rows(session, _limit(q, count))


def vip_id(*, session: Session, ip: str) -> int:
    """The id of VIP ``ip``, created when missing."""
    found = session.scalar(select(Vip.id).where(Vip.ip == ip))
    if found is not None:
        return found
    vip = Vip(ip=ip, stat=ONLINE, created_at=now())
    session.add(vip)
    session.flush()
    return vip.id


# --- HA groups -------------------------------------------------------------------------------


def find_group(*, session: Session, name: str) -> HaGroup | None:
    return session.scalars(select(HaGroup).where(HaGroup.name == name)).one_or_none()


def require_group(*, session: Session, name: str) -> HaGroup:
    group = find_group(session=session, name=name)
    if group is None:
        raise NotFound(f"no HA group {name!r}")
    return group


def group_dict(*, session: Session, group: HaGroup) -> dict[str, Any]:
    manager = session.get(Server, group.manager_id) if group.manager_id else None
    wvip = session.get(Vip, group.wvip_id) if group.wvip_id else None
    rvip = session.get(Vip, group.rvip_id) if group.rvip_id else None
    members = session.execute(
        select(Server.ip, Instance.port, HaGroupMember.promotion_rule)
        .join(Instance, Instance.id == HaGroupMember.instance_id)
        .join(Server, Server.id == Instance.server_id)
        .where(HaGroupMember.group_id == group.id)
        .order_by(Instance.id)
    ).all()
    return {
        "id": group.id,
        "name": group.name,
        "master": str(endpoint_of(session=session, instance_id=group.master_id)),
        "master_id": group.master_id,
        "manager": manager.ip if manager else None,
        "wvip": wvip.ip if wvip else None,
        "rvip": rvip.ip if rvip else None,
        "type": group.type,
        "stat": group.stat,
        "auto_failover": group.auto_failover,
        "members": [format_endpoint(m.ip, m.port) for m in members],
        "promotion_rules": {format_endpoint(m.ip, m.port): m.promotion_rule for m in members},
        "created_at": fmt_date(group.created_at),
        "last_time": fmt_date(group.last_time),
    }


def group_member_ids(*, session: Session, group_id: int) -> list[int]:
    return list(session.scalars(select(HaGroupMember.instance_id).where(HaGroupMember.group_id == group_id)))


# --- failover records ------------------------------------------------------------------------


def _record_query() -> Select[Any]:
    return select(
        FailoverRecord.id,
        FailoverRecord.group_id,
        HaGroup.name.label("group_name"),
        FailoverRecord.method,
        FailoverRecord.kind,
        FailoverRecord.trigger,
        FailoverRecord.requested_by,
        FailoverRecord.old_master,
        FailoverRecord.new_master,
        FailoverRecord.result,
        FailoverRecord.candidates,
        FailoverRecord.lost,
        FailoverRecord.message,
        FailoverRecord.re_time,
        FailoverRecord.end_time,
    ).join(HaGroup, HaGroup.id == FailoverRecord.group_id)


def _decode_record(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("candidates", "lost"):
        row[key] = json.loads(row[key]) if row[key] else []
    return row


def list_records(*, session: Session, group_id: int | None = None, count: int = 0) -> list[dict[str, Any]]:
    q = _record_query().order_by(FailoverRecord.id.desc())
    if group_id is not None:
        q = q.where(FailoverRecord.group_id == group_id)
    return [_decode_record(r) for r in _rows(session, _limit(q, count))]


def record_dict(*, session: Session, record_id: int) -> dict[str, Any]:
    rows = _rows(session, _record_query().where(FailoverRecord.id == record_id))
    if not rows:
        raise NotFound(f"no failover record {record_id}")
    record = _decode_record(rows[0])
    record["details"] = _rows(
        session,
        select(
            FailoverRecordDetail.id,
            FailoverRecordDetail.module,
            FailoverRecordDetail.re_time,
            FailoverRecordDetail.time_used,
            FailoverRecordDetail.result,
            FailoverRecordDetail.content,
            FailoverRecordDetail.target,
        )
        .where(FailoverRecordDetail.record_id == record_id)
        .order_by(FailoverRecordDetail.id),
    )
    return record


# --- change log ------------------------------------------------------------------------------


def snapshot(obj: Base | None) -> dict[str, Any] | None:
    """The column values of ``obj`` as JSON-able data (for the change log)."""
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:  # type: ignore[attr-defined]
        value = getattr(obj, col.key)
        out[col.key] = fmt_date(value) if isinstance(value, datetime) else value
    return out


def log_change(
    *, session: Session, action: str, obj: Base, before: dict[str, Any] | None, object_type: str | None = None
) -> None:
    """Append one change-log row for ``obj`` (call after the change is flushed)."""
    session.flush()
    after = snapshot(obj)  # deletes are soft: "after" shows the row offline
    session.add(
        ChangeLog(
            at=now(),
            actor=context.actor()[:128],
            request_id=context.request_id(),
            action=action,
            object_type=object_type or obj.__tablename__,
            object_id=obj.id,  # type: ignore[attr-defined]
            before=json.dumps(before, sort_keys=True, ensure_ascii=False) if before is not None else "",
            after=json.dumps(after, sort_keys=True, ensure_ascii=False),
        )
    )


def list_changes(
    *, session: Session, object_type: str | None = None, object_id: int | None = None, count: int = 100
) -> list[dict[str, Any]]:
    q = select(ChangeLog).order_by(ChangeLog.id.desc())
    if object_type:
        q = q.where(ChangeLog.object_type == object_type)
    if object_id is not None:
        q = q.where(ChangeLog.object_id == object_id)
    out = []
    for c in session.scalars(_limit(q, count)):
        out.append(
            {
                "id": c.id,
                "at": fmt_date(c.at),
                "actor": c.actor,
                "request_id": c.request_id,
                "action": c.action,
                "object_type": c.object_type,
                "object_id": c.object_id,
                "before": json.loads(c.before) if c.before else None,
                "after": json.loads(c.after) if c.after else None,
            }
        )
    return out


def check_stat(stat: Any) -> int:
    if isinstance(stat, bool) or stat not in (0, 1, 2):
        raise InvalidArgument(f"stat must be 0 (all), 1 (online) or 2 (offline), got {stat!r}")
    return int(stat)
