"""The per-group operation lock, on every backend (no live server needed)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from mega import api
from mega.errors import OperationRefused
from mega.ha import lock
from mega.inventory.models import OperationLock
from mega.service import Service


@pytest.fixture
def group(svc: Service) -> dict:
    api.add_instance("10.0.0.1", 3306)
    api.add_ha_group("g", "10.0.0.1:3306")
    return svc.get_group("g")


def test_second_holder_is_refused_with_the_first_named(svc: Service, group: dict) -> None:
    lock.acquire(svc.store, group_id=group["id"], group_name="g", operation="switchover", holder="one", ttl=60)
    with pytest.raises(OperationRefused, match="busy: a switchover .* by one"):
        lock.acquire(svc.store, group_id=group["id"], group_name="g", operation="failover", holder="two", ttl=60)
    lock.release(svc.store, group_id=group["id"], holder="two")  # not the holder: no effect
    assert lock.current(svc.store, group["id"]).holder == "one"
    lock.release(svc.store, group_id=group["id"], holder="one")
    lock.acquire(svc.store, group_id=group["id"], group_name="g", operation="failover", holder="two", ttl=60)


def test_concurrent_acquire_one_wins(svc: Service, group: dict) -> None:
    barrier, results = threading.Barrier(8), []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            lock.acquire(svc.store, group_id=group["id"], group_name="g", operation="switchover",
                         holder=f"h{n}", ttl=60)
            results.append("won")
        except OperationRefused:
            results.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["refused"] * 7 + ["won"]


def test_expired_lock_is_taken_over_and_its_record_closed(svc: Service, group: dict) -> None:
    rid = svc.add_record(group["id"], "switchover", "a", "b", kind="switchover")
    lock.acquire(svc.store, group_id=group["id"], group_name="g", operation="switchover", holder="dead", ttl=60,
                 record_id=rid)
    with svc.store.write() as s:
        s.execute(update(OperationLock).values(expires_at=datetime.now() - timedelta(seconds=1)))
    lock.acquire(svc.store, group_id=group["id"], group_name="g", operation="failover", holder="alive", ttl=60)
    record = svc.get_record(rid)
    assert record["result"] == "N" and "abandoned" in record["message"] and record["end_time"]
