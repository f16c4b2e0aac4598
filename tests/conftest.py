"""Shared fixtures: an inventory store on each backend (SQLite, MariaDB, PostgreSQL).

MariaDB (127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432) get a database of their own per test
session, dropped at the end.  When one is unreachable the test is skipped loudly, except under
CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, text

from mega import api
from mega.inventory.db import Store
from mega.inventory.models import Base, Business, Owner
from mega.service import Service
from mega.settings import load_settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MARIADB_ADMIN = os.environ.get("MEGA_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
POSTGRES_ADMIN = os.environ.get("MEGA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def unavailable(what: str, why: object) -> None:
    """Skip loudly, or fail under CI, when a needed server is missing."""
    message = f"{what} is not available: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing server is a failure, not a skip)")
    pytest.skip(message)


def _create_mariadb(name: str) -> str:
    engine = create_engine(MARIADB_ADMIN, connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    engine.dispose()
    return f"{MARIADB_ADMIN}/{name}?charset=utf8mb4"


def _drop_mariadb(name: str) -> None:
    engine = create_engine(MARIADB_ADMIN)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    engine.dispose()


def _create_postgres(name: str) -> str:
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres(name: str) -> None:
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb),
            pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A migrated inventory store on one backend, for the whole session."""
    kind = request.param
    name = f"mega_test_{uuid.uuid4().hex[:10]}"
    drop = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mega.db'}"
    else:
        create, drop = (_create_mariadb, _drop_mariadb) if kind == "mariadb" else (_create_postgres, _drop_postgres)
        try:
            url = create(name)
        except Exception as exc:  # noqa: BLE001 - any connection problem means "not available"
            unavailable(kind, exc)
    st = Store(url)
    st.upgrade()
    yield st
    st.dispose()
    if drop:
        drop(name)


def wipe(st: Store) -> None:
    """Delete every row but the default owner and business line (id 1)."""
    with st.write() as s:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "instance":
                s.execute(table.update().values(master_id=None))
            if table.name in ("owner", "business"):
                model = Owner if table.name == "owner" else Business
                s.execute(delete(model).where(model.id != 1))
            else:
                s.execute(table.delete())


@pytest.fixture
def svc(store: Store) -> Iterator[Service]:
    """A Service on a clean store, bound as the seed API's service."""
    wipe(store)
    service = Service(load_settings(db_url=store.url), store=store)
    api.bind(service)
    yield service
    api.bind(None)
