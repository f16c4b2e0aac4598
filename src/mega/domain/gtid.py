"""GTID positions (MariaDB) and GTID sets (MySQL): parse, format, compare, subtract. Pure code.

MariaDB
    A GTID is ``domain-server-seq``.  A *position* (``@@gtid_binlog_pos``, ``@@gtid_slave_pos``,
    ``@@gtid_current_pos``, ``Gtid_IO_Pos``) holds at most one GTID per domain: the last one.  A
    *state* (``@@gtid_binlog_state``) holds the last GTID per ``(domain, server)`` pair.  Sequence
    numbers grow per domain across servers, so comparing positions compares ``seq`` per domain.

MySQL
    A GTID set is ``uuid:1-5:7-9,uuid2:1-3`` (8.3+ also ``uuid:tag:1-3``): intervals of transaction
    numbers per source uuid (and tag).

>>> p = GtidPosition.parse("0-1-100,1-2-7")
>>> str(p), p.seq(0), p.seq(5)
('0-1-100,1-2-7', 100, 0)
>>> contains(GtidPosition.parse("0-1-100"), GtidPosition.parse("0-2-99"))
True
>>> [str(g) for g in errant(GtidPosition.parse("0-1-101,2-3-4"), GtidPosition.parse("0-1-100"))]
['0-1-101', '2-3-4']
>>> s = GtidSet.parse("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9")
>>> str(s - GtidSet.parse("3e11fa47-71ca-11e1-9e33-c80aa9429562:3-8"))
'3e11fa47-71ca-11e1-9e33-c80aa9429562:1-2:9'
>>> GtidSet.parse("").is_empty
True
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from mega.errors import InvalidArgument

__all__ = [
    "Gtid",
    "GtidPosition",
    "GtidSet",
    "GtidState",
    "behind",
    "contains",
    "errant",
]

_UINT32 = 2**32 - 1
_UINT64 = 2**64 - 1
_GTID_RE = re.compile(r"^\s*(\d{1,10})-(\d{1,10})-(\d{1,20})\s*$")
_TAG_RE = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
_INTERVAL_RE = re.compile(r"^(\d{1,19})(?:-(\d{1,19}))?$")


# --------------------------------------------------------------------------------------------
# MariaDB
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Gtid:
    """One MariaDB GTID ``domain-server-seq``.

    >>> Gtid.parse(" 0-1-42 ")
    Gtid(domain=0, server=1, seq=42)
    """

    domain: int
    server: int
    seq: int

    def __post_init__(self) -> None:
        if not (0 <= self.domain <= _UINT32 and 0 <= self.server <= _UINT32 and 0 <= self.seq <= _UINT64):
            raise InvalidArgument(f"GTID component out of range: {self.domain}-{self.server}-{self.seq}")

    @classmethod
    def parse(cls, text: str) -> Gtid:
        """Parse ``domain-server-seq``.

        :param text: the GTID text, surrounding blanks allowed.
        :returns: the GTID.
        :raises InvalidArgument: when it is not three unsigned integers joined by ``-``.
        """
        match = _GTID_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidArgument(f"not a MariaDB GTID (domain-server-seq): {text!r}")
        return cls(int(match[1]), int(match[2]), int(match[3]))

    def __str__(self) -> str:
        return f"{self.domain}-{self.server}-{self.seq}"


def _parse_gtids(text: str | None) -> list[Gtid]:
    if text is None:
        return []
    if not isinstance(text, str):
        raise InvalidArgument(f"GTID list must be a string, got {type(text).__name__}")
    parts = [part for part in (p.strip() for p in text.split(",")) if part]
    if text.strip() and len(parts) != text.count(",") + 1:
        raise InvalidArgument(f"empty element in GTID list: {text!r}")
    return [Gtid.parse(part) for part in parts]


@dataclass(frozen=True)
class GtidPosition:
    """A MariaDB GTID position: at most one GTID per domain, kept sorted by domain.

    Build it with :meth:`parse` or :meth:`of`; the empty position is ``GtidPosition()``.
    """

    gtids: tuple[Gtid, ...] = ()

    def __post_init__(self) -> None:
        domains = [g.domain for g in self.gtids]
        if len(set(domains)) != len(domains):
            raise InvalidArgument(f"GTID position has more than one GTID for a domain: {self}")
        if domains != sorted(domains):
            object.__setattr__(self, "gtids", tuple(sorted(self.gtids)))

    @classmethod
    def parse(cls, text: str | None) -> GtidPosition:
        """Parse ``d-s-n[,d-s-n...]`` (blanks and newlines allowed; ``''`` and ``None`` are empty).

        :param text: a position as MariaDB prints it.
        :returns: the position.
        :raises InvalidArgument: on a malformed GTID or two GTIDs for the same domain.
        """
        return cls(tuple(_parse_gtids(text)))

    @classmethod
    def of(cls, gtids: Iterable[Gtid]) -> GtidPosition:
        """Build a position from GTIDs (one per domain).

        :raises InvalidArgument: on two GTIDs for the same domain.
        """
        return cls(tuple(gtids))

    def __str__(self) -> str:
        return ",".join(str(g) for g in self.gtids)

    def __iter__(self) -> Iterator[Gtid]:
        return iter(self.gtids)

    def __len__(self) -> int:
        return len(self.gtids)

    @property
    def is_empty(self) -> bool:
        """True when the position holds no GTID."""
        return not self.gtids

    @property
    def domains(self) -> frozenset[int]:
        """The domains the position covers."""
        return frozenset(g.domain for g in self.gtids)

    def get(self, domain: int) -> Gtid | None:
        """The GTID for ``domain``, or None."""
        for gtid in self.gtids:
            if gtid.domain == domain:
                return gtid
        return None

    def seq(self, domain: int) -> int:
        """The sequence number reached in ``domain`` (0 when the domain is absent)."""
        gtid = self.get(domain)
        return gtid.seq if gtid is not None else 0

    def merge(self, other: GtidPosition) -> GtidPosition:
        """Per domain, the GTID with the higher ``seq`` (``self`` wins ties), like gtid_current_pos.

        >>> str(GtidPosition.parse("0-1-5,1-1-9").merge(GtidPosition.parse("0-2-7,2-2-1")))
        '0-2-7,1-1-9,2-2-1'
        """
        best: dict[int, Gtid] = {g.domain: g for g in self.gtids}
        for gtid in other.gtids:
            mine = best.get(gtid.domain)
            if mine is None or gtid.seq > mine.seq:
                best[gtid.domain] = gtid
        return GtidPosition.of(best.values())


@dataclass(frozen=True)
class GtidState:
    """A MariaDB ``@@gtid_binlog_state``: the last GTID per ``(domain, server)`` pair.

    >>> st = GtidState.parse("0-1-10,0-2-12")
    >>> st.seq(0, 1), st.seq(0, 3), str(st.position())
    (10, None, '0-2-12')
    """

    gtids: tuple[Gtid, ...] = ()

    def __post_init__(self) -> None:
        keys = [(g.domain, g.server) for g in self.gtids]
        if len(set(keys)) != len(keys):
            raise InvalidArgument(f"GTID state has more than one GTID for a domain-server pair: {self}")
        if keys != sorted(keys):
            object.__setattr__(self, "gtids", tuple(sorted(self.gtids)))

    @classmethod
    def parse(cls, text: str | None) -> GtidState:
        """Parse a binlog state (one GTID per domain-server pair).

        :raises InvalidArgument: on a malformed GTID or a duplicate pair.
        """
        return cls(tuple(_parse_gtids(text)))

    def __str__(self) -> str:
        return ",".join(str(g) for g in self.gtids)

    def seq(self, domain: int, server: int) -> int | None:
        """The last ``seq`` written by ``server`` in ``domain``, or None when it never wrote there."""
        for gtid in self.gtids:
            if (gtid.domain, gtid.server) == (domain, server):
                return gtid.seq
        return None

    def position(self) -> GtidPosition:
        """The position this state implies: per domain, the GTID with the highest ``seq``."""
        best: dict[int, Gtid] = {}
        for gtid in self.gtids:
            if gtid.domain not in best or gtid.seq > best[gtid.domain].seq:
                best[gtid.domain] = gtid
        return GtidPosition.of(best.values())


def contains(a: GtidPosition, b: GtidPosition) -> bool:
    """True when position ``a`` has everything ``b`` has: per domain of ``b``, ``a`` reaches its seq.

    Same ``seq`` with a different server means two different transactions, so it is *not*
    contained.  A higher ``seq`` from another server counts as containing (MariaDB numbers a domain
    across servers; this is what ``MASTER_GTID_WAIT`` checks too).

    :param a: the position that should be ahead (e.g. a candidate's gtid_binlog_pos).
    :param b: the position it must cover (e.g. a replica's gtid_current_pos).
    :returns: whether every domain of ``b`` is covered by ``a``.

    >>> contains(GtidPosition.parse("0-1-5,1-1-1"), GtidPosition.parse("0-1-5"))
    True
    >>> contains(GtidPosition.parse("0-1-5"), GtidPosition.parse("0-2-5"))
    False
    >>> contains(GtidPosition.parse("0-1-5"), GtidPosition.parse("1-1-1"))
    False
    """
    for theirs in b.gtids:
        mine = a.get(theirs.domain)
        if mine is None or mine.seq < theirs.seq:
            return False
        if mine.seq == theirs.seq and mine.server != theirs.server:
            return False
    return True


def errant(
    replica: GtidPosition, primary: GtidPosition, *, primary_state: GtidState | None = None
) -> tuple[Gtid, ...]:
    """The replica's GTIDs that the primary does not have (errant transactions).

    A replica GTID ``d-s-n`` is errant when the primary has no domain ``d``, when ``n`` is beyond
    the primary's seq in ``d``, or when ``n`` equals it but ``s`` differs (two transactions with one
    number).  With ``primary_state`` (the primary's ``@@gtid_binlog_state``) it is also errant when
    the primary never saw server ``s`` write in ``d`` up to ``n`` (the replica was written to
    directly, even though the primary has since moved past ``n``).

    :param replica: the replica's position (use gtid_current_pos so local writes count).
    :param primary: the primary's gtid_binlog_pos (or gtid_current_pos).
    :param primary_state: the primary's gtid_binlog_state, for the stronger per-server check.
    :returns: the errant GTIDs, empty when the replica can follow the primary.

    >>> errant(GtidPosition.parse("0-1-9"), GtidPosition.parse("0-2-12"))
    ()
    >>> [str(g) for g in errant(GtidPosition.parse("0-3-9"), GtidPosition.parse("0-2-12"),
    ...                          primary_state=GtidState.parse("0-1-8,0-2-12"))]
    ['0-3-9']
    """
    found: list[Gtid] = []
    for gtid in replica.gtids:
        mine = primary.get(gtid.domain)
        if mine is None or gtid.seq > mine.seq or (gtid.seq == mine.seq and gtid.server != mine.server):
            found.append(gtid)
            continue
        if primary_state is not None:
            seen = primary_state.seq(gtid.domain, gtid.server)
            if seen is None or seen < gtid.seq:
                found.append(gtid)
    return tuple(found)


def behind(replica: GtidPosition, primary: GtidPosition) -> dict[int, int]:
    """Per primary domain, how many sequence numbers the replica lacks (only domains > 0 listed).

    :param replica: the replica's position.
    :param primary: the primary's position.
    :returns: ``{domain: primary_seq - replica_seq}`` for the domains where the replica is behind.

    >>> behind(GtidPosition.parse("0-1-7"), GtidPosition.parse("0-1-10,1-1-2"))
    {0: 3, 1: 2}
    """
    out: dict[int, int] = {}
    for gtid in primary.gtids:
        gap = gtid.seq - replica.seq(gtid.domain)
        if gap > 0:
            out[gtid.domain] = gap
    return out


# --------------------------------------------------------------------------------------------
# MySQL
# --------------------------------------------------------------------------------------------

Interval = tuple[int, int]
"""A closed interval ``(start, end)`` of transaction numbers, ``1 <= start <= end``."""

SourceKey = tuple[str, str]
"""``(uuid, tag)``; the tag is ``''`` for untagged GTIDs."""


def _normalise(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for start, end in sorted(intervals):
        if start > end:
            continue
        if out and start <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)


def _subtract_intervals(a: tuple[Interval, ...], b: tuple[Interval, ...]) -> tuple[Interval, ...]:
    out: list[Interval] = []
    j = 0
    for start, end in a:
        cur = start
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= end and cur <= end:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            k += 1
        if cur <= end:
            out.append((cur, end))
    return tuple(out)


def _canonical_uuid(text: str) -> str:
    try:
        return str(uuid_module.UUID(text.strip()))
    except ValueError:
        raise InvalidArgument(f"not a server uuid in GTID set: {text!r}") from None


@dataclass(frozen=True)
class GtidSet:
    """A MySQL GTID set: per ``(uuid, tag)``, sorted, merged, non-empty intervals.

    Equal sets compare equal whatever their spelling (case, order, adjacent intervals).
    """

    sources: tuple[tuple[SourceKey, tuple[Interval, ...]], ...] = ()

    @classmethod
    def of(cls, mapping: Mapping[SourceKey, Iterable[Interval]]) -> GtidSet:
        """Build a normalised set from ``{(uuid, tag): intervals}``.

        :raises InvalidArgument: on a bad uuid, tag or interval.
        """
        merged: dict[SourceKey, list[Interval]] = {}
        for (raw_uuid, tag), intervals in mapping.items():
            key = (_canonical_uuid(raw_uuid), tag.lower())
            if key[1] and not _TAG_RE.match(key[1]):
                raise InvalidArgument(f"not a GTID tag: {tag!r}")
            for start, end in intervals:
                if not (1 <= start <= end <= 2**63 - 1):
                    raise InvalidArgument(f"bad GTID interval {start}-{end}")
                merged.setdefault(key, []).append((start, end))
        items = ((key, _normalise(iv)) for key, iv in sorted(merged.items()))
        return cls(tuple((key, iv) for key, iv in items if iv))

    @classmethod
    def parse(cls, text: str | None) -> GtidSet:
        """Parse MySQL's text form (``uuid:1-5:7,uuid2[:tag]:3``; blanks/newlines allowed).

        :param text: ``@@gtid_executed``, ``Retrieved_Gtid_Set``, ...; ``''``/None are empty.
        :returns: the normalised set.
        :raises InvalidArgument: on anything malformed.
        """
        if text is None or not text.strip():
            return cls()
        mapping: dict[SourceKey, list[Interval]] = {}
        for element in text.split(","):
            parts = [p.strip() for p in element.strip().split(":")]
            if len(parts) < 2:
                raise InvalidArgument(f"GTID set element needs 'uuid:interval': {element.strip()!r}")
            uuid_text, tag = _canonical_uuid(parts[0]), ""
            for part in parts[1:]:
                match = _INTERVAL_RE.match(part)
                if match is None:
                    if not _TAG_RE.match(part.lower()):
                        raise InvalidArgument(f"bad GTID interval or tag {part!r} in {element.strip()!r}")
                    tag = part.lower()
                    continue
                start = int(match[1])
                end = int(match[2]) if match[2] is not None else start
                mapping.setdefault((uuid_text, tag), []).append((start, end))
        return cls.of(mapping)

    def __str__(self) -> str:
        by_uuid: dict[str, list[str]] = {}
        for (uuid_text, tag), intervals in self.sources:
            parts = by_uuid.setdefault(uuid_text, [uuid_text])
            if tag:
                parts.append(tag)
            parts.extend(f"{s}-{e}" if e != s else str(s) for s, e in intervals)
        return ",".join(":".join(parts) for parts in by_uuid.values())

    def _as_dict(self) -> dict[SourceKey, tuple[Interval, ...]]:
        return dict(self.sources)

    @property
    def is_empty(self) -> bool:
        """True when the set holds no GTID."""
        return not self.sources

    def __len__(self) -> int:
        return sum(e - s + 1 for _, iv in self.sources for s, e in iv)

    def union(self, other: GtidSet) -> GtidSet:
        """Every GTID in either set (``a | b``)."""
        merged: dict[SourceKey, list[Interval]] = {k: list(v) for k, v in self.sources}
        for key, intervals in other.sources:
            merged.setdefault(key, []).extend(intervals)
        return GtidSet.of(merged)

    __or__ = union

    def subtract(self, other: GtidSet) -> GtidSet:
        """The GTIDs in ``self`` that are not in ``other`` (``a - b``, like ``GTID_SUBTRACT(a, b)``).

        Errant transactions on a replica are ``replica_executed - primary_executed``.
        """
        theirs = other._as_dict()
        out: dict[SourceKey, Iterable[Interval]] = {}
        for key, intervals in self.sources:
            out[key] = _subtract_intervals(intervals, theirs.get(key, ()))
        return GtidSet.of(out)

    __sub__ = subtract

    def intersection(self, other: GtidSet) -> GtidSet:
        """The GTIDs in both sets (``a & b``)."""
        return self - (self - other)

    __and__ = intersection

    def contains(self, other: GtidSet) -> bool:
        """True when every GTID of ``other`` is in ``self`` (like ``GTID_SUBSET(other, self)``)."""
        return (other - self).is_empty

    def __contains__(self, item: object) -> bool:
        if isinstance(item, GtidSet):
            return self.contains(item)
        if isinstance(item, str):
            return self.contains(GtidSet.parse(item))
        return False
