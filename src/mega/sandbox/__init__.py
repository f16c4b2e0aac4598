"""Local MariaDB topologies for tests and demos (see :mod:`mega.sandbox.core`)."""

from mega.sandbox.core import NodeStatus, Sandbox, default_directory, down, load, status, up
from mega.sandbox.process import SandboxError, find_binaries

__all__ = [
    "NodeStatus",
    "Sandbox",
    "SandboxError",
    "default_directory",
    "down",
    "find_binaries",
    "load",
    "status",
    "up",
]
