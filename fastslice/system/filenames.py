"""File names that are safe on every file system: Windows' rules, one Unicode spelling, and case.

By default (``--names portable``) fastslice **maps**, on every platform, a clip, marker or folder
name that Windows could not create (a library made on Linux is copied to a Windows or exFAT
drive as it is) to one it can, the same way every time (``portable_part``, ``portable_stem``):

* ``"*:<>?|`` become their full-width look-alikes ``＂＊：＜＞？｜`` (U+FF02 and so on, as yt-dlp
  writes them), ``\\`` becomes ``⧹`` (U+29F9), and a control character (code points 0-31) its
  Unicode control picture (``␀``-``␟``, U+2400-U+241F: a tab is ``␉``);
* a part that ends in dots or spaces has them written full-width (``take.`` -> ``take．``,
  ``spk `` -> ``spk\u3000``: U+FF0E and U+3000);
* a DOS device name gets ``_`` after its device word (``nul.wav`` -> ``nul_.wav``, ``COM1`` -> ``COM1_``);
* a name longer than a file system holds (255 bytes on ext4, 255 UTF-16 units on exFAT and NTFS,
  counting what fastslice adds to a stem: ``STEM_BYTES``) is cut at a character boundary and ends
  with ``…`` and eight hex digits of the whole name's SHA-1, so two long titles that share their
  beginning stay two names.

A name that needs none of this is written as it is (markers of earlier runs still match).  With
``--names native`` nothing is mapped: a name is refused only where the output folder refuses it.

Windows refuses (the rules the map answers):

* a part named as a DOS device: ``CON``, ``PRN``, ``AUX``, ``NUL``, ``CONIN$``, ``CONOUT$``,
  ``COM1``-``COM9``, ``LPT1``-``LPT9`` (and ``COM¹``, ``COM²``, ``COM³``, ``LPT¹``...), in any
  case, also with an extension or trailing spaces before it (``nul.wav``, ``Aux .wav``);
* a part that ends with a dot or a space;
* the characters ``<>:"|?*`` and control characters (code points 0-31), and ``\\``.

These are the rules of Python's ``ntpath.isreserved`` (3.13), the cautious side of what the
Windows versions differ on.  ``part_problem`` and ``path_problem`` say which rule a name breaks.

Names are compared as the output folder compares them: in NFC (``é`` typed as one code point or as
``e`` and a combining accent is one name, as on macOS), and, where the folder is
case-insensitive (``case_insensitive``: one probe per run, its answer held by the run), with the case folded as
NTFS and exFAT fold it (one upper-case letter for one, ``ß`` stays).
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid

#: the characters Windows refuses in a file name (besides the separators)
FORBIDDEN = frozenset('<>:"|?*\\') | frozenset(chr(i) for i in range(32))

#: the DOS device names, which Windows refuses as a name's part before its first dot
RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
                     | {f"{port}{c}" for port in ("COM", "LPT") for c in "123456789\u00b9\u00b2\u00b3"})

_FORBIDDEN = re.compile(r'[<>:"|?*\\\x00-\x1f]')  # FORBIDDEN, for one search per name

#: each character of ``FORBIDDEN`` and what ``--names portable`` writes for it
LOOK_ALIKES: dict[str, str] = {**{c: chr(ord(c) + 0xFEE0) for c in '"*:<>?|'}, "\\": "\u29f9",
                               **{chr(i): chr(0x2400 + i) for i in range(32)}}
_LOOK_ALIKE = str.maketrans(LOOK_ALIKES)
#: a part's trailing dot and space, as ``--names portable`` writes them
_TRAILING = {".": "\uff0e", " ": "\u3000"}

#: the bytes a name part may have (ext4's 255; a name of 255 UTF-16 units, exFAT's and NTFS's limit,
#: never has fewer bytes, so the byte count answers both)
NAME_BYTES = 255
#: the bytes an input's stem may have: ``NAME_BYTES`` less the most fastslice adds to it in a name
#: (``--labels``' temporary ``.<stem>_labels.txt.<pid>.part``: 25; a marker's ``<stem>.<pid>.marker.part``: 20);
#: a template that adds more to the stem's part leaves it less (``fastslice.output.clipnames.ClipNames.stem``)
STEM_BYTES = NAME_BYTES - 25
_HASH = 8  # hex digits of the SHA-1 that a shortened name ends with, after "…"


def look_alike(text: str) -> str:
    """``text`` with each character of ``FORBIDDEN`` as its look-alike (``LOOK_ALIKES``)."""
    return text.translate(_LOOK_ALIKE)


def portable_stem(stem: str, limit: int = STEM_BYTES) -> str:
    """An input's stem as ``--names portable`` names its clips and marker: NFC, Windows' forbidden
    characters as their look-alikes, and at most ``limit`` bytes (``shorten``).  Unchanged where
    nothing needs mapping; the same stem always gives the same result."""
    return shorten(nfc(stem).translate(_LOOK_ALIKE), limit)


def portable_part(part: str, reserve: int = 0, extension_follows: bool = False) -> str:
    """One path component as ``--names portable`` writes it: NFC, forbidden characters as their
    look-alikes, trailing dots and spaces full-width (unless ``extension_follows``), ``_`` after a
    device name, and at most ``NAME_BYTES - reserve`` bytes (``reserve``: what is still to be
    added, e.g. the extension)."""
    part = nfc(part).translate(_LOOK_ALIKE)
    if part in (".", ".."):
        return part
    if not extension_follows:
        kept = part.rstrip(". ")
        part = kept + "".join(_TRAILING[c] for c in part[len(kept):])
    word, rest = _device_split(part)
    if word.upper() in RESERVED:
        part = word + "_" + rest
    return shorten(part, NAME_BYTES - reserve)


def portable_path(relative: str, reserve: int = 0, extension_follows: bool = False) -> str:
    """A ``/``-separated relative path with each part ``portable_part`` (``reserve`` and
    ``extension_follows`` apply to its last part)."""
    parts = relative.split("/")
    last = len(parts) - 1
    return "/".join(portable_part(p, reserve if k == last else 0, extension_follows and k == last)
                    for k, p in enumerate(parts))


def shorten(name: str, limit: int) -> str:
    """``name`` where its UTF-8 form has at most ``limit`` bytes; else its beginning, cut at a character
    boundary, then ``…`` and eight hex digits of the whole name's SHA-1 (the same name always gives
    the same result; two names that differ anywhere stay apart)."""
    data = name.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return name
    digest = hashlib.sha1(data).hexdigest()[:_HASH]
    keep = limit - len("\u2026".encode()) - _HASH
    head = data[:keep].decode("utf-8", "ignore")  # a character cut in two is dropped whole
    while unicodedata.combining(head[-1:] or "a"):  # nor split a letter from its accent
        head = head[:-1]
    return f"{head}\u2026{digest}"


def _device_split(part: str) -> tuple[str, str]:
    """(the device word a part could be, the rest): the part before its first dot, less trailing spaces."""
    before, dot, after = part.partition(".")
    word = before.rstrip(" ")
    return word, before[len(word):] + dot + after


def part_problem(part: str, extension_follows: bool = False) -> str | None:
    """Why Windows would refuse ``part`` as a file or folder name (one path component), or None;
    ``extension_follows``: a file name to which an extension is still to be added (``talk.`` then
    ends as ``talk..wav``, which Windows takes)."""
    if _FORBIDDEN.search(part):
        bad = sorted({c for c in part if c in FORBIDDEN})
        shown = ", ".join(repr(c) if c >= " " else f"control character {ord(c)}" for c in bad)
        return f"{shown} cannot be in a file name on Windows (nor on exFAT or NTFS drives)"
    if part[-1:] in (".", " ") and part not in (".", "..") and not extension_follows:
        return f"{part!r} ends with {'a dot' if part[-1] == '.' else 'a space'}, which Windows drops or refuses"
    device = _device_split(part)[0]
    if len(device) in (3, 4, 6, 7) and device.upper() in RESERVED:
        device = device.upper()
        return f"{part!r} is the device name {device} on Windows, which cannot be a file's name"
    return None


def path_problem(relative: str, extension_follows: bool = False) -> str | None:
    """Why Windows would refuse a relative path (``/``-separated parts), or None: its first bad part's
    reason (``extension_follows``: the last part is a file name still without its extension)."""
    parts = relative.split("/")
    for k, part in enumerate(parts):
        problem = part_problem(part, extension_follows and k == len(parts) - 1)
        if problem:
            return problem
    return None


def work_stem(stem: str) -> str:
    """The stem as a temporary's name begins (``<stem>.<k>.<ext>.part``): itself, or ``~`` and itself
    where it is a device name (``aux.0.wav.part`` is refused on Windows, ``~aux.0.wav.part`` is not)
    or already begins with ``~`` (so that no two stems share one)."""
    reserved = stem.partition(".")[0].rstrip(" ").upper() in RESERVED
    return "~" + stem if reserved or stem.startswith("~") else stem


def nfc(text: str) -> str:
    """``text`` in Unicode's composed form (NFC): the spelling clip names are written in."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def fold(text: str, case_insensitive: bool) -> str:
    """The form two names share when a folder takes them for one: NFC, and with ``case_insensitive``
    each letter in upper case where that is one letter (as NTFS's and exFAT's up-case tables do)."""
    text = nfc(text)
    if not case_insensitive:
        return text
    if text.isascii():
        return text.upper()
    return "".join(upper if len(upper := c.upper()) == 1 else c for c in text)


def case_insensitive(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` takes names that differ only in case for one (exFAT, FAT, NTFS, APFS's default).

    Probed at each call: a probe file with a lower-case name is made in it, its upper-case spelling
    looked up, and the file removed.  A folder that does not exist yet is made for the probe and
    removed again (with any parents made for it); where nothing can be made, the folder is taken as
    case-sensitive (today's behaviour).  No answer is kept here (a kept one would outlive the run,
    be inherited by forked workers, and miss a folder remounted since): a run asks once and holds
    the answer (``fastslice.batch.scan.expand_inputs`` passes it to ``without_clashes``)."""
    key = os.path.abspath(folder)
    made = _make_folders(key)
    try:
        name = f".fastslice-case-{uuid.uuid4().hex}"
        probe = os.path.join(key, name)
        try:
            with open(probe, "x"):
                pass
        except OSError:
            answer = False
        else:
            try:
                answer = os.path.exists(os.path.join(key, name.upper()))
            finally:
                os.unlink(probe)
    finally:
        for path in reversed(made):
            try:
                os.rmdir(path)
            except OSError:
                break
    return answer


def _make_folders(folder: str) -> list[str]:
    """Make ``folder`` and its missing parents; the ones made, outermost first."""
    missing = []
    path = folder
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    made = []
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except OSError:
            break
        made.append(path)
    return made
