"""Pages shown inside a notebook (Jupyter, JupyterLab, Colab, VS Code), and what they are built from.

``fastslice.tune(...)`` and ``fastslice.review(...)`` return an ``InlinePage``: the very page the
command line writes, with its audio embedded instead of linked, so that it needs nothing but
itself.  A notebook shows it through ``_repr_html_`` as an ``<iframe srcdoc=...>``:

* the page is a document of its own: its ids, styles, key handlers and ``window`` names cannot
  clash with the notebook's or with another page's (two pages in one notebook both work);
* its Content-Security-Policy (a ``<meta>`` in the page, a fresh nonce on its one script) applies
  inside the frame as it does in a file; the script is inline, nothing is fetched from anywhere;
* the audio is a compressed preview (``OpusPreview``: mono Opus in Ogg, 24 kbit/s by default) as a
  ``data:`` URI, which needs neither the kernel nor the disk: it plays in a saved notebook, in the
  notebook exported to HTML, and (written for it) in Colab's output frame, which cannot reach the
  runtime's files.  Chromium, Firefox and Safari (14.1 and later) play Ogg Opus.

``page_template``, ``script_json`` and ``page_href`` are the pieces every fastslice page is made
of (the command line's too).
"""
from __future__ import annotations

import base64
import functools
import html
import io
import json
import os
import sys
from fractions import Fraction
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import quote

import numpy as np
import numpy.typing as npt

from ..system.atomic import atomic_path
from ..errors import FastsliceError, ParameterError

if TYPE_CHECKING:
    from _typeshed import StrPath

#: The preview's bit rate (bits per second) unless one is given: mono Opus, 10.8 MB an hour.
PREVIEW_BITRATE = 24000
#: The lowest and highest bit rates libopus takes.
BITRATE_RANGE = (6000, 510000)


class OpusPreview:
    """A listening copy of a recording: its channels averaged to mono, resampled to 48 kHz, encoded
    as Opus in Ogg at ``bitrate`` bits per second, in memory.  ``feed`` float32 blocks ``(frames,
    channels)`` as they are read, then ``data_uri()`` (once)."""

    def __init__(self, bitrate: int = PREVIEW_BITRATE, name: str = "the preview") -> None:
        import av

        check_bitrate(bitrate)
        self._name = name
        self._buffer = io.BytesIO()
        self._container: Any = av.open(self._buffer, mode="w", format="ogg")
        self._stream: Any = self._container.add_stream("libopus", rate=48000, layout="mono")
        self._stream.bit_rate = bitrate
        self._frames = 0
        self._rate: int | None = None

    def feed(self, rate: int, channels: int, block: npt.NDArray[np.float32]) -> None:
        """Encode one block of samples, float32 ``(frames, channels)`` at ``rate`` Hz."""
        import av

        if self._rate is None:
            self._rate = rate
        if block.shape[0] == 0:
            return
        mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 else np.asarray(block, np.float32)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(mono[None, :]), format="flt", layout="mono")
        frame.sample_rate = rate
        frame.time_base = Fraction(1, rate)
        frame.pts = self._frames
        self._frames += mono.shape[0]
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def data(self) -> bytes:
        """Finish the stream and return the Ogg Opus file's bytes."""
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._buffer.getvalue()

    def close(self) -> None:
        """Drop the stream unfinished (when the read fails)."""
        try:
            self._container.close()
        except Exception:  # noqa: BLE001  (nothing of it is kept)
            pass

    def data_uri(self) -> str:
        """Finish the stream and return it as a ``data:audio/ogg;base64,...`` URI."""
        return "data:audio/ogg;base64," + base64.b64encode(self.data()).decode("ascii")


def check_bitrate(bitrate: int) -> int:
    """``bitrate`` if libopus takes it, else a ``ParameterError`` that says the range."""
    low, high = BITRATE_RANGE
    if isinstance(bitrate, bool) or not isinstance(bitrate, int) or not low <= bitrate <= high:
        raise ParameterError(f"bitrate={bitrate!r}: the preview's Opus bit rate must be a whole number of bits per "
                             f"second from {low} to {high} (24000 is clear speech)")
    return bitrate


def file_preview(path: StrPath, bitrate: int = PREVIEW_BITRATE) -> str:
    """The ``OpusPreview`` data URI of a (clip) file that soundfile reads, read in blocks."""
    import soundfile

    preview = OpusPreview(bitrate, str(path))
    try:
        with soundfile.SoundFile(path) as f:
            for block in f.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                preview.feed(f.samplerate, f.channels, block)
    except (OSError, RuntimeError) as exc:
        raise FastsliceError(f"{path}: cannot read it for the page's audio ({exc})") from None
    return preview.data_uri()


class InlinePage:
    """One fastslice page, whole and self-contained: shown inline by a notebook (``_repr_html_``, an
    ``<iframe srcdoc>`` of ``height`` pixels), written to a file by ``save``, its text in ``html``."""

    def __init__(self, html_text: str, title: str, height: int) -> None:
        self.html = html_text
        self.title = title
        self.height = height

    def _repr_html_(self) -> str:
        """The page in an ``<iframe srcdoc>``: a document of its own, so nothing in it clashes with the
        notebook or another page."""
        return (f'<iframe class="fastslice-page" title="{html.escape(self.title, quote=True)}" '
                f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #ccc" '
                f'srcdoc="{html.escape(self.html, quote=True)}"></iframe>')

    def save(self, path: StrPath) -> Path:
        """Write the page (audio embedded) to ``path``, atomically; returns the path."""
        page = Path(path)
        with atomic_path(page) as temporary:
            Path(temporary).write_text(self.html, encoding="utf-8")
        return page

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r}: {len(self.html):,} characters>"


class CallableModule(ModuleType):
    """A module that is also a function: ``fastslice.tune`` is both the module ``fastslice/pages/tune.py``
    and ``tune_page``, because Python sets a package's attribute to a submodule of that name once it
    is imported.  Calling the module calls its ``__wrapped__`` (``help`` and ``inspect.signature``
    follow it too)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function the module stands for."""
        return self.__dict__["__wrapped__"](*args, **kwargs)


def make_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Make the module ``module_name`` callable as ``function`` (``CallableModule``)."""
    module = sys.modules[module_name]
    module.__wrapped__ = function  # type: ignore[attr-defined]
    module.__class__ = CallableModule


# -- the pieces of every fastslice page -------------------------------------------------------


def page_href(path: StrPath, base: StrPath) -> str:
    """The link from a page in folder ``base`` to ``path``: relative, each part percent-encoded (so
    the page still works when the folder is moved, zipped or copied)."""
    href = os.path.relpath(path, base)
    return "/".join(quote(part) for part in Path(href).as_posix().split("/"))


def script_json(data: object) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' appear as such."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@functools.lru_cache(maxsize=None)
def page_template(name: str) -> str:
    """The template of the page ``name`` (``"review"`` or ``"tune"``), from the package data in
    ``fastslice/pages/``: ``head.html`` (the start of every fastslice page: its
    Content-Security-Policy runs only the script that carries the page's nonce), then
    ``<name>.html`` with ``<name>.css`` in place of ``__STYLE__`` and ``<name>.js`` in place of
    ``__SCRIPT__``.  The caller fills in ``__NONCE__`` (a fresh random nonce) and ``__DATA__`` (the
    page's data, as ``script_json`` writes it).

    Names and paths reach a page only as JSON data and are shown with ``textContent``, never as
    markup; the policy runs only the page's own script, so even an injected ``onerror=`` attribute
    could not run.  The review page's table renders only the rows in view.  The tune page's script
    restates ``Slicer``'s parameter arithmetic, the reference's silence state machine
    (openvpi/audio-slicer ``slicer2.py``) and ``fastslice.cutting.lengths.split_ranges`` over the embedded
    RMS frames; ``window.fastsliceTune.cuts()`` gives the cuts shown, in samples.
    """
    if name not in ("review", "tune"):
        raise ParameterError(f"page_template(name={name!r}): no such page; give 'review' or 'tune'")
    pages = resources.files("fastslice") / "pages"

    def text(file: str) -> str:
        return (pages / file).read_text(encoding="utf-8")

    body = text(f"{name}.html").replace("__STYLE__", text(f"{name}.css")).replace("__SCRIPT__", text(f"{name}.js"))
    return text("head.html") + body
