"""Cutting: where an input's clips are, found as it is read.

* ``slicer``: the public ``Slicer``, openvpi/audio-slicer's arithmetic bit for bit;
* ``framing``, ``ranges``: the RMS frames and the silence state machine, block by block;
* ``lengths`` (maximum length, merging), ``threshold`` (the automatic threshold), ``cues``
  (subtitles and labels), ``speech`` (Silero VAD);
* ``cutters``: the four cutters behind one interface, each made from the plan's ``CutRule``.
"""
