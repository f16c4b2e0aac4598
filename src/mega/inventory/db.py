"""Connections to the inventory store: engine factory, transactions, schema upgrade.

SQLite (the default) gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for write
transactions, so concurrent writers queue instead of failing.  MariaDB/MySQL and PostgreSQL run at
READ COMMITTED, so a writer that lost a uniqueness race re-reads the winner's row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mega.errors import StoreUnavailable

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with per-dialect settings (see the module docstring)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        # A local file: no ping needed; enough pooled connections for every RPC thread.
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        kwargs["pool_size"], kwargs["max_overflow"] = 16, 48
        folder = Path(parsed.database).parent if parsed.database and parsed.database != ":memory:" else None
        if folder is not None and not folder.is_dir():
            raise StoreUnavailable(f"cannot open the SQLite store {parsed.database}: folder {folder} does not exist")
        engine = create_engine(parsed, **kwargs)
        _sqlite_setup(engine)
        return engine
    if backend in ("mysql", "mariadb"):
        if parsed.drivername in ("mysql", "mariadb"):
            parsed = parsed.set(drivername=f"{backend}+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["pool_recycle"] = 3600
        kwargs["connect_args"] = {"connect_timeout": 5}
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["connect_args"] = {"connect_timeout": 5}
    kwargs["pool_pre_ping"] = True
    kwargs["pool_size"] = 10
    kwargs["max_overflow"] = 20
    return create_engine(parsed, **kwargs)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front, so two of them queue instead of deadlocking on a
        # read-to-write upgrade; readers need no transaction (one BEGIN fewer per request).
        if conn.get_execution_options().get("mega_write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """The inventory store: one engine and its session factories.

    ``write()`` and ``read()`` are the only ways in; each is one transaction, committed on success
    and rolled back on any exception.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.backend = self.engine.dialect.name
        self._writer = sessionmaker(self.engine.execution_options(mega_write=True), expire_on_commit=False)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with _translate_unavailable(), self._writer.begin() as session:
            yield session

    @contextmanager
    def query(self) -> Iterator[Connection]:
        """A Core connection for plain SELECTs (half the overhead of a Session: the RPC hot path)."""
        with _translate_unavailable(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translate_unavailable(), self._reader() as session:
            yield session

    def upgrade(self) -> None:
        """Apply every pending Alembic migration."""
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _translate_unavailable() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if exc.connection_invalidated or _is_connect_error(exc):
            raise StoreUnavailable(f"inventory store unreachable: {exc.orig}") from exc
        raise


def _is_connect_error(exc: OperationalError) -> bool:
    args = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in (2002, 2003, 2006, 2013)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database to ``revision`` (default: the newest)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
