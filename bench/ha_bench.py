"""Benchmark: what a client sees of a switchover and of a failover, on a local 3-node MariaDB sandbox.

1. Switchover: a client inserts a row every 10 ms (application account, no SUPER) and follows the
   writable primary (it asks the nodes which one has read_only=0 after error 1290 or a lost
   connection).  ``--switchovers`` switchovers back and forth (default 5); for each, the write
   outage is the longest gap between two acknowledged inserts around it.  Also the engine's own
   write block (``metrics.write_block_seconds``: read_only=1 on the old primary until read_only=0
   on the new one) and the switchover's duration.
2. Failover: SIGKILL of the primary under the same client, then ``mega ha failover G`` run at once
   as a separate process (the CLI, as an operator or a monitor would).  Printed: SIGKILL -> the CLI
   returned (a writable new primary), SIGKILL -> the first acknowledged insert on the new primary,
   and the engine's own duration (the record's ``elapsed``).  The old primary is then restarted and
   rejoined, ``--failovers`` times (default 3).

Loopback only; the sandbox lives in a temp directory and is removed at the end (also on error).
Not a test: it prints figures and exits 0 (1 when an operation did not succeed).

    .venv/bin/python bench/ha_bench.py [--switchovers 5] [--failovers 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ha_helpers import Cluster, Writer, WriterReport, assert_topology, make_cluster  # noqa: E402

MEGA = str(Path(sys.executable).with_name("mega"))


def outage(report: WriterReport, start: float, end: float) -> float:
    """The longest gap between two acknowledged inserts that overlaps [start, end]."""
    t = report.ack_times
    gaps = [b - a for a, b in zip(t, t[1:], strict=False) if b >= start and a <= end]
    return max(gaps, default=0.0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def bench_switchovers(c: Cluster, n: int) -> bool:
    print(f"\n== switchover under a 10 ms writer, {n} times back and forth")
    outages, blocks, took = [], [], []
    ok = True
    with Writer([c.ep(i) for i in c.nodes]) as writer:
        writer.wait_acks(20)
        for k in range(n):
            target = c.replicas()[0]
            start = time.monotonic()
            result = c.svc.switchover(c.group, c.key(target), requested_by="bench")
            end = time.monotonic()
            writer.wait_acks(20)
            if result.status != "Y":
                print(f"  #{k + 1}: {result.status}: {result.message}")
                ok = False
                break
            c.primary = target
            gap = outage(writer.report(), start, end)
            outages.append(gap)
            blocks.append(result.metrics.get("write_block_seconds", 0.0))
            took.append(result.elapsed)
            print(f"  #{k + 1} -> node {target}: client outage {ms(gap)}, engine write block {ms(blocks[-1])}, "
                  f"switchover {ms(took[-1])}")
    report = writer.report()
    if outages:
        print(f"  median: client outage {ms(statistics.median(outages))} (max {ms(max(outages))}), "
              f"engine write block {ms(statistics.median(blocks))}, switchover {ms(statistics.median(took))}")
    print(f"  writer: {len(report.acked)} acknowledged, {len(report.unknown)} unknown, errors {dict(report.errors)}")
    return ok


def bench_failovers(c: Cluster, n: int) -> bool:
    print(f"\n== SIGKILL of the primary, then `mega ha failover` at once, {n} times")
    env = {**os.environ, "MEGA_DB_URL": c.svc.settings.db_url, "MEGA_MYSQL_USER": c.svc.settings.mysql_user,
           "MEGA_MYSQL_PASSWORD": c.svc.settings.mysql_password.get_secret_value(),
           "MEGA_REPL_USER": c.svc.settings.repl_user,
           "MEGA_REPL_PASSWORD": c.svc.settings.repl_password.get_secret_value(),
           "MEGA_CONNECT_TIMEOUT": "1"}
    to_cli, to_write, engine = [], [], []
    for k in range(n):
        old = c.primary
        with Writer([c.ep(i) for i in c.nodes]) as writer:
            writer.wait_acks(20)
            killed = time.monotonic()
            c.box.kill(old)
            proc = subprocess.run([MEGA, "ha", "failover", c.group, "--json"], env=env, capture_output=True,
                                  text=True, timeout=120)
            returned = time.monotonic()
            writer.wait_acks(10)
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            print(f"  #{k + 1}: the CLI printed no JSON (exit {proc.returncode}): {proc.stderr[-800:]}")
            return False
        if result["status"] != "Y":
            print(f"  #{k + 1}: {result['status']}: {result['message']}")
            return False
        first = writer.report().gap_after(killed)
        to_cli.append(returned - killed)
        to_write.append(first)
        engine.append(result["elapsed"])
        print(f"  #{k + 1} node {old} killed: SIGKILL -> CLI returned {ms(to_cli[-1])}, -> first write on the new "
              f"primary {ms(first)}; the engine's failover {ms(engine[-1])}")
        c.primary = c.index_of(result["new_primary"])
        c.box.start(old)
        back = c.svc.rejoin(c.group, c.key(old), requested_by="bench")
        if back.status != "Y":
            print(f"  node {old} could not rejoin ({back.status}: {back.message}); stopping here")
            break
        assert_topology(c, c.primary)
    if engine:
        print(f"  median: SIGKILL -> CLI returned {ms(statistics.median(to_cli))}, -> first write "
              f"{ms(statistics.median(to_write))}; engine {ms(statistics.median(engine))}")
        print("  (the CLI figure includes starting Python, importing mega and opening the inventory: "
              f"`mega ha history` alone takes {ms(cli_startup(env, c.group))})")
    return True


def cli_startup(env: dict[str, str], group: str) -> float:
    started = time.monotonic()
    subprocess.run([MEGA, "ha", "history", group, "--count", "1"], env=env, capture_output=True, timeout=60)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switchovers", type=int, default=5)
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    started = time.monotonic()
    c = make_cluster("habench")
    print(f"sandbox up: 3 nodes on {', '.join(c.key(i) for i in c.nodes)} ({time.monotonic() - started:.1f}s)")
    try:
        ok = bench_switchovers(c, args.switchovers)
        ok = bench_failovers(c, args.failovers) and ok
    finally:
        c.down()
    print(f"\ndone in {time.monotonic() - started:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
