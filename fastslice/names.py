"""File names that are safe on every file system: Windows' rules, one Unicode spelling, and case.

fastslice refuses, on every platform, a clip name that Windows could not create (a library made
on Linux is copied to a Windows or exFAT drive as it is):

* a part named as a DOS device: ``CON``, ``PRN``, ``AUX``, ``NUL``, ``CONIN$``, ``CONOUT$``,
  ``COM1``-``COM9``, ``LPT1``-``LPT9`` (and ``COM¹``, ``COM²``, ``COM³``, ``LPT¹``...), in any
  case, also with an extension or trailing spaces before it (``nul.wav``, ``Aux .wav``);
* a part that ends with a dot or a space;
* the characters ``<>:"|?*`` and control characters (code points 0-31), and ``\\``.

These are the rules of Python's ``ntpath.isreserved`` (3.13), the cautious side of what the
Windows versions differ on.

Names are compared as the output folder compares them: in NFC (``é`` typed as one code point or as
``e`` and a combining accent is one name, as on macOS), and, where the folder is
case-insensitive (``case_insensitive``: one probe per folder), with the case folded as
NTFS and exFAT fold it (one upper-case letter for one, ``ß`` stays).
"""
from __future__ import annotations

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
_probed: dict[str, bool] = {}


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
    device = part.partition(".")[0].rstrip(" ")
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

    Found once per folder and process: a probe file with a lower-case name is made in it, its
    upper-case spelling looked up, and the file removed.  A folder that does not exist yet is made
    for the probe and removed again (with any parents made for it); where nothing can be made,
    the folder is taken as case-sensitive (today's behaviour)."""
    key = os.path.abspath(folder)
    known = _probed.get(key)
    if known is not None:
        return known
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
    _probed[key] = answer
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
