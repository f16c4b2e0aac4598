"""The HA engine on real mariadbd processes: switchover, failover, rejoin, ranking, rollback,
locking, hooks and the seed's failover(), each asserted on the servers, the inventory and the record.

Tests whose end state is a healthy topology share one 3-node sandbox (``shared``); tests that kill
a node or leave a diverged one start their own (``fresh``, about 2 s).  Every test leaves a record
checked with :func:`assert_record` (final status, end time, steps).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mega import api
from tests.ha_helpers import (
    TABLE,
    Cluster,
    Writer,
    assert_inventory,
    assert_record,
    assert_same_data,
    assert_topology,
    assert_writes_kept,
    cids,
    gtid,
    insert_rows,
    make_cluster,
    read_only,
    root_sql,
    slave_status,
    step,
    steps,
    wait_converged,
    wait_gtid,
)
from tests.live_fixtures import require_mariadbd

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def shared() -> Iterator[Cluster]:
    """One 3-node group for the tests that leave it healthy (each test re-checks that first)."""
    require_mariadbd()
    cluster = make_cluster("halive")
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture
def healthy(shared: Cluster) -> Cluster:
    """The shared group, checked healthy: one writable primary, the others replicating from it."""
    shared.primary = shared.index_of(shared.svc.get_group(shared.group)["master"])
    assert_topology(shared, shared.primary)
    return shared


@pytest.fixture
def fresh(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A new 3-node group for a test that kills or diverges a node."""
    require_mariadbd()
    name = "ha" + request.node.name.removeprefix("test_").replace("_", "")[:12]
    cluster = make_cluster(name)
    try:
        yield cluster
    finally:
        cluster.down()


def say(text: str) -> None:
    print(f"\n[ha-live] {text}", flush=True)


# ---- 1. switchover there and back under a writer -----------------------------------------------


def test_switchover_and_back_under_writes_loses_nothing(healthy: Cluster) -> None:
    c = healthy
    first, second = c.primary, c.replicas()[0]
    writer = Writer([c.ep(i) for i in c.nodes])
    writer.start()
    writer.wait_acks(30)
    there = c.svc.switchover(c.group, c.key(second), requested_by="test")
    writer.wait_acks(30)
    back = c.svc.switchover(c.group, c.key(first), requested_by="test")
    writer.wait_acks(30)
    report = writer.stop()

    for outcome, new in ((there, second), (back, first)):
        assert outcome.status == "Y", outcome.message
        assert outcome.new_primary == c.key(new) and not outcome.lost
        rec = assert_record(c.svc, outcome.record_id, "Y", "observe", "choose candidate", "pre-sync",
                            "demote: read_only", "demote: fence sessions", "catch up", "promote",
                            "re-point old primary", "re-point replica", "verify", "inventory")
        assert rec["new_master"] == c.key(new) and all(d["result"] == "Y" for d in rec["details"]), steps(rec)
    assert [r["id"] for r in c.svc.list_records(c.group)][:2] == [back.record_id, there.record_id]

    c.primary = first
    assert_topology(c, first)
    assert_inventory(c, first)
    rows = assert_same_data(c)
    assert_writes_kept(report, rows)
    # The writer really wrote on both primaries.
    assert c.key(second) in report.primaries and report.primaries[-1] == c.key(first), report.primaries
    block = [o.metrics["write_block_seconds"] for o in (there, back)]
    say(f"switchover under writes: {len(report.acked)} acked, {len(report.unknown)} unknown, errors "
        f"{dict(report.errors)}; longest write outage seen by the client {report.max_gap * 1000:.0f} ms; "
        f"engine write block {block[0] * 1000:.0f} / {block[1] * 1000:.0f} ms; "
        f"elapsed {there.elapsed * 1000:.0f} / {back.elapsed * 1000:.0f} ms")
