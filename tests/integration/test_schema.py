"""The inventory's invariants live in the schema: rows inserted behind Mega's back are refused."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError, OperationalError

from mega.inventory.db import Store
from mega.inventory.models import Base, Database, HaGroup, Instance, Server
from tests.conftest import wipe

NOW = datetime(2026, 1, 1)


def server(ip: str) -> dict:
    return {"ip": ip, "name": ip, "os": "Linux", "owner_id": 1, "stat": 1, "online_date": NOW}


def instance(server_id: int, port: int) -> dict:
    return {"server_id": server_id, "port": port, "name": "i", "level": 1, "stat": 1, "business_id": 1,
            "owner_id": 1, "db_type": "MySQL", "ha_type": "MS", "role": 1, "version": "", "server_uuid": "",
            "online_date": NOW}


def insert_rows(store: Store, *steps: tuple) -> None:
    with store.write() as s:
        for table, values in steps:
            s.execute(insert(table).values(**values))


@pytest.fixture
def clean(store: Store) -> Store:
    wipe(store)
    insert_rows(store, (Server, {"id": 100, **server("10.0.0.1")}), (Instance, {"id": 100, **instance(100, 3306)}))
    return store


@pytest.mark.parametrize("steps", [
    [(Server, server("10.0.0.1"))],                       # unique canonical address
    [(Instance, instance(100, 3306))],                    # unique (server, port)
    [(Instance, instance(100, 0))],                       # port range
    [(Instance, instance(100, 70000))],
    [(Instance, {**instance(100, 3307), "stat": 7})],     # stat domain
    [(Server, {**server("10.0.0.2"), "owner_id": 999})],  # foreign key
    [(Database, {"instance_id": 100, "name": "d", "level": 1, "stat": 1, "business_id": 1, "owner_id": 1,
                 "online_date": NOW}),
     (Database, {"instance_id": 100, "name": "d", "level": 1, "stat": 1, "business_id": 1, "owner_id": 1,
                 "online_date": NOW})],                   # unique (instance, name)
    [(HaGroup, {"name": "g", "master_id": 100, "type": "MS", "stat": 1, "auto_failover": 0, "created_at": NOW}),
     (HaGroup, {"name": "g", "master_id": 100, "type": "MS", "stat": 1, "auto_failover": 0, "created_at": NOW})],
], ids=["dup-ip", "dup-port", "port-0", "port-70000", "stat", "fk-owner", "dup-db", "dup-group"])
def test_constraint_refuses(clean: Store, steps: list) -> None:
    # MariaDB reports CHECK failures as error 4025 (an OperationalError in PyMySQL).
    with pytest.raises((IntegrityError, OperationalError)) as caught:
        insert_rows(clean, *steps)
    if isinstance(caught.value, OperationalError):
        assert caught.value.orig.args[0] == 4025


def test_migrations_match_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
