"""The decoders a source can be read with, named once (light at import: the command line's flags use it).

``fastslice.reading.readers.open_source`` takes them; ``SliceOptions.decoder`` and ``--decoder`` offer them.
"""
from __future__ import annotations

__all__ = ["DECODERS"]

#: ``"auto"`` (libsndfile where it decodes the format exactly, FFmpeg for the rest), ``"sndfile"``, ``"av"``.
DECODERS = ("auto", "sndfile", "av")
