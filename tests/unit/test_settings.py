"""Settings: defaults, TOML file, environment, validation; secrets never print."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mega.settings import load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("MEGA_DB_URL", "MEGA_RPC_ADDR", "MEGA_TOKEN", "MEGA_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.db_url == f"sqlite:///{tmp_path / 'mega.db'}"
    assert s.rpc_addr == "127.0.0.1:1104" and s.token is None


def test_env_beats_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "mega.toml"
    cfg.write_text('rpc_addr = "127.0.0.1:2104"\ntoken = "from-file"\ndb_url = "sqlite:///x.db"\n')
    monkeypatch.setenv("MEGA_RPC_ADDR", "127.0.0.1:3104")
    s = load_settings(cfg)
    assert s.rpc_addr == "127.0.0.1:3104"
    assert s.token is not None and s.token.get_secret_value() == "from-file"
    assert "from-file" not in repr(s) and "from-file" not in str(s)


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEGA_RPC_ADDR", "nowhere")
    with pytest.raises(ValidationError, match="rpc_addr"):
        load_settings()
    monkeypatch.delenv("MEGA_RPC_ADDR")
    cfg = tmp_path / "bad.toml"
    cfg.write_text('no_such_setting = 1\n')
    with pytest.raises(ValidationError, match="no_such_setting"):
        load_settings(cfg)
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.toml")
