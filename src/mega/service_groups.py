"""Use cases for HA groups, ``update_ha_info`` and failover records (mixed into the Service)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mega.domain.address import canonical_host, parse_endpoint
from mega.errors import Conflict, InvalidArgument, NotFound
from mega.inventory import repo
from mega.inventory.inputs import DATE_FORMAT, GroupFields, count_arg, name_text, parse_fields
from mega.inventory.models import (
    ONLINE,
    ROLE_MASTER,
    ROLE_REPLICA,
    FailoverRecord,
    FailoverRecordDetail,
    HaGroup,
    HaGroupMember,
    Instance,
)

FINAL_RESULTS = ("Y", "N", "aborted", "rolled_back", "partial")
PROMOTION_RULES = ("prefer", "neutral", "prefer_not", "must_not")


class GroupCases:
    """HA groups and their records.  Needs ``write()`` and ``read()`` from the Service."""

    def write(self) -> AbstractContextManager[Session]:  # provided by Service
        raise NotImplementedError

    def read(self) -> AbstractContextManager[Session]:  # provided by Service
        raise NotImplementedError

    # -- groups -----------------------------------------------------------------------------

    def list_groups(self, stat: int = 0, count: int = 0) -> list[dict[str, Any]]:
        stat, count = repo.check_stat(stat), count_arg(count)
        with self.read() as s:
            q = select(HaGroup).order_by(HaGroup.id)
            if stat:
                q = q.where(HaGroup.stat == (ONLINE if stat == 1 else 0))
            if count:
                q = q.limit(count)
            return [repo.group_dict(session=s, group=g) for g in s.scalars(q)]

    def get_group(self, name: Any) -> dict[str, Any]:
        name = name_text(name, "group name")
        with self.read() as s:
            return repo.group_dict(session=s, group=repo.require_group(session=s, name=name))

    def add_group(self, name: Any, master: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        name = name_text(name, "group name")
        master_ep = parse_endpoint(master, default_port=3306)
        fields = parse_fields(GroupFields, dict(args)).given()
        if "master" in fields:
            raise InvalidArgument("group_master: give the master as the second argument")
        with self.write() as s:
            if repo.find_group(session=s, name=name) is not None:
                raise Conflict(f"HA group {name!r} already exists")
            master_inst = repo.require_instance(session=s, endpoint=master_ep)
            group = HaGroup(name=name, master_id=master_inst.id, type="MS", stat=ONLINE, auto_failover=0,
                            created_at=repo.now())
            s.add(group)
            self._apply_group_fields(s, group, fields)
            members = set(fields.get("members") or []) | {str(master_ep)}
            self._set_members(s, group, members)
            repo.log_change(session=s, action="create", obj=group, before=None)
            return repo.group_dict(session=s, group=group)

    def mod_group(self, name: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        name = name_text(name, "group name")
        fields = parse_fields(GroupFields, dict(args)).given()
        if not fields:
            raise InvalidArgument("nothing to change: give at least one field")
        with self.write() as s:
            group = repo.require_group(session=s, name=name)
            before = repo.snapshot(group)
            if "master" in fields:
                group.master_id = repo.require_instance(
                    session=s, endpoint=parse_endpoint(fields["master"], default_port=3306)).id
            self._apply_group_fields(s, group, fields)
            if "members" in fields or "master" in fields:
                current = {str(repo.endpoint_of(session=s, instance_id=i))
                           for i in repo.group_member_ids(session=s, group_id=group.id)}
                wanted = set(fields.get("members") or current)
                wanted.add(str(repo.endpoint_of(session=s, instance_id=group.master_id)))
                self._set_members(s, group, wanted)
            repo.log_change(session=s, action="update", obj=group, before=before)
            return repo.group_dict(session=s, group=group)

    def del_group(self, name: Any) -> None:
        """Soft delete: the group goes offline (its records stay); idempotent."""
        name = name_text(name, "group name")
        with self.write() as s:
            group = repo.require_group(session=s, name=name)
            if group.stat != ONLINE:
                return
            before = repo.snapshot(group)
            group.stat = 0
            # Its instances are free to join another group; the records keep the history.
            s.execute(delete(HaGroupMember).where(HaGroupMember.group_id == group.id))
            repo.log_change(session=s, action="delete", obj=group, before=before)

    def set_promotion_rule(self, name: Any, member: Any, rule: Any) -> dict[str, Any]:
        if rule not in PROMOTION_RULES:
            raise InvalidArgument(f"promotion rule must be one of {', '.join(PROMOTION_RULES)}")
        ep = parse_endpoint(member, default_port=3306)
        with self.write() as s:
            group = repo.require_group(session=s, name=name_text(name, "group name"))
            inst = repo.require_instance(session=s, endpoint=ep)
            row = s.scalars(select(HaGroupMember).where(HaGroupMember.group_id == group.id,
                                                        HaGroupMember.instance_id == inst.id)).one_or_none()
            if row is None:
                raise NotFound(f"{ep} is not a member of HA group {group.name!r}")
            before = repo.snapshot(row)
            row.promotion_rule = rule
            repo.log_change(session=s, action="update", obj=row, before=before)
            return repo.group_dict(session=s, group=group)

    def _apply_group_fields(self, s: Session, group: HaGroup, fields: dict[str, Any]) -> None:
        if "manager" in fields:
            group.manager_id = (repo.require_server(session=s, ip=canonical_host(fields["manager"])).id
                                if fields["manager"] else None)
        for key in ("wvip", "rvip"):
            if key in fields:
                value = fields[key]
                setattr(group, f"{key}_id", repo.vip_id(session=s, ip=_vip_text(value)) if value else None)
        for key in ("type", "auto_failover", "stat"):
            if key in fields:
                setattr(group, key, fields[key])
        s.flush()

    def _set_members(self, s: Session, group: HaGroup, members: set[str]) -> None:
        ids = {repo.require_instance(session=s, endpoint=parse_endpoint(m, default_port=3306)).id for m in members}
        taken = s.execute(
            select(HaGroupMember.instance_id, HaGroup.name)
            .join(HaGroup, HaGroup.id == HaGroupMember.group_id)
            .where(HaGroupMember.instance_id.in_(ids), HaGroupMember.group_id != group.id)
        ).all()
        if taken:
            names = ", ".join(f"{repo.endpoint_of(session=s, instance_id=i)} (in {g!r})" for i, g in taken)
            raise Conflict(f"instances already belong to another HA group: {names}")
        current = set(repo.group_member_ids(session=s, group_id=group.id))
        s.execute(delete(HaGroupMember).where(HaGroupMember.group_id == group.id,
                                              HaGroupMember.instance_id.in_(current - ids)))
        for inst_id in ids - current:
            s.add(HaGroupMember(group_id=group.id, instance_id=inst_id, promotion_rule="neutral"))
        s.flush()

    # -- update_ha_info ---------------------------------------------------------------------

    def update_ha_info(self, new_master: Any, old_master: Any) -> dict[str, Any]:
        """Move the master role from ``old_master`` to ``new_master`` in the inventory, atomically.

        The new master loses its own master; the old master and every other replica of the old master
        become replicas of the new one; every HA group mastered by the old one moves too.

        :raises NotFound: either instance is unknown.
        :raises Conflict: the new master is not a replica of the old one.
        """
        new_ep, old_ep = parse_endpoint(new_master), parse_endpoint(old_master)
        if new_ep == old_ep:
            raise InvalidArgument("new_master and old_master are the same instance")
        with self.write() as s:
            new = repo.require_instance(session=s, endpoint=new_ep)
            old = repo.require_instance(session=s, endpoint=old_ep)
            if new.master_id != old.id or new.role == ROLE_MASTER:
                raise Conflict(f"{new_ep} is not a replica of {old_ep} in the inventory")
            moved = []
            for sibling in s.scalars(select(Instance).where(Instance.master_id == old.id, Instance.id != new.id)):
                before = repo.snapshot(sibling)
                sibling.master_id = new.id
                repo.log_change(session=s, action="update", obj=sibling, before=before)
                moved.append(sibling.id)
            for inst, role, master_id in ((old, ROLE_REPLICA, new.id), (new, ROLE_MASTER, None)):
                before = repo.snapshot(inst)
                inst.role, inst.master_id = role, master_id
                repo.log_change(session=s, action="update", obj=inst, before=before)
            groups = []
            for group in s.scalars(select(HaGroup).where(HaGroup.master_id == old.id)):
                before = repo.snapshot(group)
                group.master_id, group.last_time = new.id, repo.now()
                repo.log_change(session=s, action="update", obj=group, before=before)
                groups.append(group.name)
            return {"new_master": str(new_ep), "old_master": str(old_ep), "replicas_moved": len(moved),
                    "groups": groups}

    def set_topology(self, group_name: str, primary: str, replicas: list[str]) -> None:
        """Record what the HA engine did: ``primary`` masters the group, ``replicas`` replicate from it.

        The same change as :meth:`update_ha_info`, in one transaction, but driven by the live result
        (replicas that could not follow keep their old master; instances unknown here are skipped).
        """
        with self.write() as s:
            group = repo.require_group(session=s, name=group_name)
            new = repo.require_instance(session=s, endpoint=parse_endpoint(primary))
            changes = [(new, ROLE_MASTER, None)]
            for text in replicas:
                inst = repo.find_instance(session=s, endpoint=parse_endpoint(text))
                if inst is not None and inst.id != new.id:
                    changes.append((inst, ROLE_REPLICA, new.id))
            for inst, role, master_id in changes:
                if (inst.role, inst.master_id) != (role, master_id):
                    before = repo.snapshot(inst)
                    inst.role, inst.master_id = role, master_id
                    repo.log_change(session=s, action="update", obj=inst, before=before)
            before = repo.snapshot(group)
            group.master_id, group.last_time = new.id, repo.now()
            repo.log_change(session=s, action="update", obj=group, before=before)

    # -- failover records -------------------------------------------------------------------

    def add_record(self, group_id: Any, method: Any, old_master: Any, new_master: Any,
                   group_name: Any = None, *, kind: str = "script", trigger: str = "",
                   requested_by: str = "") -> int:
        """Open a failover record (status ``running``) and return its id."""
        for label, value in (("method", method), ("old_master", old_master), ("new_master", new_master)):
            if value is not None and not isinstance(value, str):
                raise InvalidArgument(f"{label} must be a string")
        with self.write() as s:
            if group_id is not None:
                if isinstance(group_id, bool) or not isinstance(group_id, int):
                    raise InvalidArgument("failover_id must be an integer or None")
                group = s.get(HaGroup, group_id)
            elif group_name is not None:
                group = repo.find_group(session=s, name=name_text(group_name, "group name"))
            else:
                raise InvalidArgument("give a failover_id or a failover_name")
            if group is None:
                raise NotFound(f"no HA group {group_id if group_id is not None else group_name!r}")
            record = FailoverRecord(group_id=group.id, method=(method or "")[:64], kind=kind, trigger=trigger,
                                    requested_by=requested_by, old_master=old_master or "",
                                    new_master=new_master or "", result="running", re_time=repo.now())
            s.add(record)
            s.flush()
            return record.id

    def add_record_detail(self, record_id: Any, module: Any, re_time: Any, time_used: Any, result: Any,
                          content: Any, *, target: str = "") -> int:
        """Append one step to a record; returns the detail id."""
        rid = _record_id(record_id)
        when = _re_time(re_time)
        used = _time_used(time_used)
        for label, value in (("module", module), ("result", result), ("content", content)):
            if not isinstance(value, str):
                raise InvalidArgument(f"{label} must be a string")
        with self.write() as s:
            if s.get(FailoverRecord, rid) is None:
                raise NotFound(f"no failover record {rid}")
            detail = FailoverRecordDetail(record_id=rid, module=module[:128], re_time=when, time_used=used,
                                          result=result[:32], content=content, target=target[:300])
            s.add(detail)
            s.flush()
            return detail.id

    def finish_record(self, record_id: Any, result: Any, *, message: str | None = None,
                      candidates: list[Any] | None = None, lost: list[Any] | None = None,
                      new_master: str | None = None) -> None:
        """Set a record's final status (``Y``, ``N``, ``aborted``, ``rolled_back``, ``partial``)."""
        rid = _record_id(record_id)
        if result not in FINAL_RESULTS:
            raise InvalidArgument(f"status must be one of {', '.join(FINAL_RESULTS)}, got {result!r}")
        with self.write() as s:
            record = s.get(FailoverRecord, rid)
            if record is None:
                raise NotFound(f"no failover record {rid}")
            record.result, record.end_time = result, repo.now()
            if message is not None:
                record.message = message
            if candidates is not None:
                record.candidates = json.dumps(candidates, default=str)
            if lost is not None:
                record.lost = json.dumps(lost, default=str)
            if new_master is not None:
                record.new_master = new_master


    def list_records(self, group_name: Any = None, count: int = 0) -> list[dict[str, Any]]:
        count = count_arg(count)
        with self.read() as s:
            gid = None
            if group_name is not None:
                gid = repo.require_group(session=s, name=name_text(group_name, "group name")).id
            return repo.list_records(session=s, group_id=gid, count=count)

    def get_record(self, record_id: Any) -> dict[str, Any]:
        with self.read() as s:
            return repo.record_dict(session=s, record_id=_record_id(record_id))


def _vip_text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidArgument("a VIP must be a string 'ip' or 'ip:port'")
    if value.count(":") == 1 or value.startswith("["):
        return str(parse_endpoint(value))
    return canonical_host(value)


def _record_id(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidArgument("record_id must be an integer")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise InvalidArgument(f"record_id must be a positive integer, got {value!r}")
    return value


def _re_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, str):
        try:
            return datetime.strptime(value.strip(), DATE_FORMAT)
        except ValueError:
            pass
    raise InvalidArgument(f"re_time must be 'YYYY-MM-DD HH:MM:SS', got {value!r}")


def _time_used(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidArgument("time_used must be a number")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise InvalidArgument(f"time_used must be a number or numeric string, got {value!r}") from None
    else:
        raise InvalidArgument("time_used must be a number")
    if result != result or result < 0 or result == float("inf"):
        raise InvalidArgument(f"time_used must be a finite number >= 0, got {value!r}")
    return result
