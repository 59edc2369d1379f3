"""The record keys a run has already taken, in memory that does not grow with the run.

A run skips a record whose key it has already seen. A Python set of every key costs
about 140 bytes a key (140 MB for a million records). `SeenKeys` keeps a 16-byte digest
of each key instead: the digests of the latest 65,536 keys stay in an ordinary dict
(not the keys: a set of key strings, emptied and filled again, left the process 8 MB
larger at a million records than at 100,000); older ones go into sorted runs in a
private temporary file, with a Bloom filter
(2 MB per million keys) in front. A key the filter has never seen is new without
reading anything; only a possible repeat (a real one, or about one new key in 400 by
chance) is looked up in each run whose own filter may hold it (one block read).
Answers are exact (as far as 128-bit digests never collide): the filters only decide
when to look, never the answer.

Each digest is kept with where its key was first seen (`first`): the source (a number
standing for its name), the index and the line, 20 bytes, so that a repeat can name the
record it repeats ("duplicate of leads.csv:17").
"""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
import tempfile
from typing import IO

from calsink.records import Position

_DIGEST = 16
_WHERE = struct.Struct("<Iqq")  # source number, index, line (-1: none)
_ENTRY = _DIGEST + _WHERE.size
_pack = _WHERE.pack
_WORDS = struct.Struct("<4I")
_FILTER_BITS = 1 << 24  # 2 MB for the first million keys, doubling for each filter after
_FILTER_KEYS = 1_000_000
_RECENT = 65_536  # digests kept in memory before they go to the file as one sorted run
_RUN_FILTER_BITS = 1 << 20  # 16 bits a digest for a run's own filter
_BLOCK = 128  # digests per block read from a run; the first of each block stays in memory


class _Bloom:
    """Four bit positions per digest, taken from its four 32-bit words."""

    __slots__ = ("_bits", "_mask", "capacity", "count")

    def __init__(self, bits: int, capacity: int) -> None:
        self._bits = bytearray(bits // 8)
        self._mask = bits - 1
        self.capacity = capacity
        self.count = 0

    def might_hold(self, digest: bytes) -> bool:
        bits, mask = self._bits, self._mask
        a, b, c, d = _WORDS.unpack(digest)
        a &= mask
        b &= mask
        c &= mask
        d &= mask
        return bool(
            bits[a >> 3] & (1 << (a & 7))
            and bits[b >> 3] & (1 << (b & 7))
            and bits[c >> 3] & (1 << (c & 7))
            and bits[d >> 3] & (1 << (d & 7))
        )

    def add(self, digest: bytes) -> None:
        bits, mask = self._bits, self._mask
        a, b, c, d = _WORDS.unpack(digest)
        a &= mask
        b &= mask
        c &= mask
        d &= mask
        bits[a >> 3] |= 1 << (a & 7)
        bits[b >> 3] |= 1 << (b & 7)
        bits[c >> 3] |= 1 << (c & 7)
        bits[d >> 3] |= 1 << (d & 7)
        self.count += 1


class _Run:
    """One sorted run of digests in the file: its own filter and every block's first digest."""

    __slots__ = ("count", "filter", "firsts", "offset")

    def __init__(self, offset: int, digests: list[bytes]) -> None:
        self.offset = offset
        self.count = len(digests)
        self.filter = _Bloom(_RUN_FILTER_BITS, len(digests))
        for digest in digests:
            self.filter.add(digest)
        self.firsts = digests[::_BLOCK]

    def find(self, fd: int, digest: bytes) -> bytes | None:
        """Where the digest's key was first seen, if this run holds it."""
        if not self.filter.might_hold(digest):
            return None
        block = bisect.bisect_right(self.firsts, digest) - 1
        if block < 0:
            return None
        start = block * _BLOCK
        size = min(_BLOCK, self.count - start) * _ENTRY
        data = os.pread(fd, size, self.offset + start * _ENTRY)
        at = data.find(digest)
        while at >= 0 and at % _ENTRY:
            at = data.find(digest, at + 1)
        return None if at < 0 else data[at + _DIGEST : at + _ENTRY]


_NOWHERE = Position("", 0)


class SeenKeys:
    """``first(key, position)`` is None the first time a key is given, and the position
    it came with then every time after; ``add(key)`` is True the first time."""

    def __init__(self) -> None:
        self._filters = [_Bloom(_FILTER_BITS, _FILTER_KEYS)]
        self._recent: dict[bytes, bytes] = {}
        self._runs: list[_Run] = []
        self._file: IO[bytes] | None = None
        self._end = 0
        self._sources: dict[str, int] = {}
        self._names: list[str] = []
        self._last_source: str | None = None
        self._last_number = 0

    def add(self, key: str) -> bool:
        return self.first(key, _NOWHERE) is None

    def first(self, key: str, position: Position) -> Position | None:
        digest = _digest(key)
        where = self._recent.get(digest)
        if where is None and self._runs and any(b.might_hold(digest) for b in self._filters):
            where = self._in_runs(digest)
        if where is not None:
            return self._position(where)
        self._recent[digest] = self._where(position)
        if len(self._recent) >= _RECENT:
            self._spill()
        return None

    def _where(self, position: Position) -> bytes:
        source = position.source
        if source is not self._last_source:  # most runs read one source
            number = self._sources.get(source)
            if number is None:
                number = self._sources[source] = len(self._names)
                self._names.append(source)
            self._last_source, self._last_number = source, number
        line = position.line
        return _pack(self._last_number, position.index, -1 if line is None else line)

    def _position(self, where: bytes) -> Position:
        number, index, line = _WHERE.unpack(where)
        return Position(self._names[number], index, None if line < 0 else line)

    def _in_runs(self, digest: bytes) -> bytes | None:
        assert self._file is not None
        fd = self._file.fileno()
        for run in self._runs:
            where = run.find(fd, digest)
            if where is not None:
                return where
        return None

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="calsink-seen-")  # noqa: SIM115
        entries = sorted(self._recent.items())
        self._recent.clear()
        digests = [digest for digest, _ in entries]
        for digest in digests:
            current = self._filters[-1]
            if current.count >= current.capacity:
                grown = len(self._filters)
                current = _Bloom(_FILTER_BITS << grown, _FILTER_KEYS << grown)
                self._filters.append(current)
            current.add(digest)
        data = b"".join(digest + where for digest, where in entries)
        os.pwrite(self._file.fileno(), data, self._end)
        self._runs.append(_Run(self._end, digests))
        self._end += len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()
