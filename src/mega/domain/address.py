"""Addresses: hosts (IPv4, IPv6, host names) and ``host:port`` endpoints, validated and canonical.

Canonical forms: IPv4 dotted quad, IPv6 compressed lower case (bracketed when a port follows),
host names lower case without a trailing dot.

>>> canonical_host(" 10.0.0.1 ")
'10.0.0.1'
>>> canonical_host("FE80:0:0:0:0:0:0:1")
'fe80::1'
>>> parse_endpoint("[::1]:3307")
Endpoint(host='::1', port=3307)
>>> str(Endpoint("::1", 3307))
'[::1]:3307'
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, NamedTuple

from mega.errors import InvalidArgument

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_ISH = re.compile(r"^[0-9.]+$")
MAX_HOST_LEN = 253


class Endpoint(NamedTuple):
    """A canonical ``host:port``."""

    host: str
    port: int

    def __str__(self) -> str:
        return format_endpoint(self.host, self.port)


def canonical_host(value: Any) -> str:
    """Validate a host and return its canonical form.

    :param value: an IPv4 or IPv6 address or a host name.
    :returns: the canonical spelling.
    :raises InvalidArgument: for anything else (``1.2.3``, ``10.0.0.256``, ``a b``, non-strings).
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"host must be a string, got {type(value).__name__}")
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        raise InvalidArgument("host is empty")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text).compressed
        except ValueError:
            raise InvalidArgument(f"not a valid IPv6 address: {value!r}") from None
    if _NUMERIC_ISH.match(text):
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise InvalidArgument(f"not a valid IPv4 address: {value!r}") from None
    name = text.lower().rstrip(".")
    labels = name.split(".")
    if len(name) > MAX_HOST_LEN or not all(_LABEL.match(label) for label in labels):
        raise InvalidArgument(f"not a valid host name or IP address: {value!r}")
    if labels[-1].isdigit():
        raise InvalidArgument(f"not a valid host name or IP address: {value!r}")
    return name


def canonical_port(value: Any) -> int:
    """Validate a TCP port (an int, or a string of digits) and return it as an int.

    :raises InvalidArgument: when it is not an integer in 1-65535.
    """
    if isinstance(value, bool):
        raise InvalidArgument("port must be an integer, got a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise InvalidArgument(f"port must be an integer, got {type(value).__name__}")
    if not 1 <= value <= 65535:
        raise InvalidArgument(f"port must be between 1 and 65535, got {value}")
    return value


def format_endpoint(host: str, port: int) -> str:
    """``host:port``, with IPv6 hosts bracketed."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_endpoint(value: Any, default_port: int | None = None) -> Endpoint:
    """Parse ``host:port`` (IPv6 as ``[addr]:port``) into a canonical :class:`Endpoint`.

    :param default_port: used when the text carries no port; without it a port is required.
    :raises InvalidArgument: on anything malformed.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"address must be a 'host:port' string, got {type(value).__name__}")
    text = value.strip()
    host: str
    port: Any
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise InvalidArgument(f"unbalanced '[' in address {value!r}")
        host, rest = text[1:close], text[close + 1 :]
        if rest.startswith(":"):
            port = rest[1:]
        elif rest == "" and default_port is not None:
            port = default_port
        else:
            raise InvalidArgument(f"expected '[ipv6]:port', got {value!r}")
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.count(":") == 0 and default_port is not None:
        host, port = text, default_port
    else:
        raise InvalidArgument(f"expected 'host:port' (IPv6 as '[addr]:port'), got {value!r}")
    return Endpoint(canonical_host(host), canonical_port(port))
