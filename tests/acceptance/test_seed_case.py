"""The specification's test case, unchanged but for Python 3 syntax, against a live ``mega serve``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mega_client.sender import MegaClient
from tests.serve import MegaServe

SCRIPT = Path(__file__).with_name("console_failover.py")


def rpc(m: MegaServe, func: str, args: str = "") -> object:
    client = MegaClient(host="127.0.0.1", port=m.port, cmd=func)
    try:
        return client.run(func_args=args or None)
    finally:
        client.close()


def test_seed_script_runs_unchanged(tmp_path: Path) -> None:
    with MegaServe(tmp_path) as m:
        # What the test case names: the old master 1.1.1.111:3306 and group 'jjjj'. 1.1.1.112:23 stays
        # unknown, so update_ha_info must answer False.  31 earlier records make the new one 32,
        # as in the recorded run of 2014.
        assert rpc(m, "add_instance", "'1.1.1.111',3306") == 0
        assert rpc(m, "add_ha_group", "'jjjj','1.1.1.111:3306'") == 0
        for _ in range(31):
            assert isinstance(rpc(m, "add_failover_record", "None,'ONLINE','a','b','jjjj'"), int)
        out = subprocess.run([sys.executable, str(SCRIPT)], env=m.env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        # Each line reads "test <function> <args>: <result>".
        lines = {line.split()[1]: line.rsplit(": ", 1)[1] for line in out.stdout.splitlines()}
        assert lines == {"update_ha_info": "False", "add_failover_record": "32",
                         "stat_failover_record": "True", "add_failover_record_detail": "True"}, out.stdout
        record = rpc(m, "get_failover_record", "32")
        assert record[1] == 0 and record[0]["result"] == "Y" and record[0]["group_name"] == "jjjj"
        detail = rpc(m, "get_failover_record", "31")[0]["details"][0]
        assert (detail["module"], detail["time_used"], detail["content"]) == ("mega", 10.0, "test the api")


def test_update_ha_info_over_rpc_moves_roles_and_group(tmp_path: Path) -> None:
    with MegaServe(tmp_path) as m:
        assert rpc(m, "add_instance", "'1.1.1.111',3306") == 0
        assert rpc(m, "add_instance", "'1.1.1.112',23,instance_role=2,instance_master='1.1.1.111:3306'") == 0
        assert rpc(m, "add_instance", "'1.1.1.113',3306,instance_role=2,instance_master='1.1.1.111:3306'") == 0
        assert rpc(m, "add_ha_group", "'jjjj','1.1.1.111:3306',group_members=['1.1.1.112:23','1.1.1.113:3306']") == 0
        assert rpc(m, "update_ha_info", "'1.1.1.112:23','1.1.1.111:3306'") is True
        rows, code = rpc(m, "get_all_instance", "model='test'")
        assert code == 0
        assert {f"{r['ip']}:{r['port']}": (r["role"], r["master"]) for r in rows} == {
            "1.1.1.111:3306": (2, "1.1.1.112:23"), "1.1.1.112:23": (1, None), "1.1.1.113:3306": (2, "1.1.1.112:23")}
        assert rpc(m, "get_ha_group", "'jjjj'")[0]["master"] == "1.1.1.112:23"
        # Stopping and starting the service keeps it all: it was committed, not cached.
    with MegaServe(tmp_path) as m2:
        assert rpc(m2, "get_ha_group", "'jjjj'")[0]["master"] == "1.1.1.112:23"


def test_twenty_concurrent_rpc_adds_one_wins(tmp_path: Path) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with MegaServe(tmp_path) as m:
        barrier = threading.Barrier(20)

        def add(_: int) -> object:
            client = MegaClient(host="127.0.0.1", port=m.port, cmd="add_server")
            barrier.wait()
            try:
                return client.run(func_args="'10.20.30.40',server_name='race'")
            finally:
                client.close()

        with ThreadPoolExecutor(20) as pool:
            codes = sorted(pool.map(add, range(20)))
        assert codes == [0] + [3] * 19
        rows, code = rpc(m, "get_all_server")
        assert code == 0 and [r["ip"] for r in rows] == ["10.20.30.40"]


def test_token_protects_the_service(tmp_path: Path) -> None:
    import pytest

    from mega_client.sender import MegaRemoteError

    with MegaServe(tmp_path, token="s3cret") as m:
        with pytest.raises(MegaRemoteError, match="bad or missing token"):
            MegaClient(host="127.0.0.1", port=m.port, cmd="add_server", token="wrong").run("'10.0.0.1'")
        assert MegaClient(host="127.0.0.1", port=m.port, cmd="add_server", token="s3cret").run("'10.0.0.1'") == 0
        assert "s3cret" not in m.log.read_text()
