"""The inventory schema: what Mega believes about the fleet.

Invariants live in the schema (unique canonical server address, unique (server, port), port range,
unique (instance, database name), unique group name) so that they hold under concurrency and for
every writer, not only for code paths that remember to check.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ONLINE = 1
OFFLINE = 0
ROLE_MASTER = 1
ROLE_REPLICA = 2


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Owner(Base):
    __tablename__ = "owner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)


class Business(Base):
    __tablename__ = "business"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id"))
    phone: Mapped[str] = mapped_column(String(64), default="")
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)


class Server(Base):
    __tablename__ = "server"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ip: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    os: Mapped[str] = mapped_column(String(64), default="Linux")
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id"))
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    online_date: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        CheckConstraint("ip <> ''", name="ip_not_empty"),
        CheckConstraint("stat IN (0, 1)", name="stat_valid"),
    )


class Instance(Base):
    __tablename__ = "instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("server.id"))
    port: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(Integer, default=1)
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id"))
    db_type: Mapped[str] = mapped_column(String(32), default="MySQL")
    ha_type: Mapped[str] = mapped_column(String(32), default="MS")
    role: Mapped[int] = mapped_column(SmallInteger, default=ROLE_MASTER)
    master_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), nullable=True)
    version: Mapped[str] = mapped_column(String(64), default="")
    server_uuid: Mapped[str] = mapped_column(String(64), default="")
    online_date: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("server_id", "port", name="uq_instance_server_port"),
        CheckConstraint("port BETWEEN 1 AND 65535", name="port_range"),
        CheckConstraint("stat IN (0, 1)", name="stat_valid"),
        CheckConstraint("role IN (1, 2)", name="role_valid"),
    )


class Database(Base):
    __tablename__ = "database"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer, default=1)
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    business_id: Mapped[int] = mapped_column(ForeignKey("business.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id"))
    online_date: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("instance_id", "name", name="uq_database_instance_name"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        CheckConstraint("stat IN (0, 1)", name="stat_valid"),
    )


class Vip(Base):
    __tablename__ = "vip"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ip: Mapped[str] = mapped_column(String(255), unique=True)
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class HaGroup(Base):
    """The seed's "failover group": one primary, its replicas, a manager, write and read VIPs."""

    __tablename__ = "ha_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    master_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("server.id"), nullable=True)
    wvip_id: Mapped[int | None] = mapped_column(ForeignKey("vip.id"), nullable=True)
    rvip_id: Mapped[int | None] = mapped_column(ForeignKey("vip.id"), nullable=True)
    type: Mapped[str] = mapped_column(String(32), default="MS")
    stat: Mapped[int] = mapped_column(SmallInteger, default=ONLINE)
    auto_failover: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)


class HaGroupMember(Base):
    __tablename__ = "ha_group_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("ha_group.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), unique=True)
    promotion_rule: Mapped[str] = mapped_column(String(16), default="neutral")

    __table_args__ = (
        CheckConstraint(
            "promotion_rule IN ('prefer', 'neutral', 'prefer_not', 'must_not')", name="promotion_rule_valid"
        ),
    )


class FailoverRecord(Base):
    """One switch (switchover, failover, rejoin, or a script's own record)."""

    __tablename__ = "failover_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("ha_group.id"))
    method: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(32), default="script")
    trigger: Mapped[str] = mapped_column(String(128), default="")
    requested_by: Mapped[str] = mapped_column(String(128), default="")
    old_master: Mapped[str] = mapped_column(String(300), default="")
    new_master: Mapped[str] = mapped_column(String(300), default="")
    result: Mapped[str] = mapped_column(String(16), default="running")
    candidates: Mapped[str] = mapped_column(Text, default="")
    lost: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    re_time: Mapped[datetime] = mapped_column(DateTime)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class FailoverRecordDetail(Base):
    __tablename__ = "failover_record_detail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("failover_record.id"), index=True)
    module: Mapped[str] = mapped_column(String(128))
    re_time: Mapped[datetime] = mapped_column(DateTime)
    time_used: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[str] = mapped_column(String(300), default="")


class ChangeLog(Base):
    """Who changed what, with before/after snapshots; one row per mutated object."""

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")


class OperationLock(Base):
    """One HA operation per group: the row exists while an operation runs (see ha.lock)."""

    __tablename__ = "operation_lock"

    group_id: Mapped[int] = mapped_column(ForeignKey("ha_group.id"), primary_key=True)
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    holder: Mapped[str] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
