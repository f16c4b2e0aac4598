"""Hooks: found globally and per group, run without a shell, with the context and a timeout."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mega.ha.hooks import find_hooks, run_hook


def hook(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_global_then_group_then_directories(tmp_path: Path) -> None:
    first = hook(tmp_path / "pre", "true")
    mine = hook(tmp_path / "g1" / "pre", "true")
    b = hook(tmp_path / "g1" / "pre.d" / "20-b", "true")
    a = hook(tmp_path / "g1" / "pre.d" / "10-a", "true")
    (tmp_path / "g1" / "pre.d" / "README").write_text("not executable")
    hook(tmp_path / "g2" / "pre", "true")
    assert find_hooks(str(tmp_path), "g1", "pre") == [first, mine, a, b]
    assert find_hooks(str(tmp_path), "g1", "post-success") == []
    assert find_hooks(None, "g1", "pre") == []


def test_context_in_the_environment_and_output_kept(tmp_path: Path) -> None:
    result = run_hook(hook(tmp_path / "pre", 'echo "$MEGA_GROUP $MEGA_NEW_PRIMARY"; echo oops >&2; exit 3'),
                      {"MEGA_GROUP": "g1", "MEGA_NEW_PRIMARY": "10.0.0.2:3306"}, timeout=10)
    assert (result.ok, result.returncode) == (False, 3)
    assert "g1 10.0.0.2:3306" in result.output and "oops" in result.output


def test_the_caller_environment_does_not_leak(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MEGA_MYSQL_PASSWORD", "secret")
    result = run_hook(hook(tmp_path / "pre", 'echo "[$MEGA_MYSQL_PASSWORD]"'), {}, timeout=10)
    assert result.ok and "[]" in result.output


def test_a_hung_hook_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_hook(hook(tmp_path / "pre", "echo started; exec sleep 30"), {}, timeout=0.5)
    assert time.monotonic() - started < 5
    assert not result.ok and result.returncode is None and "timed out" in result.output


def test_arguments_are_never_shell_text(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = run_hook(hook(tmp_path / "pre", 'echo "$MEGA_GROUP"'), {"MEGA_GROUP": f"$(touch {marker})"}, timeout=10)
    assert result.ok and not marker.exists()
    assert os.access(tmp_path / "pre", os.X_OK)
