"""Fixtures for live tests: one 3-node MariaDB sandbox per test module.

Import the fixtures into a test module (``from tests.live_fixtures import live_settings, sandbox``).
When the MariaDB binaries are missing the tests are skipped loudly, except under CI (``CI=true``),
where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from mega.sandbox import Sandbox, find_binaries, up
from mega.settings import Settings, load_settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_mariadbd() -> None:
    """Skip (or fail under CI) when ``mariadbd`` / ``mariadb-install-db`` are not installed."""
    if find_binaries() is None:
        message = "live tests need mariadbd and mariadb-install-db (set MEGA_MARIADBD / MEGA_INSTALL_DB)"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: missing binaries are a failure, not a skip)")
        pytest.skip(message)


@pytest.fixture(scope="module")
def live_settings() -> Settings:
    """Settings whose accounts the sandbox creates; passwords differ from the defaults on purpose."""
    return load_settings(
        mysql_user="mega",
        mysql_password=SecretStr("live-Admin-pw'1"),
        repl_user="mega_repl",
        repl_password=SecretStr("live-Repl-pw\\2"),
        connect_timeout=2.0,
        read_timeout=10.0,
    )


@pytest.fixture(scope="module")
def sandbox(live_settings: Settings) -> Iterator[Sandbox]:
    """A running 3-node sandbox (node 1 primary), torn down after the module."""
    require_mariadbd()
    directory = tempfile.mkdtemp(prefix="mega-live-")  # short path: unix socket names are limited
    box = up("live", nodes=3, directory=directory, settings=live_settings, progress=print, timeout=60.0)
    try:
        yield box
    finally:
        box.down()
        shutil.rmtree(directory, ignore_errors=True)
