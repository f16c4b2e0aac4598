"""Hooks: executables run around an HA operation, for VIPs, proxies and alerting.

Layout under ``settings.hooks_dir``: ``<stage>`` (global) and ``<group>/<stage>`` (one group), or
directories ``<stage>.d/`` with several executables run in name order.  Stages: ``pre`` (a non-zero
exit vetoes the operation), ``post-success`` and ``post-failure``.  Context goes in ``MEGA_*``
environment variables; each hook has a timeout and its output is recorded, never interpreted.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HookResult:
    path: str
    ok: bool
    returncode: int | None
    output: str
    elapsed: float


def find_hooks(hooks_dir: str | None, group: str, stage: str) -> list[Path]:
    """The executables for ``stage``: global ones first, then the group's."""
    if not hooks_dir:
        return []
    base = Path(hooks_dir)
    found: list[Path] = []
    for folder in (base, base / group):
        single, many = folder / stage, folder / f"{stage}.d"
        if single.is_file() and os.access(single, os.X_OK):
            found.append(single)
        if many.is_dir():
            found.extend(p for p in sorted(many.iterdir()) if p.is_file() and os.access(p, os.X_OK))
    return found


def run_hook(path: Path, env: dict[str, str], timeout: float) -> HookResult:
    """Run one hook with ``env`` added to a minimal environment; never through a shell."""
    import time

    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env}
    started = time.monotonic()
    try:
        proc = subprocess.run([str(path)], env=full_env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        return HookResult(str(path), False, None, f"timed out after {timeout:g}s: {_text(out)}",
                          time.monotonic() - started)
    except OSError as exc:
        return HookResult(str(path), False, None, f"could not run: {exc}", time.monotonic() - started)
    return HookResult(str(path), proc.returncode == 0, proc.returncode, _text(proc.stdout + proc.stderr),
                      time.monotonic() - started)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").strip()[-2000:]
