"""Rendering: what is done to the samples between the decoder and the clip's file.

* ``render``: the high-pass, the gain (peak normalization, loudness), the mono mix and the rate;
* ``filters`` (the Butterworth high-pass), ``loudness`` (ITU-R BS.1770-4);
* ``samples``: the samples of a clip still open, held in memory or spilled to a file.
"""
