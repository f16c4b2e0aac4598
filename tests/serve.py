"""Run a real ``mega serve`` subprocess for tests: own SQLite store, free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MegaServe:
    """``with MegaServe(tmp_path) as m:`` starts ``mega serve``; ``m.env`` points clients at it."""

    def __init__(self, directory: Path, token: str | None = None, db_url: str | None = None) -> None:
        self.port = free_port()
        self.db_url = db_url or f"sqlite:///{directory / 'mega.db'}"
        self.log = directory / "serve.log"
        self.env = {**os.environ, "MEGA_DB_URL": self.db_url, "MEGA_RPC_ADDR": f"127.0.0.1:{self.port}",
                    "MEGA_PORT": str(self.port), "MEGA_HOST": "127.0.0.1"}
        if token:
            self.env["MEGA_TOKEN"] = token
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MegaServe:
        mega = Path(sys.executable).with_name("mega")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(mega), "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mega serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"mega serve did not listen within 30 s:\n{self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
