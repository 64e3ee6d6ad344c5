"""What the operating system and the object stores offer, below every stage.

* ``storage``: local paths and URLs (``s3://``, ...) through fsspec, one way to open, list and put;
* ``fileops``: removals and renames that Windows holds for a moment, paths past 260 characters;
* ``atomic``: files written whole or not at all (a temporary name, renamed when complete);
* ``processes``: whether a process runs (one answer for the lock and the stale temporaries);
* ``filenames``: names every file system takes (Windows' rules mapped, NFC, long names, case).

It imports nothing of fastslice but ``errors`` and ``seams``.
"""
