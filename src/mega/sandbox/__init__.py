"""Local MariaDB topologies for tests and demos (see :mod:`mega.sandbox.core`)."""

from mega.sandbox.core import NodeStatus, Sandbox, default_directory, down, load, status, up
from mega.sandbox.process import SandboxError, find_binaries

__all__ = ["Sandbox", "NodeStatus", "SandboxError", "up", "load", "status", "down", "default_directory", "find_binaries"]
