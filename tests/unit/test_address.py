"""Address validation and canonical forms."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mega.domain.address import Endpoint, canonical_host, canonical_port, parse_endpoint
from mega.errors import InvalidArgument


@pytest.mark.parametrize("text,expected", [
    ("10.0.0.1", "10.0.0.1"), (" 10.0.0.1\t", "10.0.0.1"), ("DB-01.Example.com.", "db-01.example.com"),
    ("localhost", "localhost"), ("2001:DB8::0:1", "2001:db8::1"), ("[::1]", "::1"), ("a1", "a1"),
])
def test_canonical_host(text: str, expected: str) -> None:
    assert canonical_host(text) == expected


@pytest.mark.parametrize("text", ["", " ", "1.2.3", "10.0.0.256", "1.2.3.4.5", "01.2.3.4", "a b", "-a.com",
                                  "a-.com", "a..b", "x" * 64 + ".com", "under_score.com", "fe80::zz", "[::1",
                                  "host.123", "é.com", "1.2.3.4/24"])
def test_bad_hosts(text: str) -> None:
    with pytest.raises(InvalidArgument):
        canonical_host(text)


@pytest.mark.parametrize("value", [None, 3306, b"10.0.0.1", ["10.0.0.1"], 1.5])
def test_host_must_be_text(value: object) -> None:
    with pytest.raises(InvalidArgument):
        canonical_host(value)


@pytest.mark.parametrize("value,expected", [(1, 1), (65535, 65535), ("3306", 3306), (" 23 ", 23)])
def test_ports(value: object, expected: int) -> None:
    assert canonical_port(value) == expected


@pytest.mark.parametrize("value", [0, 65536, 70000, -1, True, False, "3306a", "", None, 3306.0, "1e3"])
def test_bad_ports(value: object) -> None:
    with pytest.raises(InvalidArgument):
        canonical_port(value)


@pytest.mark.parametrize("text,expected", [
    ("1.1.1.112:23", Endpoint("1.1.1.112", 23)), ("[2001:db8::1]:3306", Endpoint("2001:db8::1", 3306)),
    ("Host.Example:3307", Endpoint("host.example", 3307)),
])
def test_parse_endpoint(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["1.1.1.1", "1.1.1.1:", ":3306", "2001:db8::1:3306", "[::1]3306", "a:b:c",
                                  "1.1.1.1:0", "1.1.1.1:99999"])
def test_bad_endpoints(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_endpoint(text)


def test_default_port() -> None:
    assert parse_endpoint("10.0.0.1", default_port=3306) == Endpoint("10.0.0.1", 3306)


@given(st.ip_addresses(), st.integers(1, 65535))
def test_any_ip_round_trips(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> None:
    ep = Endpoint(canonical_host(str(ip)), port)
    assert parse_endpoint(str(ep)) == ep
    assert canonical_host(ep.host) == ep.host  # canonical is a fixed point


@given(st.text(max_size=40))
def test_anything_is_either_canonical_or_refused(text: str) -> None:
    try:
        host = canonical_host(text)
    except InvalidArgument:
        return
    assert canonical_host(host) == host
    assert host == host.strip().lower()
