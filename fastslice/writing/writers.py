"""The clip writers: clips written on threads of their own while the input goes on being decoded.

``ClipWriter`` writes clips in order on one thread (or, unthreaded, on the caller's); ``Encoders``
encodes them (FLAC, Ogg, MP3) on several at once.  Both take the same calls (``write``, ``run``,
``finish``, ``stop``, ``done``: the ``Writer`` protocol) and end each clip in a complete file or none.
The files themselves are written by ``fastslice.writing.clipfile.write_clip`` or a ``fastslice.writing.wavcopy`` job.
"""
from __future__ import annotations

import collections
import contextlib
import concurrent.futures
import dataclasses
import itertools
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from .. import seams
from .clipfile import ClipSpec, Stopped, write_clip
from ..output.rows import Clip
from .wavcopy import Job

#: ``on_complete(work, clip)``: called as each clip is complete on disk
OnComplete = Callable[[Path, Clip], None]
#: (the clip's own clipping counts, the input's), added in order
Counts = tuple[list[tuple[str, int]], list[tuple[str, int]]]
#: (clip, work path, clipping counts, future of its frames), in order
Pending = tuple[Clip, Path, Counts, "concurrent.futures.Future[int]"]


class Writer(Protocol):
    """What the loop over one input hands its clips to (``ClipWriter``, ``Encoders``)."""

    done: list[tuple[Path, Clip]]

    def write(self, clip: Clip, work: Path, blocks: Iterable[np.ndarray], spec: ClipSpec,
              reads_alone: bool = False) -> None:
        """Hand over one clip written from ``blocks``."""

    def run(self, clip: Clip, work: Path, job: Job) -> None:
        """Hand over one clip that ``job(stopping)`` writes itself."""

    def finish(self) -> None:
        """Wait for every clip handed over; raise the first error."""

    def stop(self) -> None:
        """Abandon what is not complete."""


class ClipWriter:
    """Writes clips in order on a thread of its own, while the input goes on being decoded
    (libsndfile and the kernel's file copies release the GIL).

    Each clip is written to its work path (``fastslice.output.outputs``).  Three ways to hand one over,
    each ending in a complete file or none:

    * ``write(clip, work, blocks, spec)``: blocks from memory the decoding thread reuses are
      copied, in that thread, into a few buffers that go round between the two threads, for
      ``write_clip(blocks, work, spec, clip.clip)`` (``spec``: a ``ClipSpec``);
    * ``write(clip, work, blocks, spec, reads_alone=True)``: blocks read again from the file by a
      reader only the writer uses, read on the writer's thread;
    * ``run(clip, work, job)``: ``job(stopping)`` writes the clip itself (``WavCopy``), checking
      ``stopping()`` as it goes.

    The queue is bounded (a few blocks or clips): a slow writer holds the decoding back, and
    memory stays constant.  ``finish()`` waits for every clip and raises the first error; if a
    clip was being handed over when the decoding stopped (Ctrl-C on a stream), that one clip is
    abandoned and the complete ones queued before it are still written.  ``stop()`` abandons
    the clip being written (its file is removed) and what is queued.  ``done`` lists
    ``(work path, clip)`` of the clips complete on disk, in order, with their sizes;
    ``on_complete(work, clip)``, if given, is called (on the writer's thread) as each is.
    With ``threaded=False`` every clip is written by the caller, at once.
    """

    _QUEUED = 4
    _END, _STOP, _ABANDON = object(), object(), object()

    def __init__(self, threaded: bool = True, on_complete: OnComplete | None = None) -> None:
        self.done: list[tuple[Path, Clip]] = []
        self._error: BaseException | None = None
        self._open = False  # a clip's blocks are being queued
        self._threaded = threaded
        self._on_complete = on_complete
        if not threaded:
            return
        self._stopping = threading.Event()
        self._queue: queue.Queue[Any] = queue.Queue(self._QUEUED)
        self._free: queue.Queue[np.ndarray] = queue.Queue()  # buffers the writer has finished with
        self._buffers = 0
        self._thread = threading.Thread(target=self._run, name="fastslice-clip-writer", daemon=True)
        self._thread.start()

    def write(self, clip: Clip, work: Path, blocks: Iterable[np.ndarray], spec: ClipSpec, reads_alone: bool = False) -> None:
        """Hand over one clip written from ``blocks`` (see the class)."""
        if not self._threaded:
            self.run(clip, work, lambda stopping: write_clip(blocks, work, spec, clip.clip))
        elif reads_alone:
            self.put(("lazy", clip, work, spec, blocks))
        else:
            self._open = True  # from here until _END, an interruption abandons this clip only
            self.put(("blocks", clip, work, spec))
            for block in blocks:
                self.put(self._copy(block))  # the hold reuses its memory
                seams.reach("block-handed")
            self.put(self._END)
            self._open = False

    def run(self, clip: Clip, work: Path, job: Job) -> None:
        """Hand over one clip that ``job(stopping)`` writes itself."""
        if self._threaded:
            self.put(("job", clip, work, job))
        else:
            self._complete(clip, work, job(never))

    def finish(self) -> None:
        """Wait for the clips queued; one whose queuing was interrupted is abandoned."""
        if not self._threaded:
            return
        if self._open:
            self._queue.put(self._ABANDON)  # the writer drops that clip and goes on with the queue
            self._open = False
        self._queue.put(None)
        self._thread.join()
        self._raise_error()

    def stop(self) -> None:
        """Abandon the clip being written (its file is removed) and what is queued."""
        if self._threaded and self._thread.is_alive():
            self._stopping.set()
            self._queue.put(self._STOP)  # the writer drains the queue until it sees this
            self._thread.join()

    def _complete(self, clip: Clip, work: Path, frames: int) -> None:
        clip = dataclasses.replace(clip, size=os.path.getsize(work), frames=frames)
        if self._on_complete is not None:
            self._on_complete(work, clip)
        self.done.append((work, clip))

    def _copy(self, block: np.ndarray) -> tuple[str, np.ndarray, int | None]:
        """("block", buffer, frames) holding a copy of ``block``: a buffer of the round, or a new array."""
        if self._buffers < self._QUEUED + 2 and self._free.empty():
            self._buffers += 1
            self._free.put(np.empty((max(block.shape[0], 1 << 16),) + block.shape[1:], block.dtype))
        buffer = self._free.get()
        if buffer.dtype != block.dtype or buffer.shape[1:] != block.shape[1:] or buffer.shape[0] < block.shape[0]:
            self._free.put(buffer)  # an odd block (resampled output): a copy of its own
            return "block", np.array(block), None
        buffer[: block.shape[0]] = block
        return "block", buffer, block.shape[0]

    def put(self, item: object) -> None:
        """Queue ``item`` for the writer's thread (waiting for room); first raise the writer's error, if any."""
        self._raise_error()
        self._queue.put(item)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _release(self, item: object) -> None:
        if isinstance(item, tuple) and item[0] == "block" and item[2] is not None:
            self._free.put(item[1])

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or item is self._STOP:
                return
            if self._error is not None or self._stopping.is_set() or item is self._END or item is self._ABANDON \
                    or item[0] == "block":
                self._release(item)
                continue  # after an error or stop(): drain until told to stop
            kind, clip, work = item[:3]
            try:
                if kind == "job":
                    frames = item[3](self._stopping.is_set)
                elif kind == "lazy":
                    frames = write_clip(self._watched(item[4]), work, item[3], clip.clip)
                else:
                    frames = write_clip(self._watched(self._queued_blocks()), work, item[3], clip.clip)
                self._complete(clip, work, frames)
            except Stopped as stopped:
                if stopped.args == (self._STOP,):
                    return
            except BaseException as exc:  # handed to the decoding thread
                self._error = exc

    def _watched(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        return until_stopped(blocks, self._stopping)

    def _queued_blocks(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if item is self._STOP or item is self._ABANDON:
                raise Stopped(item)
            _, buffer, frames = item
            yield buffer if frames is None else buffer[:frames]
            self._release(item)


class Encoders:
    """Clips that are encoded (FLAC, Ogg, MP3: as much work as decoding them, or more) written on
    ``threads`` threads at once, with ``ClipWriter``'s interface and guarantees (but ``run``: a
    clip that writes itself is a WAV copy, never encoded).

    A clip read again from its file (``reads_alone``) is read by the thread that encodes it.  Any
    other clip of at most ``WHOLE_BYTES`` is copied whole on the caller's thread and handed over; a
    longer one is handed over at that size and the rest of its blocks follow through a bounded
    queue.  At most ``threads + 1`` clips are in hand: the caller waits for the oldest beyond that,
    so memory stays bounded.  Clips complete in the order they were handed over (``done``,
    ``on_complete``, the clipping counts), whatever thread finishes first; the bytes of each are
    those one writer writes.  ``finish()`` waits for all and raises the first error; ``stop()``
    keeps the clips complete before the first unfinished one and removes the rest."""

    WHOLE_BYTES = 1 << 20
    _END = object()

    def __init__(self, threads: int, on_complete: OnComplete | None = None) -> None:
        self.done: list[tuple[Path, Clip]] = []
        self._on_complete = on_complete
        self._threads = threads
        self._stopping = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="fastslice-encoder")
        self._pending: collections.deque[Pending] = collections.deque()  # (clip, work, clipping counts, future), in order
        self._abandoned: set[concurrent.futures.Future[int]] = set()  # the futures of clips whose handing over was interrupted

    def write(self, clip: Clip, work: Path, blocks: Iterable[np.ndarray], spec: ClipSpec, reads_alone: bool = False) -> None:
        """Hand over one clip written from ``blocks`` (see the class)."""
        own = dataclasses.replace(spec, clipped=[])  # its clipping count, added to spec's in order
        counts = (own.clipped, spec.clipped)
        if reads_alone:  # read again from the file by the thread that encodes it (a reader per thread: Reread)
            self.submit(clip, work, own, counts, blocks, None)
            return
        blocks = iter(blocks)
        parts, size = [], 0
        for block in blocks:
            parts.append(np.array(block))  # a copy: the hold reuses its memory
            size += parts[-1].nbytes
            if size > self.WHOLE_BYTES:
                break
        else:
            self.submit(clip, work, own, counts, parts, None)
            return
        feed: queue.Queue[Any] = queue.Queue(4)
        self.submit(clip, work, own, counts, parts, feed)
        try:
            for block in blocks:
                self.put(feed, np.array(block))
                seams.reach("block-handed")
        except BaseException:  # e.g. Ctrl-C on a stream: that clip only is abandoned; the others go on
            self._abandoned.add(self._pending[-1][3])
            self.put(feed, Stopped(ClipWriter._ABANDON))
            raise
        self.put(feed, self._END)

    def run(self, clip: Clip, work: Path, job: Job) -> None:
        """Not for encoded clips: a clip that writes itself is a WAV copy, for a ``ClipWriter``."""
        raise TypeError(f"{clip.source}: clip {clip.clip} writes itself (a WAV copy); give it to a ClipWriter, "
                        "not to the Encoders")

    def finish(self) -> None:
        """Wait for every clip handed over; raise the first error."""
        while self._pending:
            self._complete_oldest()
        self._pool.shutdown(wait=True)

    def stop(self) -> None:
        """Keep the clips complete before the first unfinished one; remove the rest."""
        self._stopping.set()
        kept = True
        while self._pending:
            clip, work, counts, future = self._pending.popleft()
            future.cancel()
            try:
                frames = future.result()
            except BaseException:  # noqa: BLE001 - stopping: what failed or was cut is not kept
                kept = False
                continue
            if kept:
                self._completed(clip, work, counts, frames)
            else:
                Path(work).unlink(missing_ok=True)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, clip: Clip, work: Path, own: ClipSpec, counts: Counts, parts: Iterable[np.ndarray],
               feed: queue.Queue[Any] | None) -> None:
        """Start encoding one clip: ``parts``, then what comes through ``feed`` (if any)."""
        self._wait_for_room()
        blocks = parts if feed is None else itertools.chain(parts, self._fed(feed))
        future = self._pool.submit(lambda: write_clip(self._watched(blocks), work, own, clip.clip))
        self._pending.append((clip, work, counts, future))

    def _wait_for_room(self) -> None:
        while self._pending and self._pending[0][3].done():
            self._complete_oldest()
        if len(self._pending) > self._threads:
            self._complete_oldest()

    def _complete_oldest(self) -> None:
        clip, work, counts, future = self._pending[0]
        if future in self._abandoned:  # it ends without a file (_clip_errors removes it)
            self._pending.popleft()
            with contextlib.suppress(BaseException):
                future.result()
            Path(work).unlink(missing_ok=True)
            return
        try:
            frames = future.result()
        except BaseException:
            self.stop()
            raise
        self._pending.popleft()
        self._completed(clip, work, counts, frames)

    def _completed(self, clip: Clip, work: Path, counts: Counts, frames: int) -> None:
        counts[1].extend(counts[0])
        clip = dataclasses.replace(clip, size=os.path.getsize(work), frames=frames)
        if self._on_complete is not None:
            self._on_complete(work, clip)
        self.done.append((work, clip))

    def put(self, feed: queue.Queue[Any], item: object) -> None:
        """Queue ``item`` into a clip's ``feed``, unless its encoder has given up."""
        while True:
            if self._pending and self._pending[-1][3].done():  # its writer has given up (an error)
                return
            try:
                feed.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _fed(self, feed: queue.Queue[Any]) -> Iterator[np.ndarray]:
        while True:
            try:
                item = feed.get(timeout=0.1)
            except queue.Empty:
                if self._stopping.is_set():
                    raise Stopped(ClipWriter._STOP) from None
                continue
            if item is self._END:
                return
            if isinstance(item, Stopped):
                raise item
            yield item

    def _watched(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        return until_stopped(blocks, self._stopping)


def until_stopped(blocks: Iterable[np.ndarray], stopping: threading.Event) -> Iterator[np.ndarray]:
    """The blocks, until the event ``stopping`` is set: then ``Stopped`` (the clip being written is dropped)."""
    for block in blocks:
        if stopping.is_set():
            raise Stopped
        yield block




def never() -> bool:
    """A ``stopping()`` that never stops (the caller writes the clip itself)."""
    return False
