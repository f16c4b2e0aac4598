"""The HA command line as a DBA uses it: sandbox up, kill, failover, start, rejoin, history, down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_fixtures import require_mariadbd

MEGA = str(Path(sys.executable).with_name("mega"))
pytestmark = pytest.mark.live


def test_sandbox_failover_rejoin_round_trip(tmp_path: Path) -> None:
    require_mariadbd()
    env = {**os.environ, "MEGA_DB_URL": f"sqlite:///{tmp_path / 'mega.db'}"}
    box = str(tmp_path / "sb")
    where = ["--name", "clitest", "--dir", box]

    def mega(*args: str, status: int = 0) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([MEGA, *args], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == status, (args, out.stdout, out.stderr)
        return out

    try:
        up = mega("sandbox", "up", *where, "--nodes", "3")
        assert "HA group 'clitest' registered" in up.stdout
        group = json.loads(mega("group", "show", "clitest", "--json").stdout)
        first = group["master"]
        refused = mega("ha", "failover", "clitest", status=6)  # the primary answers
        assert "answers" in refused.stdout
        mega("sandbox", "kill", *where, "--node", "1")
        done = json.loads(mega("ha", "failover", "clitest", "--json").stdout)
        assert done["status"] == "Y" and done["new_primary"] != first
        assert json.loads(mega("group", "show", "clitest", "--json").stdout)["master"] == done["new_primary"]
        mega("sandbox", "start", *where, "--node", "1")
        rejoined = mega("ha", "rejoin", "clitest", first)
        assert "rejoined as a replica" in rejoined.stdout
        nodes = json.loads(mega("sandbox", "status", *where, "--json").stdout)
        assert [n["role"] for n in nodes].count("primary") == 1
        assert all(n["io_running"] and n["sql_running"] for n in nodes if n["role"] == "replica")
        history = mega("ha", "history", "clitest").stdout
        assert "failover" in history and "rejoin" in history and "aborted" in history
        shown = mega("ha", "show", str(done["record_id"])).stdout
        assert "apply relay log" in shown and "promote" in shown
    finally:
        subprocess.run([MEGA, "sandbox", "down", *where], env=env, capture_output=True, timeout=60)
    assert json.loads(mega("group", "show", "clitest", "--json").stdout)["stat"] == 0
    assert json.loads(mega("instance", "list", "--stat", "1", "--json").stdout) == []
