"""Tune the cuts of one recording live: ``fastslice tune FILE [-o PAGE.html]``.

The recording is read once, in constant memory besides its RMS frames (one float32 per hop: 2.9 MB
for an hour at 5 ms), and the frames go into one self-contained page, like the review page: no
server, no network, inline data, a Content-Security-Policy that runs only the page's own script.
The page runs the silence state machine and the max-length split itself, on those frames, so
moving a slider recomputes the cuts at once; its cuts equal ``Slicer(...).slice_ranges`` for the
same parameters (tested in Chromium), because:

* the frames are fastslice's own (``stream.iter_frame_rms``), and for a fixed hop they do not
  depend on the other parameters while the window, ``min(round(min_interval in samples), 4 *
  hop)``, stays what it was when they were computed (it is ``4 * hop`` once ``min_interval >= 4 *
  hop``); where a setting would change the window, the page says that a new ``tune`` run is needed;
* the parameters become frames with the Slicer's own arithmetic (IEEE doubles, Python's
  round-half-even), and the threshold's float32 amplitude for every 0.1 dB step is computed here
  by Python and embedded (``10 ** (dB / 20)`` rounded to float32, as ``Slicer`` compares it).

The page links the recording by a path relative to itself (it plays each clip's span), and shows
the ``fastslice slice`` command for the chosen parameters, the file and folder quoted for a POSIX
shell (``shlex.quote``).

``tune_page(path, ...)`` is the same page for a notebook, the recording embedded as an Opus preview
encoded in the same single read (``fastslice.pages.inline``); the module itself is callable as it:
``fastslice.tune(path, threshold=-40)``.
"""
from __future__ import annotations

import base64
import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import numpy.typing as npt

from ..system.atomic import atomic_path
from ..errors import FastsliceError, ParameterError
from .inline import InlinePage, make_callable, OpusPreview, check_bitrate, page_href, page_template, script_json

if TYPE_CHECKING:
    from _typeshed import StrPath

    from ..cutting.slicer import Slicer

#: What sees each block of samples as it is read: ``(rate, channels, float32 (frames, channels))``.
Blocks = Callable[[int, int, npt.NDArray[np.float32]], object]

#: The threshold steps the page knows exactly: -120.0 to 0.0 dB by 0.1 dB.
THRESHOLD_STEPS_DB = (-1200, 0)


def threshold_table() -> npt.NDArray[np.float32]:
    """float32 amplitudes of the thresholds ``k / 10`` dB for k in ``THRESHOLD_STEPS_DB``, as ``Slicer`` compares them."""
    low, high = THRESHOLD_STEPS_DB
    return np.array([np.float32(10 ** ((k / 10) / 20.0)) for k in range(low, high + 1)], dtype="<f4")


def recording_frames(path: StrPath, hop_size: float, min_interval: float, *, decoder: str = "auto",
                     stream: int | None = None, blocks: Blocks | None = None
                     ) -> tuple[int, int, int, Slicer, npt.NDArray[np.float32]]:
    """``(rate, channels, n_samples, slicer, rms)``: the RMS frames of ``path`` as fastslice slices it;
    ``blocks(rate, channels, samples)``, if given, sees every block of float32 samples as it is read."""
    from ..report.envelopes import read_frames

    params = {"hop_size": hop_size, "min_interval": min_interval, "min_length": max(min_interval, hop_size),
              "max_sil_kept": hop_size}
    parts: list[npt.NDArray[np.float32]] = []
    info, slicer, _ = read_frames(path, params, lambda rms: parts.append(np.asarray(rms, dtype=np.float32)),
                                  decoder=decoder, stream=stream, blocks=blocks)
    rate, n_samples = info.samplerate, info.frames
    rms = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if n_samples == 0:
        raise FastsliceError(f"{path}: holds no audio frames: nothing to tune")
    if rms.shape[0] != slicer.n_frames(n_samples):
        raise FastsliceError(f"{path}: {n_samples / rate:.3f} s is too short to tune at hop_size={hop_size:g} ms")
    return rate, info.channels, n_samples, slicer, rms


def tune(path: StrPath, page_path: StrPath | None = None, *, params: Mapping[str, Any] | None = None,
         max_length: float | None = None, target: tuple[float, float] = (4.0, 8.0), out_dir: StrPath | None = None,
         decoder: str = "auto", stream: int | None = None) -> tuple[Path, int]:
    """Write the tuning page of ``path`` (default ``<stem>.tune.html`` in the working folder); returns
    ``(page path, number of frames)``.  ``params``: the Slicer's (``threshold``, ``min_length``,
    ``min_interval``, ``hop_size``, ``max_sil_kept``) as the page starts; ``out_dir``: the ``-o`` of
    the command the page shows (default ``<stem>_clips``)."""
    data, frames = tune_data(path, params=params, max_length=max_length, target=target, out_dir=out_dir,
                             decoder=decoder, stream=stream)
    page_file = Path(page_path or f"{Path(path).stem}.tune.html")
    data["href"] = page_href(Path(path).resolve(), page_file.resolve().parent)
    with atomic_path(page_file) as temporary:
        Path(temporary).write_text(tune_html(data), encoding="utf-8")
    return page_file, frames


def tune_data(path: StrPath, *, params: Mapping[str, Any] | None = None, max_length: float | None = None,
              target: tuple[float, float] = (4.0, 8.0), out_dir: StrPath | None = None, decoder: str = "auto",
              stream: int | None = None, blocks: Blocks | None = None) -> tuple[dict[str, Any], int]:
    """``(data, number of frames)``: the tuning page's data for ``path`` (read once; ``blocks`` sees
    its samples), its ``"href"`` (the recording's audio) left empty for the caller.  Arguments as
    for ``tune``."""
    from ..cutting.slicer import check_params

    source = Path(path)
    if isinstance(dict(params or {}).get("threshold"), str):
        raise ParameterError("tune starts from a threshold in dB (e.g. --threshold -40); 'auto' is chosen per file by "
                             "slice, and the page's envelope shows every level to choose from")
    values = check_params(**dict(params or {}), max_length=max_length)
    lo, hi = target
    if not 0 <= lo < hi:
        raise ParameterError(f"target={target!r} (--target LO HI) must be two lengths in seconds, 0 <= LO < HI")
    if not source.is_file():
        raise FastsliceError(f"{source}: no such file")
    rate, channels, n_samples, slicer, rms = recording_frames(source, values["hop_size"], values["min_interval"],
                                                             decoder=decoder, stream=stream, blocks=blocks)
    out_dir = out_dir or f"{source.stem}_clips"
    command = ["fastslice", "slice", shlex.quote(str(source.resolve())), "-o", shlex.quote(str(out_dir))]
    if decoder != "auto":
        command += ["--decoder", decoder]
    if stream is not None:
        command += ["--stream", str(stream)]
    data = {
        "name": source.name, "href": "", "rate": rate, "channels": channels, "n_samples": n_samples,
        "hop": slicer.hop_samples, "win": slicer.win_samples, "hop_ms": values["hop_size"],
        "params": {key: values[key] for key in ("threshold", "min_length", "min_interval", "max_sil_kept")},
        "max_length": max_length, "target": [lo, hi], "command": " ".join(command),
        "threshold_steps": list(THRESHOLD_STEPS_DB),
        "thresholds": base64.b64encode(threshold_table().tobytes()).decode("ascii"),
        "frames": base64.b64encode(rms.astype("<f4").tobytes()).decode("ascii"),
    }
    return data, rms.shape[0]


def tune_html(data: Mapping[str, Any]) -> str:
    """The tuning page of ``tune_data``'s data (its ``"href"`` filled in), with a fresh nonce."""
    return page_template("tune").replace("__NONCE__", secrets.token_urlsafe(16)).replace("__DATA__", script_json(data))


class TunePage(InlinePage):
    """The tuning page of a recording for a notebook (``fastslice.tune``): shown inline, the recording
    embedded as an Opus preview (``fastslice.pages.inline``); ``frames`` is the number of RMS frames,
    ``save(path)`` writes it."""

    def __init__(self, html_text: str, title: str, frames: int, height: int = 720) -> None:
        super().__init__(html_text, title, height)
        self.frames = frames


def tune_page(path: StrPath, *, threshold: float | None = None, min_length: float | None = None,
              min_interval: float | None = None, hop_size: float | None = None, max_sil_kept: float | None = None,
              max_length: float | None = None, target: tuple[float, float] = (4.0, 8.0),
              out_dir: StrPath | None = None, decoder: str = "auto", stream: int | None = None,
              bitrate: int = 24000, height: int = 720) -> TunePage:
    """The tuning page of the recording ``path``, for a notebook: the page ``fastslice tune`` writes,
    the recording embedded as a mono Opus preview at ``bitrate`` bits per second (encoded in the same
    single read; it plays in Colab and in a saved notebook), shown inline ``height`` pixels high.

    The Slicer's parameters (``threshold`` in dB, the rest in ms; left out: the Slicer's defaults),
    ``max_length``, ``target`` (the wanted clip lengths, s), ``out_dir`` (the ``-o`` of the command
    the page shows), ``decoder`` and ``stream`` as for ``fastslice tune``.  Called as
    ``fastslice.tune(...)``."""
    given = {"threshold": threshold if isinstance(threshold, (str, type(None))) else float(threshold), "min_length": min_length, "min_interval": min_interval, "hop_size": hop_size,
             "max_sil_kept": max_sil_kept}
    preview = OpusPreview(check_bitrate(bitrate), str(path))
    try:
        data, frames = tune_data(path, params={k: v for k, v in given.items() if v is not None}, max_length=max_length,
                                 target=target, out_dir=out_dir, decoder=decoder, stream=stream, blocks=preview.feed)
    except BaseException:
        preview.close()
        raise
    data["href"] = preview.data_uri()
    return TunePage(tune_html(data), f"fastslice tune: {Path(path).name}", frames, height)


make_callable(__name__, tune_page)  # fastslice.tune(...) / fastslice.review(...) is tune_page(...)
