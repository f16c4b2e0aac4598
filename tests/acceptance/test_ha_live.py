"""The HA engine on real mariadbd processes: switchover, failover, rejoin, ranking, rollback,
locking, hooks and the seed's failover(), each asserted on the servers, the inventory and the record.

Tests whose end state is a healthy topology share one 3-node sandbox (``shared``); tests that kill
a node or leave a diverged one start their own (``fresh``, about 2 s).  Every test leaves a record
checked with :func:`assert_record` (final status, end time, steps).
"""

from __future__ import annotations

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
    slave_status,
    step,
    steps,
    wait_gtid,
)
from tests.live_fixtures import require_mariadbd

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite inventory for every group of this module (so the record audit sees them all)."""
    return f"sqlite:///{tmp_path_factory.mktemp('ha-live-store') / 'mega.db'}"


@pytest.fixture(scope="module")
def shared(store_url: str) -> Iterator[Cluster]:
    """One 3-node group for the tests that leave it healthy (each test re-checks that first)."""
    require_mariadbd()
    cluster = make_cluster("halive", store_url=store_url)
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
def fresh(request: pytest.FixtureRequest, store_url: str) -> Iterator[Cluster]:
    """A new 3-node group for a test that kills or diverges a node."""
    require_mariadbd()
    name = "ha" + request.node.name.removeprefix("test_").replace("_", "")[:12]
    cluster = make_cluster(name, store_url=store_url)
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


# ---- 2. failover after SIGKILL under a writer; rejoin of the old primary ------------------------


def _received_rows(c: Cluster, index: int, timeout: float = 10.0) -> set[int]:
    """Once node ``index`` stopped receiving (its source is dead), let it apply its relay log and
    return its client ids: what this replica holds of the dead primary's writes."""
    deadline = time.monotonic() + timeout
    while (st := slave_status(c.box, index))["Slave_IO_Running"] == "Yes":
        assert time.monotonic() < deadline, f"node {index} still receives from a dead primary: {st}"
        time.sleep(0.01)
    assert wait_gtid(c.box, index, st["Gtid_IO_Pos"], timeout), f"node {index} did not apply its relay log"
    return set(cids(c.box, index))


def test_failover_after_sigkill_keeps_every_row_a_replica_had(fresh: Cluster) -> None:
    c = fresh
    writer = Writer([c.ep(i) for i in c.nodes])
    writer.start()
    writer.wait_acks(50)
    killed_at = time.monotonic()
    c.box.kill(1)
    capture_started = time.monotonic()
    had = {i: _received_rows(c, i) for i in (2, 3)}
    captured = time.monotonic() - capture_started
    outcome = c.svc.failover(c.group, requested_by="test")
    writable_at = time.monotonic()
    assert outcome.status == "Y", outcome.message
    new = c.index_of(outcome.new_primary)
    assert new in (2, 3) and not read_only(c.box, new) and slave_status(c.box, new) is None
    writer.wait_acks(30)  # the writer found the new primary by itself and writes there
    report = writer.stop()
    assert report.primaries[-1] == c.key(new), report.primaries
    rec = assert_record(c.svc, outcome.record_id, "Y", "confirm primary is dead", "rank candidates",
                        "apply relay log", "promote", "re-point replica", "inventory")
    assert rec["new_master"] == c.key(new)

    c.primary = new
    assert_topology(c, new, nodes=[2, 3])
    assert_inventory(c, new, replicas=[i for i in (2, 3) if i != new])
    rows = assert_same_data(c, nodes=[2, 3])
    for i, before in had.items():
        missing = before - set(rows)
        assert not missing, f"{len(missing)} row(s) node {i} had are not on the new primary: {sorted(missing)[:10]}"
    # Acknowledged writes may be lost with asynchronous replication only when no replica got them.
    lost_acks = set(report.acked) - set(rows)
    assert not lost_acks & (had[2] | had[3])
    say(f"failover after SIGKILL: SIGKILL -> writable new primary {(writable_at - killed_at) * 1000:.0f} ms "
        f"(of which {captured * 1000:.0f} ms reading the replicas for this test); the engine's failover "
        f"{outcome.elapsed * 1000:.0f} ms; client outage {report.max_gap * 1000:.0f} ms; "
        f"{len(lost_acks)} acked insert(s) that no replica had were lost")
    assert outcome.elapsed < 2.0, f"the failover itself took {outcome.elapsed:.2f}s"

    # The old primary comes back read-only (my.cnf) and rejoins, or is refused naming its own GTIDs.
    c.box.start(1)
    assert read_only(c.box, 1)
    mine, theirs = gtid(c.box, 1), gtid(c.box, new)
    rejoin = c.svc.rejoin(c.group, c.key(1), requested_by="test")
    if rejoin.status == "Y":
        assert_record(c.svc, rejoin.record_id, "Y", "divergence check", "re-point", "verify", "inventory")
        assert_topology(c, new)
        assert_inventory(c, new)
        assert_writes_kept(report, assert_same_data(c))
    else:
        assert rejoin.status == "aborted", rejoin.message
        assert "0-1-" in rejoin.message, rejoin.message
        assert_record(c.svc, rejoin.record_id, "aborted", "divergence check")
        assert slave_status(c.box, 1) is None and read_only(c.box, 1)
    say(f"old primary at {mine}, new primary at {theirs}: rejoin {rejoin.status}: {rejoin.message}")


def test_rejoin_refuses_an_old_primary_with_transactions_nobody_received(fresh: Cluster) -> None:
    c = fresh
    for i in (2, 3):
        c.sql(i, "STOP SLAVE IO_THREAD")
    insert_rows(c, 1, 1, 3)  # only node 1 has these three transactions
    orphan = gtid(c.box, 1)
    c.box.kill(1)
    outcome = c.svc.failover(c.group)
    assert outcome.status == "Y", outcome.message
    new = c.index_of(outcome.new_primary)
    c.primary = new
    assert_topology(c, new, nodes=[2, 3])
    c.box.start(1)
    rejoin = c.svc.rejoin(c.group, c.key(1))
    seq = int(orphan.split("-")[2])
    assert rejoin.status == "aborted", rejoin.message
    assert f"0-1-{seq - 2}..0-1-{seq}" in rejoin.message, rejoin.message
    rec = assert_record(c.svc, rejoin.record_id, "aborted", "divergence check")
    assert step(rec, "divergence check")["result"] == "N"
    # Nothing was changed on it: still read-only, replicating from nobody, with its own rows.
    assert slave_status(c.box, 1) is None and read_only(c.box, 1)
    assert set(cids(c.box, 1)) >= {1, 2, 3} and not {1, 2, 3} & set(cids(c.box, new))
    assert c.svc.get_group(c.group)["master"] == c.key(new)


def test_failover_keeps_a_delayed_replica_that_received_nothing_extra(fresh: Cluster) -> None:
    """A delayed replica that holds nothing the new primary lacks follows it at once, delay kept."""
    c = fresh
    c.sql(3, "STOP SLAVE")
    c.sql(3, "CHANGE MASTER TO MASTER_DELAY=3600")
    c.sql(3, "START SLAVE")
    insert_rows(c, 1, 1, 5)
    assert wait_gtid(c.box, 2, gtid(c.box, 1), 10)
    c.box.kill(1)
    started = time.monotonic()
    done = c.svc.failover(c.group)
    assert done.status == "Y" and done.new_primary == c.key(2) and not done.lost, (done.message, done.lost)
    assert time.monotonic() - started < 5  # it did not wait an hour (or catchup_timeout) for the delay
    st = slave_status(c.box, 3)
    assert (int(st["Master_Port"]), int(st["SQL_Delay"])) == (c.ep(2).port, 3600), st
    assert st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes", st
    rec = assert_record(c.svc, done.record_id, "Y", "re-point replica")
    assert any("has everything it received" in d["content"] for d in rec["details"]), steps(rec)


# ---- 4. a candidate whose SQL thread is behind applies its relay log first ---------------------


def test_failover_candidate_with_stopped_sql_thread_applies_its_relay_log(fresh: Cluster) -> None:
    c = fresh
    c.sql(3, "STOP SLAVE IO_THREAD")   # node 3 will have received less
    c.sql(2, "STOP SLAVE SQL_THREAD")  # node 2 receives everything but applies nothing
    written = insert_rows(c, 1, 1, 40)
    pos = gtid(c.box, 1)
    deadline = time.monotonic() + 10
    while slave_status(c.box, 2)["Gtid_IO_Pos"] != pos:
        assert time.monotonic() < deadline, "node 2 did not receive the rows"
        time.sleep(0.01)
    assert not set(written) & set(cids(c.box, 2)), "node 2 applied rows with its SQL thread stopped?"
    c.box.kill(1)
    outcome = c.svc.failover(c.group)
    assert outcome.status == "Y", outcome.message
    assert outcome.new_primary == c.key(2), (outcome.new_primary, outcome.candidates)
    ranked = {x["endpoint"]: x for x in outcome.candidates}
    assert ranked[c.key(2)]["rank"] == 1 and ranked[c.key(2)]["eligible"], outcome.candidates
    rec = assert_record(c.svc, outcome.record_id, "Y", "apply relay log", "promote", "re-point replica")
    assert "SQL_THREAD" in step(rec, "apply relay log")["content"], step(rec, "apply relay log")
    c.primary = 2
    assert_topology(c, 2, nodes=[2, 3])
    rows = assert_same_data(c, nodes=[2, 3])
    assert set(written) <= set(rows), "rows in node 2's relay log were lost"


# ---- 3. a delayed replica is never chosen, even when it is the most advanced -------------------


def _ranked(outcome: object) -> dict[str, dict]:
    return {x["endpoint"]: x for x in outcome.candidates}  # type: ignore[attr-defined]


def test_delayed_replica_is_never_chosen(fresh: Cluster) -> None:
    c = fresh
    c.sql(3, "STOP SLAVE")
    c.sql(3, "CHANGE MASTER TO MASTER_DELAY=3600")
    c.sql(3, "START SLAVE")
    insert_rows(c, 1, 1, 5)

    # Asked for by name: refused, nothing changed.
    refused = c.svc.switchover(c.group, c.key(3))
    assert refused.status == "aborted" and "delayed" in refused.message, refused.message
    assert_record(c.svc, refused.record_id, "aborted", "choose candidate")
    assert_topology(c, 1)
    assert c.svc.get_group(c.group)["master"] == c.key(1)

    # Automatic choice: node 2; the delayed node follows it and keeps its delay.
    moved = c.svc.switchover(c.group)
    assert moved.status == "Y" and moved.new_primary == c.key(2), moved.message
    assert not _ranked(moved)[c.key(3)]["eligible"]
    assert any("delayed" in r for r in _ranked(moved)[c.key(3)]["reasons"])
    assert_record(c.svc, moved.record_id, "Y", "verify")
    c.primary = 2
    st = slave_status(c.box, 3)
    assert (int(st["Master_Port"]), int(st["SQL_Delay"])) == (c.ep(2).port, 3600), st
    assert_topology(c, 2)
    assert_inventory(c, 2)

    # Failover where the delayed replica received the most: still not chosen.
    c.sql(1, "STOP SLAVE IO_THREAD")
    written = insert_rows(c, 2, 100, 5)
    pos = gtid(c.box, 2)
    deadline = time.monotonic() + 10
    while slave_status(c.box, 3)["Gtid_IO_Pos"] != pos:
        assert time.monotonic() < deadline, "the delayed replica did not receive the rows"
        time.sleep(0.01)
    assert slave_status(c.box, 1)["Gtid_IO_Pos"] != pos  # node 1 received less than node 3
    c.box.kill(2)
    failed_over = c.svc.failover(c.group)
    assert failed_over.new_primary == c.key(1), (failed_over.message, failed_over.candidates)
    ranking = _ranked(failed_over)
    assert ranking[c.key(1)]["rank"] == 1 and ranking[c.key(1)]["eligible"]
    assert not ranking[c.key(3)]["eligible"] and any("delayed" in r for r in ranking[c.key(3)]["reasons"]), ranking
    # It is left alone (its relay log holds what the new primary lacks) and reported as lost.
    assert failed_over.status == "partial", failed_over.message
    lost = {x["endpoint"]: x["reason"] for x in failed_over.lost}
    assert "delayed" in lost[c.key(3)] and set(lost) <= {c.key(2), c.key(3)}, lost
    rec = assert_record(c.svc, failed_over.record_id, "partial", "rank candidates", "promote")
    assert "delayed" in step(rec, "rank candidates")["content"]
    assert not read_only(c.box, 1) and slave_status(c.box, 1) is None
    assert not set(written) & set(cids(c.box, 1))  # node 1 never received them: lost with node 2


def test_switchover_leaves_a_diverged_former_primary_alone(fresh: Cluster) -> None:
    """After a failover, the restarted old primary writes on its own: rejoin refuses it, and a later
    switchover must not attach it either (it moves the old primary's replicas only)."""
    c = fresh
    insert_rows(c, 1, 1, 3)
    assert wait_gtid(c.box, 2, gtid(c.box, 1), 10) and wait_gtid(c.box, 3, gtid(c.box, 1), 10)
    c.box.kill(1)
    done = c.svc.failover(c.group)
    assert done.status == "Y", done.message
    c.box.start(1)
    c.sql(1, "SET GLOBAL read_only = 0")
    insert_rows(c, 1, 500, 1)  # binlogged with server id 1, after the failover: nobody else has it
    c.sql(1, "SET GLOBAL read_only = 1")
    mine = gtid(c.box, 1)
    refused = c.svc.rejoin(c.group, c.key(1))
    assert refused.status == "aborted" and mine in refused.message, refused.message
    primary = c.index_of(done.new_primary)
    other = next(i for i in (2, 3) if i != primary)
    moved = c.svc.switchover(c.group, c.key(other))
    assert moved.status == "partial", moved.message
    assert [x["endpoint"] for x in moved.lost] == [c.key(1)] and "rejoin" in moved.lost[0]["reason"], moved.lost
    assert c.sql(1, "SHOW ALL SLAVES STATUS") == []  # untouched: still replicating from nobody
    assert gtid(c.box, 1) == mine
    rec = assert_record(c.svc, moved.record_id, "partial", "re-point replica")
    assert any(d["target"] == c.key(1) and d["result"] == "N" for d in rec["details"]), steps(rec)


# ---- 5. a replica with an errant transaction is excluded and named -----------------------------


def test_replica_with_errant_transaction_is_excluded_and_named(fresh: Cluster) -> None:
    c = fresh
    conn = c.box.root(3)
    try:
        with conn.cursor() as cur:  # a write straight on a replica, binlogged with its own server id
            cur.execute("SET GLOBAL read_only = 0")
            cur.execute("SET SESSION sql_log_bin = 1")
            cur.execute(f"INSERT INTO {TABLE} (cid, payload) VALUES (7, 'errant')")
            cur.execute("SET GLOBAL read_only = 1")
    finally:
        conn.close()
    errant = gtid(c.box, 3)
    assert errant.startswith("0-3-"), errant

    asked = c.svc.switchover(c.group, c.key(3))
    assert asked.status == "aborted" and "errant" in asked.message and errant in asked.message, asked.message
    assert_record(c.svc, asked.record_id, "aborted", "choose candidate")
    assert_topology(c, 1)

    auto = c.svc.switchover(c.group)
    assert auto.new_primary == c.key(2), auto.message
    reasons = _ranked(auto)[c.key(3)]["reasons"]
    assert not _ranked(auto)[c.key(3)]["eligible"] and any("errant" in r and errant in r for r in reasons), reasons
    # It cannot follow anyone without breaking: left alone and reported, never silently re-pointed.
    assert auto.status == "partial" and [x["endpoint"] for x in auto.lost] == [c.key(3)], (auto.status, auto.lost)
    assert errant in auto.lost[0]["reason"]
    rec = assert_record(c.svc, auto.record_id, "partial", "choose candidate", "re-point replica")
    assert errant in step(rec, "choose candidate")["content"]
    c.primary = 2
    assert_topology(c, 2, nodes=[1, 2])
    assert_inventory(c, 2, replicas=[1])

    # Failover: excluded and named too.
    c.box.kill(2)
    failed_over = c.svc.failover(c.group)
    assert failed_over.new_primary == c.key(1), failed_over.message
    reasons = _ranked(failed_over)[c.key(3)]["reasons"]
    assert any("errant" in r and errant in r for r in reasons), failed_over.candidates
    assert any(x["endpoint"] == c.key(3) and errant in x["reason"] for x in failed_over.lost), failed_over.lost
    assert_record(c.svc, failed_over.record_id, failed_over.status.value, "rank candidates")
    assert not read_only(c.box, 1) and slave_status(c.box, 1) is None


# ---- 6. read_only stuck behind a lock: rolled back, topology exactly as it was -----------------


def test_switchover_rolls_back_when_read_only_is_stuck_behind_a_lock(healthy: Cluster) -> None:
    c = healthy
    before = {i: (read_only(c.box, i), (slave_status(c.box, i) or {}).get("Master_Port")) for i in c.nodes}
    svc = c.service(read_only_timeout=1.0)
    locker = c.box.root(c.primary)
    try:
        with locker.cursor() as cur:
            cur.execute(f"LOCK TABLES {TABLE} WRITE")
        started = time.monotonic()
        outcome = svc.switchover(c.group, requested_by="test")
        took = time.monotonic() - started
        assert outcome.status == "rolled_back", outcome.message
        assert "read_only" in outcome.message and "undone" in outcome.message, outcome.message
        assert took < 5, f"the rollback took {took:.1f}s with read_only_timeout=1"
        with locker.cursor() as cur:  # the lock holder was not killed by the rollback
            cur.execute("UNLOCK TABLES")
    finally:
        locker.close()
    rec = assert_record(c.svc, outcome.record_id, "rolled_back", "demote: read_only", "undo: read_only=0")
    assert step(rec, "demote: read_only")["result"] == "N"
    assert "did not finish within 1s" in step(rec, "demote: read_only")["content"]
    assert "promote" not in [d["module"] for d in rec["details"]]
    after = {i: (read_only(c.box, i), (slave_status(c.box, i) or {}).get("Master_Port")) for i in c.nodes}
    assert after == before
    assert_topology(c, c.primary)
    assert_inventory(c, c.primary)
    with Writer([c.ep(i) for i in c.nodes]) as writer:  # the old primary takes writes again
        writer.wait_acks(5)
    assert writer.primaries == [c.key(c.primary)]
    assert_writes_kept(writer.report(), assert_same_data(c))


# ---- 7. two switchovers at once: one runs, the other is refused --------------------------------


def _hook(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_two_switchovers_at_once_one_runs_the_other_is_refused(healthy: Cluster, tmp_path: Path) -> None:
    c = healthy
    # A slow pre hook keeps the winner inside the group lock while the other one asks for it.
    _hook(tmp_path / c.group / "pre", "sleep 0.5")
    svc = c.service(hooks_dir=str(tmp_path))
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    failures: list[BaseException] = []

    def go() -> None:
        barrier.wait()
        try:
            outcomes.append(svc.switchover(c.group, requested_by=threading.current_thread().name))
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=go, name=f"op{n}") for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    by_status = {o.status.value: o for o in outcomes}  # type: ignore[attr-defined]
    assert sorted(by_status) == ["Y", "aborted"], [(o.status, o.message) for o in outcomes]  # type: ignore[attr-defined]
    winner, loser = by_status["Y"], by_status["aborted"]
    assert "busy" in loser.message and "switchover" in loser.message, loser.message
    assert f"record {winner.record_id}" in loser.message, loser.message
    assert_record(c.svc, winner.record_id, "Y", "lock", "hook pre", "promote")
    rec = assert_record(c.svc, loser.record_id, "aborted", "lock")
    assert step(rec, "lock")["result"] == "N"
    assert {winner.record_id, loser.record_id} <= {r["id"] for r in c.svc.list_records(c.group)}
    c.primary = c.index_of(winner.new_primary)
    assert_topology(c, c.primary)
    assert_inventory(c, c.primary)


# ---- 9. hooks: a failing pre hook vetoes; post-success gets the context -------------------------


def test_pre_hook_vetoes_and_post_success_hook_gets_the_context(healthy: Cluster, tmp_path: Path) -> None:
    c = healthy
    hooks = tmp_path / "hooks"
    out = tmp_path / "out"
    out.mkdir()
    veto = _hook(hooks / c.group / "pre", "echo 'change freeze'; exit 1")
    _hook(hooks / c.group / "post-failure", f'echo "$MEGA_STATUS $MEGA_OPERATION" > {out}/failure')
    _hook(hooks / c.group / "post-success",
          f'echo "$MEGA_GROUP $MEGA_NEW_PRIMARY $MEGA_OLD_PRIMARY $MEGA_STATUS" > {out}/success')
    svc = c.service(hooks_dir=str(hooks))
    old = c.primary

    vetoed = svc.switchover(c.group)
    assert vetoed.status == "aborted" and "vetoed" in vetoed.message and "change freeze" in vetoed.message
    rec = assert_record(c.svc, vetoed.record_id, "aborted", "hook pre")
    assert step(rec, "hook pre")["result"] == "N" and "demote: read_only" not in [d["module"] for d in rec["details"]]
    assert_topology(c, old)
    assert c.svc.get_group(c.group)["master"] == c.key(old)
    assert (out / "failure").read_text().split() == ["aborted", "switchover"]
    assert not (out / "success").exists()

    veto.unlink()
    moved = svc.switchover(c.group)
    assert moved.status == "Y", moved.message
    assert_record(c.svc, moved.record_id, "Y", "hook post-success")
    assert (out / "success").read_text().split() == [c.group, moved.new_primary, c.key(old), "Y"]
    c.primary = c.index_of(moved.new_primary)
    assert_topology(c, c.primary)


# ---- 10. the seed's failover() through mega.api -------------------------------------------------


def test_seed_failover_api_switches_and_returns_the_record_id(healthy: Cluster) -> None:
    c = healthy
    old, new = c.primary, c.replicas()[-1]
    api.bind(c.svc)
    try:
        rid = api.failover(c.group, c.key(old), c.key(new), "switchover", None)
        assert isinstance(rid, int) and not isinstance(rid, bool)
        rec = assert_record(c.svc, rid, "Y", "promote", "inventory")
        assert (rec["old_master"], rec["new_master"]) == (c.key(old), c.key(new))
        c.primary = new
        assert_topology(c, new)
        assert_inventory(c, new)
        assert api.get_ha_group(c.group)[0]["master"] == c.key(new)
        # 'auto' with no target: a switchover (the primary answers) back to the best candidate.
        rid2 = api.failover(c.group, c.key(new), None, "auto", None)
        rec2 = assert_record(c.svc, rid2, "Y")
        assert rec2["kind"] == "switchover" and rid2 > rid
        c.primary = c.index_of(rec2["new_master"])
        assert_topology(c, c.primary)
    finally:
        api.bind(None)


# ---- 8. every operation above left a complete record ---------------------------------------------


def test_every_operation_left_a_complete_record(healthy: Cluster) -> None:
    """Runs last: every record in the module's inventory (all groups, failures included) has a final
    status, an end time, a message and its steps; a failed or refused one names the failed step."""
    c = healthy
    c.svc.switchover(c.group)  # at least one record even when this test runs alone
    c.primary = c.index_of(c.svc.get_group(c.group)["master"])
    records = [c.svc.get_record(r["id"]) for r in c.svc.list_records()]
    assert records
    finals = {"Y", "N", "aborted", "rolled_back", "partial"}
    for rec in records:
        where = f"record {rec['id']} ({rec['group_name']} {rec['kind']}: {rec['message']})"
        assert rec["result"] in finals and rec["end_time"] and rec["message"], where
        assert rec["details"] and all(d["result"] in ("Y", "N", "skip") for d in rec["details"]), where
        if rec["result"] in ("N", "aborted", "rolled_back"):
            assert any(d["result"] == "N" for d in rec["details"]), f"{where}: no failed step: {steps(rec)}"
    seen = {r["result"] for r in records}
    say(f"{len(records)} records over {len({r['group_name'] for r in records})} groups, results {sorted(seen)}")
