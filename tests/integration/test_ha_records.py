"""HA groups, update_ha_info and the failover-record functions, on every backend."""

from __future__ import annotations

from mega import api
from mega.service import Service


def topology() -> None:
    """m (10.0.0.1) with replicas r1, r2; a group 'g' over them; an unrelated x with its replica."""
    api.add_instance("10.0.0.1", 3306)
    api.add_instance("10.0.0.2", 3306, instance_master="10.0.0.1:3306")
    api.add_instance("10.0.0.3", 3306, instance_master="10.0.0.1:3306")
    api.add_instance("10.0.0.9", 3306)
    api.add_instance("10.0.0.10", 3306, instance_master="10.0.0.9:3306")
    assert api.add_ha_group("g", "10.0.0.1:3306", group_members=["10.0.0.2:3306", "10.0.0.3:3306"],
                            group_wvip="10.0.0.100", group_rvip="10.0.0.101:3306") == 0


def roles() -> dict[str, tuple[int, str | None]]:
    return {f"{r['ip']}:{r['port']}": (r["role"], r["master"]) for r in api.get_all_instance()[0]}


def test_ha_group_crud(svc: Service) -> None:
    topology()
    group, code = api.get_ha_group("g")
    assert code == 0
    assert group["master"] == "10.0.0.1:3306"
    assert group["members"] == ["10.0.0.1:3306", "10.0.0.2:3306", "10.0.0.3:3306"]
    assert (group["wvip"], group["rvip"]) == ("10.0.0.100", "10.0.0.101:3306")
    assert api.add_ha_group("g", "10.0.0.1:3306") == 3
    assert api.add_ha_group("h", "10.0.0.77:3306") == 1
    assert api.add_ha_group("h", "10.0.0.9:3306", group_members=["10.0.0.2:3306"]) == 3  # already in g
    assert api.add_ha_group("h", "10.0.0.9:3306", group_flavour="x") == 2
    assert api.add_ha_group("", "10.0.0.9:3306") == 2
    assert api.mod_ha_group("g", group_type="MHA", group_members=["10.0.0.2:3306"]) == 0
    group = api.get_ha_group("g")[0]
    assert group["type"] == "MHA" and group["members"] == ["10.0.0.1:3306", "10.0.0.2:3306"]
    assert api.get_all_ha_group()[0][0]["name"] == "g"
    assert api.del_instance("10.0.0.1", 3306) == 3  # masters a group
    assert api.del_ha_group("g") == 0 and api.del_ha_group("g") == 0
    assert api.get_all_ha_group(stat=2)[0][0]["stat"] == 0
    assert api.get_ha_group("nope") == (None, 1)


def test_update_ha_info_moves_everything_in_one_go(svc: Service) -> None:
    topology()
    assert api.update_ha_info("10.0.0.2:3306", "10.0.0.1:3306") is True
    assert roles() == {
        "10.0.0.1:3306": (2, "10.0.0.2:3306"),
        "10.0.0.2:3306": (1, None),
        "10.0.0.3:3306": (2, "10.0.0.2:3306"),
        "10.0.0.9:3306": (1, None),
        "10.0.0.10:3306": (2, "10.0.0.9:3306"),
    }
    group = api.get_ha_group("g")[0]
    assert group["master"] == "10.0.0.2:3306" and group["last_time"]
    # and back again
    assert api.update_ha_info("10.0.0.1:3306", "10.0.0.2:3306") is True
    assert roles()["10.0.0.1:3306"] == (1, None) and roles()["10.0.0.3:3306"] == (2, "10.0.0.1:3306")


def test_update_ha_info_false_changes_nothing(svc: Service) -> None:
    topology()
    before, log_before = roles(), len(svc.list_changes(count=0))
    assert api.update_ha_info("1.1.1.112:23", "1.1.1.111:3306") is False  # unknown
    assert api.update_ha_info("10.0.0.2:3306", "10.0.0.77:3306") is False  # old unknown
    assert api.update_ha_info("10.0.0.10:3306", "10.0.0.1:3306") is False  # not its replica
    assert api.update_ha_info("10.0.0.1:3306", "10.0.0.2:3306") is False  # reversed
    assert api.update_ha_info("10.0.0.1:3306", "10.0.0.1:3306") is False
    assert api.update_ha_info("garbage", 7) is False
    assert roles() == before
    assert len(svc.list_changes(count=0)) == log_before
    assert api.get_ha_group("g")[0]["master"] == "10.0.0.1:3306"


def test_failover_records(svc: Service) -> None:
    topology()
    gid = api.get_ha_group("g")[0]["id"]
    rid = api.add_failover_record(None, "ONLINE", "10.0.0.1:3306", "10.0.0.2:3306", "g")
    assert isinstance(rid, int)
    rid2 = api.add_failover_record(gid, "ONLINE", "10.0.0.1:3306", "10.0.0.2:3306")
    assert rid2 == rid + 1
    assert api.add_failover_record(None, "ONLINE", "a", "b", "no-such-group") is None
    assert api.add_failover_record(999999, "ONLINE", "a", "b") is None
    assert api.add_failover_record(None, "ONLINE", "a", "b") is None
    assert api.add_failover_record("1; drop", "ONLINE", "a", "b") is None
    assert api.add_failover_record_detail(rid, "mega", "2014-10-14 14:05:25", "10", "y", "test the api") is True
    assert api.add_failover_record_detail(rid, "mega", "2014-10-14 14:05:26", 0.25, "Y", "second") is True
    assert api.add_failover_record_detail(rid, "mega", "yesterday", "10", "y", "x") is False
    assert api.add_failover_record_detail(rid, "mega", "2014-10-14 14:05:25", "ten", "y", "x") is False
    assert api.add_failover_record_detail(999999, "mega", "2014-10-14 14:05:25", "1", "y", "x") is False
    assert api.add_failover_record_detail(None, "mega", "2014-10-14 14:05:25", "1", "y", "x") is False
    assert api.stat_failover_record(rid, "Y") is True
    assert api.stat_failover_record(rid2) is True
    assert api.stat_failover_record(rid, "maybe") is False
    assert api.stat_failover_record(999999, "N") is False
    record, code = api.get_failover_record(rid)
    assert code == 0 and record["result"] == "Y" and record["group_name"] == "g"
    assert [(d["re_time"], d["time_used"], d["content"]) for d in record["details"]] == [
        ("2014-10-14 14:05:25", 10.0, "test the api"), ("2014-10-14 14:05:26", 0.25, "second")]
    records, code = api.get_failover_records("g")
    assert code == 0 and [r["id"] for r in records] == [rid2, rid]  # newest first
    assert api.get_failover_records("g", count=1)[0][0]["id"] == rid2
    assert api.get_failover_records("nope") == ([], 1)
    assert api.get_failover_record(999999) == (None, 1)
    assert api.get_failover_record("x") == (None, 2)


def test_deleted_group_releases_its_instances(svc: Service) -> None:
    topology()
    assert api.del_ha_group("g") == 0
    assert api.add_ha_group("g2", "10.0.0.1:3306", group_members=["10.0.0.2:3306"]) == 0
    assert api.get_ha_group("g2")[0]["members"] == ["10.0.0.1:3306", "10.0.0.2:3306"]


def test_seed_failover_refuses_before_touching_servers(svc: Service) -> None:
    """Refusals that need no live server: each returns None and opens no record."""
    topology()
    assert api.failover("nope", "10.0.0.1:3306", "", "switchover", None) is None
    assert api.failover("g", "10.0.0.2:3306", "", "switchover", None) is None  # not the primary
    assert api.failover("g", "10.0.0.1:3306", "", "sideways", None) is None
    assert api.failover("g", "10.0.0.1:3306", "", "switchover", "2999-01-01 00:00:00") is None  # scheduled
    assert api.failover("g", "10.0.0.1:3306", "", "switchover", "tomorrow") is None
    assert api.get_failover_records("g") == ([], 0)
