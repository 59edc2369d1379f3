"""The record keys a run has already taken, in memory that does not grow with the run.

A run skips a record whose key it has already seen. A Python set of every key costs
about 140 bytes a key (140 MB for a million records). `SeenKeys` keeps a 16-byte digest
of each key instead: the digests of the latest 65,536 keys stay in an ordinary set
(not the keys: a set of key strings, emptied and filled again, left the process 8 MB
larger at a million records than at 100,000); older ones go into sorted runs in a
private temporary file, with a Bloom filter
(2 MB per million keys) in front. A key the filter has never seen is new without
reading anything; only a possible repeat (a real one, or about one new key in 400 by
chance) is looked up in each run whose own filter may hold it (one block read).
Answers are exact (as far as 128-bit digests never collide): the filters only decide
when to look, never the answer.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
import tempfile
from typing import IO

_DIGEST = 16
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

    def holds(self, fd: int, digest: bytes) -> bool:
        if not self.filter.might_hold(digest):
            return False
        block = bisect.bisect_right(self.firsts, digest) - 1
        if block < 0:
            return False
        start = block * _BLOCK
        size = min(_BLOCK, self.count - start) * _DIGEST
        data = os.pread(fd, size, self.offset + start * _DIGEST)
        at = data.find(digest)
        while at >= 0 and at % _DIGEST:
            at = data.find(digest, at + 1)
        return at >= 0


class SeenKeys:
    """``add(key)`` is True the first time a key is added and False every time after."""

    def __init__(self) -> None:
        self._filters = [_Bloom(_FILTER_BITS, _FILTER_KEYS)]
        self._recent: set[bytes] = set()
        self._runs: list[_Run] = []
        self._file: IO[bytes] | None = None
        self._end = 0

    def add(self, key: str) -> bool:
        digest = _digest(key)
        if digest in self._recent:
            return False
        if (
            self._runs
            and any(bloom.might_hold(digest) for bloom in self._filters)
            and self._in_runs(digest)
        ):
            return False
        self._recent.add(digest)
        if len(self._recent) >= _RECENT:
            self._spill()
        return True

    def _in_runs(self, digest: bytes) -> bool:
        assert self._file is not None
        fd = self._file.fileno()
        return any(run.holds(fd, digest) for run in self._runs)

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="calsink-seen-")  # noqa: SIM115
        digests = sorted(self._recent)
        self._recent.clear()
        for digest in digests:
            current = self._filters[-1]
            if current.count >= current.capacity:
                grown = len(self._filters)
                current = _Bloom(_FILTER_BITS << grown, _FILTER_KEYS << grown)
                self._filters.append(current)
            current.add(digest)
        data = b"".join(digests)
        os.pwrite(self._file.fileno(), data, self._end)
        self._runs.append(_Run(self._end, digests))
        self._end += len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()
