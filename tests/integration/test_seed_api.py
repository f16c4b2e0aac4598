"""The seed API's resource-pool functions, on every backend, through ``mega.api`` in-process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mega import api
from mega.service import Service


def changes(svc: Service) -> int:
    return len(svc.list_changes(count=0))


# --- servers -------------------------------------------------------------------------------


def test_add_server_defaults_and_get(svc: Service) -> None:
    assert api.add_server("10.0.0.1") == 0
    row, code = api.get_server(model="t", ip="10.0.0.1")
    assert code == 0
    assert {k: row[k] for k in ("ip", "name", "os", "stat", "owner", "owner_name")} == {
        "ip": "10.0.0.1", "name": "10.0.0.1", "os": "Linux", "stat": 1, "owner": 1, "owner_name": "default"}
    assert set(row) >= {"id", "ip", "name", "os", "stat", "owner", "owner_name", "online_date"}
    assert len(row["online_date"]) == 19  # 'YYYY-MM-DD HH:MM:SS'


def test_add_server_with_args(svc: Service) -> None:
    api.add_owner("alice", owner_email="a@example.com")
    assert api.add_server("db-01.example.com", server_name="db01", server_os="Debian", server_owner="alice",
                          server_online="2014-10-14 14:05:25") == 0
    row, _ = api.get_server(ip="DB-01.Example.COM.")
    assert (row["name"], row["os"], row["owner_name"], row["online_date"]) == (
        "db01", "Debian", "alice", "2014-10-14 14:05:25")


@pytest.mark.parametrize("ip", [None, "", "1.2.3", "10.0.0.256", "a b", "-bad-.host", 42, ["10.0.0.1"], "1.2.3.4.5",
                                "fe80::zz", "x" * 300, "exa_mple.com"])
def test_add_server_bad_address_is_2_and_changes_nothing(svc: Service, ip: object) -> None:
    assert api.add_server(ip) == 2
    assert api.get_all_server()[0] == []
    assert changes(svc) == 0


@pytest.mark.parametrize("args", [{"server_color": "red"}, {"server_name": ""}, {"server_name": 5},
                                  {"server_online": "yesterday"}, {"server_owner": "nobody"},
                                  {"server_owner": True}, {"name": "legacy-needs-prefix"}])
def test_add_server_bad_args(svc: Service, args: dict) -> None:
    assert api.add_server("10.0.0.1", **args) in (1, 2)
    assert api.get_server(ip="10.0.0.1") == (None, 1)
    assert changes(svc) == 0


def test_ipv6_is_canonical_and_unique(svc: Service) -> None:
    assert api.add_server("2001:DB8:0:0:0:0:0:1") == 0
    assert api.add_server("2001:db8::1") == 3
    assert api.get_server(ip="[2001:db8::1]")[0]["ip"] == "2001:db8::1"
    assert api.add_instance("2001:db8::1", 3307) == 0
    assert api.get_instance(ip="2001:db8::1", port=3307)[0]["port"] == 3307


def test_duplicate_server_is_3(svc: Service) -> None:
    assert api.add_server("10.0.0.1") == 0
    assert api.add_server(" 10.0.0.1 ") == 3


def test_twenty_concurrent_adds_one_wins(svc: Service) -> None:
    barrier = threading.Barrier(20)

    def add(_: int) -> int:
        barrier.wait()
        return api.add_server("10.9.9.9")

    with ThreadPoolExecutor(20) as pool:
        codes = sorted(pool.map(add, range(20)))
    assert codes == [0] + [3] * 19
    assert len(api.get_all_server()[0]) == 1


def test_concurrent_instances_on_one_new_server(svc: Service) -> None:
    """Auto-creating the same server from many threads must not fail any of them."""
    barrier = threading.Barrier(10)

    def add(port: int) -> int:
        barrier.wait()
        return api.add_instance("10.8.8.8", 3300 + port)

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(add, range(10))) == [0] * 10
    assert len(api.get_all_server()[0]) == 1
    assert len(api.get_all_instance()[0]) == 10


def test_mod_server(svc: Service) -> None:
    api.add_server("10.0.0.1")
    assert api.mod_server("10.0.0.1") == 2  # nothing to change
    assert api.mod_server("10.0.0.1", server_name="new", server_os="RHEL") == 0
    assert api.get_server(ip="10.0.0.1")[0]["name"] == "new"
    assert api.mod_server("10.0.0.2", server_name="x") == 1
    assert api.mod_server("10.0.0.1", server_bogus=1) == 2


def test_del_server_soft_idempotent_and_refused_while_used(svc: Service) -> None:
    api.add_instance("10.0.0.1", 3306)
    assert api.del_server("10.0.0.1") == 3
    assert api.get_server(ip="10.0.0.1")[0]["stat"] == 1
    assert api.del_instance("10.0.0.1", 3306) == 0
    assert api.del_server("10.0.0.1") == 0
    assert api.del_server("10.0.0.1") == 0  # idempotent, never toggles back
    row, code = api.get_server(ip="10.0.0.1")
    assert (code, row["stat"]) == (0, 0)
    assert api.del_server("10.0.0.77") == 1


# --- instances -----------------------------------------------------------------------------


def test_add_instance_creates_server_and_accepts_legacy_spellings(svc: Service) -> None:
    api.add_business("payments")
    assert api.add_instance("10.0.0.5", 3307, instance_bussiness="payments", instance_dbtype="MariaDB",
                            instance_hatype="MHA", instance_level=2, instance_name="pay-1") == 0
    assert api.add_instance("10.0.0.5", "3308", instance_business="payments", instance_db_type="MySQL",
                            instance_ha_type="MS") == 0
    assert api.get_server(ip="10.0.0.5")[1] == 0
    row, code = api.get_instance(ip="10.0.0.5", port=3307)
    assert code == 0
    assert (row["business"], row["db_type"], row["ha_type"], row["level"], row["name"]) == (
        "payments", "MariaDB", "MHA", 2, "pay-1")
    keys = "id ip port server_id name level stat business_id business owner_id owner db_type ha_type online_date"
    assert set(keys.split()) <= set(row)


@pytest.mark.parametrize("port", [0, 70000, -1, "abc", 3306.5, True, None])
def test_bad_port_is_2(svc: Service, port: object) -> None:
    assert api.add_instance("10.0.0.5", port) == 2
    assert api.get_all_instance()[0] == []
    assert api.get_all_server()[0] == []


def test_instance_unknown_key_and_duplicates(svc: Service) -> None:
    assert api.add_instance("10.0.0.5", 3306, instance_colour="blue") == 2
    assert api.get_all_server()[0] == []
    assert api.add_instance("10.0.0.5", 3306) == 0
    assert api.add_instance("10.0.0.5", 3306) == 3


def test_replication_role_and_master(svc: Service) -> None:
    api.add_instance("10.0.0.1", 3306)
    assert api.add_instance("10.0.0.2", 3306, instance_role=2, instance_master="10.0.0.1:3306") == 0
    assert api.add_instance("10.0.0.3", 3306, instance_master="10.0.0.99:3306") == 1
    assert api.add_instance("10.0.0.3", 3306, instance_master="host:notaport") == 2
    assert api.add_instance("10.0.0.3", 3306, instance_role=1, instance_master="10.0.0.1:3306") == 2
    row = api.get_instance(ip="10.0.0.2")[0]
    assert (row["role"], row["master"]) == (2, "10.0.0.1:3306")
    assert api.mod_instance("10.0.0.2", 3306, instance_role=1) == 0
    row = api.get_instance(ip="10.0.0.2")[0]
    assert (row["role"], row["master"]) == (1, None)


def test_get_instance_codes(svc: Service) -> None:
    assert api.get_instance() == (None, 2)
    assert api.get_instance(ip="10.0.0.1") == (None, 1)
    assert api.get_instance(ip="10.0.0.1", port=0) == (None, 2)


def test_del_instance_refused_with_databases(svc: Service) -> None:
    api.add_database("app", "10.0.0.1", 3306)
    assert api.del_instance("10.0.0.1", 3306) == 3
    assert api.del_database("10.0.0.1", 3306, "app") == 0
    assert api.del_instance("10.0.0.1", 3306) == 0
    assert api.get_all_instance(stat=2)[0][0]["stat"] == 0


# --- databases -----------------------------------------------------------------------------


def test_add_database_creates_instance_and_server(svc: Service) -> None:
    assert api.add_database("orders", "10.0.0.7", 3310, database_level=3) == 0
    row, code = api.get_database(ip="10.0.0.7", port=3310, db="orders")
    assert code == 0 and row["level"] == 3 and row["name"] == "orders"
    assert api.get_instance(ip="10.0.0.7", port=3310)[1] == 0
    assert api.add_database("orders", "10.0.0.7", 3310) == 3
    assert api.add_database("orders", "10.0.0.7", 3310, database_size=1) == 2
    assert api.add_database("orders", "10.0.0.256", 3310) == 2  # auto-creation impossible
    assert api.add_database("", "10.0.0.7", 3310) == 2
    assert api.add_database("x", "10.0.0.7", 3310, database_ip="10.0.0.8") == 2
    assert api.get_database(ip="10.0.0.7", port=3310, db="nope") == (None, 1)
    assert api.get_database(ip="10.0.0.7", port=3310) == (None, 2)


def test_mod_database(svc: Service) -> None:
    api.add_database("orders", "10.0.0.7", 3310)
    api.add_owner("bob")
    api.add_business("shop")
    assert api.mod_database("10.0.0.7", 3310, "orders", database_owner="bob", database_business="shop",
                            database_name="orders2") == 0
    row = api.get_database(ip="10.0.0.7", port=3310, db="orders2")[0]
    assert (row["owner_name"], row["business"]) == ("bob", "shop")
    assert api.mod_database("10.0.0.7", 3310, "orders") == 2
    assert api.mod_database("10.0.0.7", 3310, "missing", database_level=2) == 1


def test_unicode_names_round_trip(svc: Service) -> None:
    name = "订单库-ü-😀"
    assert api.add_owner("张三") == 0
    assert api.add_instance("10.0.0.7", 3306, instance_name=name, instance_owner="张三") == 0
    row = api.get_instance(ip="10.0.0.7")[0]
    assert (row["name"], row["owner"]) == (name, "张三")


def test_hostile_strings_are_data(svc: Service) -> None:
    hostile = "x'); DROP TABLE server; --"
    assert api.add_instance("10.0.0.7", 3306, instance_name=hostile) == 0
    assert api.get_instance(ip="10.0.0.7")[0]["name"] == hostile
    assert len(api.get_all_server()[0]) == 1


# --- lists: stat and count -----------------------------------------------------------------


def test_stat_and_count_filters(svc: Service) -> None:
    for i in range(1, 6):
        api.add_database(f"d{i}", f"10.0.1.{i}", 3306)
    api.del_database("10.0.1.2", 3306, "d2")
    api.del_instance("10.0.1.2", 3306)
    api.del_server("10.0.1.2")
    for getter in (api.get_all_server, api.get_all_instance, api.get_all_db):
        assert len(getter()[0]) == 5
        online, code = getter(stat=1)
        assert code == 0 and len(online) == 4 and all(r["stat"] == 1 for r in online)
        offline = getter(model="t", stat=2)[0]
        assert [r["ip"] for r in offline] == ["10.0.1.2"]
        first = getter(count=2)[0]
        assert [r["id"] for r in first] == sorted(r["id"] for r in getter()[0])[:2]
        assert getter(stat=3) == ([], 2)
        assert getter(count=-1) == ([], 2)
        assert getter(stat="1") == ([], 2)


# --- change log ----------------------------------------------------------------------------


def test_every_mutation_is_logged(svc: Service) -> None:
    api.add_server("10.0.0.1")
    api.mod_server("10.0.0.1", server_name="renamed")
    api.del_server("10.0.0.1")
    rows = svc.list_changes(object_type="server")
    assert [r["action"] for r in rows] == ["delete", "update", "create"]
    assert rows[1]["before"]["name"] == "10.0.0.1" and rows[1]["after"]["name"] == "renamed"
    assert rows[0]["after"]["stat"] == 0 and rows[0]["before"]["stat"] == 1


def test_add_after_delete_brings_the_row_back(svc: Service) -> None:
    api.add_database("app", "10.0.0.1", 3306)
    api.del_database("10.0.0.1", 3306, "app")
    api.del_instance("10.0.0.1", 3306)
    api.del_server("10.0.0.1")
    assert api.add_instance("10.0.0.1", 3306, instance_name="back") == 0
    row = api.get_instance(ip="10.0.0.1")[0]
    assert (row["stat"], row["name"]) == (1, "back")
    assert api.get_server(ip="10.0.0.1")[0]["stat"] == 1
    assert api.add_database("app", "10.0.0.1", 3306) == 0
    assert api.add_database("app", "10.0.0.1", 3306) == 3  # online again: a real duplicate
    assert len(api.get_all_instance()[0]) == 1
    assert [r["action"] for r in svc.list_changes(object_type="instance")][0] == "revive"


def test_adding_a_child_brings_its_deleted_parent_back(svc: Service) -> None:
    api.add_server("10.9.2.1")
    api.del_server("10.9.2.1")
    assert api.add_instance("10.9.2.1", 3306) == 0
    assert api.get_server(ip="10.9.2.1")[0]["stat"] == 1
    assert api.del_server("10.9.2.1") == 3  # it has an online instance again
    api.add_instance("10.9.2.2", 3306)
    api.del_instance("10.9.2.2", 3306)
    api.del_server("10.9.2.2")
    assert api.add_database("x", "10.9.2.2", 3306) == 0
    assert api.get_instance(ip="10.9.2.2")[0]["stat"] == 1
    assert api.get_server(ip="10.9.2.2")[0]["stat"] == 1
    assert api.del_instance("10.9.2.2", 3306) == 3
