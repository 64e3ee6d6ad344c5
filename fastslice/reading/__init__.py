"""Reading: audio decoded block by block from files, pipes and URLs.

* ``decoders``: the names of the decoders (``DECODERS``), light at import;
* ``sources``: the ``Source`` protocol every reader gives, and the float32 conversion;
* ``sndfile`` (libsndfile: WAV, FLAC, AIFF, Ogg, ...), ``ffmpeg`` (PyAV: MP3, M4A/AAC, video, ...),
  ``pipe`` (WAV streams from a pipe); ``readers`` chooses among them;
* ``decoding``: the decode loop, one pass over a source's blocks, mixed to mono and checked.
"""
