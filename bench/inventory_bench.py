"""Inventory benchmarks: get_all_instance over N instances vs a raw driver fetch, and mega serve RSS.

Prints figures; asserts nothing.  Usage: ``.venv/bin/python bench/inventory_bench.py [N]`` (default
100,000).  Targets (docs/product.md): get_all_instance <= 3x the raw fetch; ``mega serve`` < 300 MB
RSS with 100,000 instances.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mega import api  # noqa: E402
from mega.inventory.models import Instance, Server  # noqa: E402
from mega.service import Service  # noqa: E402
from mega.settings import load_settings  # noqa: E402

RAW_SQL = """
SELECT i.id, s.ip, i.port, i.server_id, i.name, i.level, i.stat, i.business_id, b.name, i.owner_id, o.name,
       i.db_type, i.ha_type, i.online_date, i.role, i.master_id, ms.ip, m.port, i.version
FROM instance i JOIN server s ON s.id = i.server_id JOIN business b ON b.id = i.business_id
JOIN owner o ON o.id = i.owner_id LEFT JOIN instance m ON m.id = i.master_id
LEFT JOIN server ms ON ms.id = m.server_id ORDER BY i.id
"""


def populate(svc: Service, n: int) -> None:
    now = datetime.now().replace(microsecond=0)
    servers = max(1, n // 4)
    with svc.store.write() as s:
        s.execute(insert(Server), [{"id": k + 1, "ip": f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}",
                                    "name": f"db{k}", "os": "Linux", "owner_id": 1, "stat": 1, "online_date": now}
                                   for k in range(servers)])
        s.execute(insert(Instance), [{"id": k + 1, "server_id": k % servers + 1, "port": 3306 + k // servers,
                                      "name": f"inst{k}", "level": 1, "stat": 1, "business_id": 1, "owner_id": 1,
                                      "db_type": "MariaDB", "ha_type": "MS", "role": 1 if k % 3 == 0 else 2,
                                      "master_id": None if k % 3 == 0 else k - k % 3 + 1, "version": "10.11",
                                      "server_uuid": "", "online_date": now} for k in range(n)])


def timed(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def serve_rss(db_url: str) -> tuple[float, float]:
    """(RSS MB after start, peak RSS MB after one get_all_instance over RPC) of a real mega serve."""
    import subprocess

    from mega_client.sender import MegaClient, MegaUnavailable
    from tests.serve import free_port

    port = free_port()
    env = {**os.environ, "MEGA_DB_URL": db_url, "MEGA_RPC_ADDR": f"127.0.0.1:{port}", "MEGA_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("mega")), "serve"], env=env,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            time.sleep(0.1)
            try:
                MegaClient(port=port, cmd="get_all_funcs").run(TOOL=True)
                break
            except MegaUnavailable:
                continue
        before = _rss(proc.pid, "VmRSS")
        rows, code = MegaClient(port=port, cmd="get_all_instance", timeout=120).run()
        assert code == 0, code
        return before, _rss(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(10)


def _rss(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        svc = Service(load_settings(db_url=url))
        svc.store.upgrade()
        api.bind(svc)
        t = time.perf_counter()
        populate(svc, n)
        print(f"populated {n} instances in {time.perf_counter() - t:.1f}s")
        raw = sqlite3.connect(path)
        raw_s = timed(lambda: raw.execute(RAW_SQL).fetchall())
        api_s = timed(lambda: api.get_all_instance())
        rows, code = api.get_all_instance()
        assert code == 0 and len(rows) == n
        print(f"raw sqlite3 fetch of the same rows: {raw_s * 1000:.0f} ms")
        print(f"api.get_all_instance():             {api_s * 1000:.0f} ms")
        print(f"ratio: {api_s / raw_s:.2f}x (target <= 3x)")
        before, peak = serve_rss(url)
        print(f"mega serve RSS: {before:.0f} MB idle, {peak:.0f} MB peak after get_all_instance of {n} over RPC "
              "(target < 300 MB)")


if __name__ == "__main__":
    main()
