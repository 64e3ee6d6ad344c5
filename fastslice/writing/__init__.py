"""Writing: one clip's file, from its samples, on threads of their own.

* ``formats``: the clips' container and sample format;
* ``clipfile``: one clip through libsndfile, or a float WAV written directly;
* ``wavcopy``: clips of a PCM WAV copied byte for byte;
* ``writers``: the clip writers, on threads while decoding goes on.
"""
