"""Where the legacy client finds the Mega server, read from the environment at import time.

This is the old client's contract (``from mega_client.setting import MEGA_HOST``), so unchanged
scripts can be pointed at any server with environment variables:

* ``MEGA_HOST``: server address, default ``127.0.0.1``;
* ``MEGA_PORT``: server port, default ``1104``;
* ``MEGA_TOKEN``: shared secret sent as ``TOKEN`` with every request, when set.
"""

from __future__ import annotations

import os


def _port(text: str | None) -> int:
    if not text:
        return 1104
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"MEGA_PORT must be a port number, got {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"MEGA_PORT must be between 1 and 65535, got {port}")
    return port


MEGA_HOST: str = os.environ.get("MEGA_HOST") or "127.0.0.1"
MEGA_PORT: int = _port(os.environ.get("MEGA_PORT"))
MEGA_TOKEN: str | None = os.environ.get("MEGA_TOKEN") or None
