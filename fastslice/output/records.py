"""A run's records: the clips of every input of a run, kept on disk as results arrive.

``RunRecords`` keeps the clips of every input in a temporary file as results arrive, in
whatever order, and gives them back in input order: the manifest, the zip and other end-of-run
writers stream from it (``fastslice slice``), so the parent's memory does not grow with the
library (two integers per input).
"""
from __future__ import annotations

import dataclasses
import io
import json
import tempfile
from array import array
from typing import IO, TYPE_CHECKING, Iterator, Literal

from .rows import Clip

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["RunRecords"]


class RunRecords:
    """The clips of every input of a run, kept in a temporary file as results arrive (in any order)
    and given back in input order.  Memory: two integers per input."""

    def __init__(self, n_inputs: int) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="fastslice-run-")
        self._offsets = array("q", bytes(8 * n_inputs))
        self._lengths = array("q", bytes(8 * n_inputs))
        self._end = 0
        self._in_order = True
        self._last = -1
        self.count = 0  # clips recorded

    def add(self, index: int, clips: list[Clip]) -> None:
        """Record input ``index``'s clips (once per input)."""
        if not clips:
            return
        data = "".join(json.dumps(dataclasses.astuple(c), ensure_ascii=False) + "\n" for c in clips).encode("utf-8")
        self._file.seek(self._end)
        self._file.write(data)
        self._offsets[index], self._lengths[index] = self._end, len(data)
        self._end += len(data)
        self._in_order = self._in_order and index > self._last
        self._last = max(self._last, index)
        self.count += len(clips)

    def clips(self) -> Iterator[Clip]:
        """Every clip recorded, inputs in order, each input's clips in order."""
        self._file.flush()
        if self._in_order:  # one sequential read
            self._file.seek(0)
            for line in io.TextIOWrapper(_Unclosed(self._file), encoding="utf-8"):  # type: ignore[type-var]  # a raw stream reads
                yield Clip(*json.loads(line))
            return
        for offset, length in zip(self._offsets, self._lengths):
            if length:
                self._file.seek(offset)
                for line in self._file.read(length).decode("utf-8").splitlines():
                    yield Clip(*json.loads(line))

    def close(self) -> None:
        """Remove the temporary file."""
        self._file.close()

    def __enter__(self) -> RunRecords:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False


class _Unclosed(io.RawIOBase):
    """A view of a binary file that TextIOWrapper may close without closing the file."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._f.read(len(view))
        view[: len(data)] = data
        return len(data)
