r"""Clip names: ``--name TEMPLATE``.

A template is a ``str.format`` string over the fields ``{stem}`` (the input's stem, or
``--stem`` for standard input), ``{speaker}`` (``--speaker``, or the input's folder with
``--speaker-from-folder``; empty otherwise), ``{i}`` (the clip's number from 0), ``{start}`` and
``{end}`` (samples in the source), ``{start_ms}`` and ``{end_ms}`` (milliseconds, rounded), with
format specs (``{i:04d}``) and ``/`` for subfolders (``{stem}/{i:04d}``).  The extension is added.
The default, ``{stem}_{i}``, is the upstream CLI's.

A name must stay inside the output folder: no absolute path, no ``..``, no empty or hidden
part, no ``\`` in the template (subfolders are written with ``/``); a template that would break
this is refused before any work.  With ``portable`` (``--names portable``, the default) a name
Windows could not make is mapped to one it can, on every platform (``fastslice.system.filenames``: the
stem by ``portable_stem``, each part of the name by ``portable_part``); with ``--names native``
it is written as it is.  Names are written in NFC (``fastslice.system.filenames.nfc``).  Each
clip's name must differ within an input, so a template needs ``{i}``, ``{start}`` or
``{start_ms}``; and no name is ever given twice (``fastslice.output.outputs`` checks as names are made).

``ascii_safe`` (the layouts of projects whose loaders warn about other names, e.g. so-vits-svc's
``[.a-zA-Z0-9_/]``) spells the stem and speaker in those characters only: accents are dropped
(``é`` -> ``e``), anything else becomes ``_``.
"""
from __future__ import annotations

import hashlib
import os
import re
import string
import unicodedata

from ..errors import ParameterError
from ..system.filenames import NAME_BYTES, STEM_BYTES, look_alike, nfc, path_problem, portable_part, portable_path, portable_stem

DEFAULT = "{stem}_{i}"
FIELDS = ("stem", "speaker", "i", "start", "end", "start_ms", "end_ms")
_UNIQUE = ("i", "start", "start_ms")
_NOT_SAFE = re.compile(r"[^.a-zA-Z0-9_]")


class ClipNames:
    """The names one template gives: ``name(stem, i, start, end, rate, speaker)`` (a relative path, no extension)."""

    def __init__(self, template: str | None = DEFAULT, ascii_safe: bool = False, portable: bool = True) -> None:
        self.template = DEFAULT if template is None else str(template)
        self.ascii_safe = bool(ascii_safe)
        #: names Windows could not make are mapped (``--names portable``); else written as they are
        self.portable = bool(portable)
        try:
            parts = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise ParameterError(f"--name {self.template!r}: {exc}") from None
        fields = [field for _, field, _, _ in parts if field is not None]
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise ParameterError(f"--name {self.template!r}: unknown field {{{unknown[0]}}}; "
                                 f"use {', '.join('{' + f + '}' for f in FIELDS)}")
        if not any(f in _UNIQUE for f in fields):
            raise ParameterError(f"--name {self.template!r} gives every clip of an input the same name; "
                                 "put {i}, {start} or {start_ms} in it")
        self._parts = parts
        #: the bytes a stem may have, so that the longest part holding it fits a file system with its extension
        self.stem_bytes = min(STEM_BYTES, NAME_BYTES - len(".flac") - self._beside_stem())
        if "\\" in "".join(literal for literal, _, _, _ in parts):
            raise ParameterError(f"--name {self.template!r}: subfolders in --name are written with '/', not '\\'")
        try:
            self.name("stem", 0, 0, 0, 1000, "speaker")  # a spec that does not fit its field fails here
        except ParameterError as exc:
            raise ParameterError(f"{exc}; change --name") from None

    @property
    def is_default(self) -> bool:
        """The upstream CLI's names (``{stem}_{i}``), spelled as given."""
        return self.template == DEFAULT and not self.ascii_safe

    def _beside_stem(self) -> int:
        """The most bytes the template writes beside ``{stem}`` in its part (numbers at 11 digits)."""
        big = 10 ** 11 - 1
        try:
            name = self.template.format(stem="\0", speaker="", i=big, start=big, end=big, start_ms=big, end_ms=big)
        except (ValueError, TypeError):
            return 0  # the template's own check (below) says what is wrong
        return max((len(part.encode()) - 1 for part in name.split("/") if "\0" in part), default=0)

    def stem(self, stem: str) -> str:
        """The stem an input's clips, marker and temporaries are named after: NFC, and with
        ``portable`` mapped as ``fastslice.system.filenames.portable_stem`` maps it, at most ``stem_bytes``
        long (the same every time)."""
        return portable_stem(stem, self.stem_bytes) if self.portable else nfc(stem)

    def _values(self, stem: str, speaker: str) -> tuple[str, str]:
        if self.ascii_safe:
            return safe(stem), safe(speaker)
        if self.portable:  # a value's characters mapped before it meets the template ("\\" too)
            return portable_stem(stem, self.stem_bytes), portable_part(speaker) if speaker else speaker
        return stem, speaker

    def name(self, stem: str, i: int, start: int, end: int, rate: int, speaker: str = "") -> str:
        """The clip's path relative to the output folder, without extension."""
        stem, speaker = self._values(stem, speaker)
        values = {"stem": stem, "speaker": speaker, "i": i, "start": start, "end": end,
                  "start_ms": round(start * 1000 / rate), "end_ms": round(end * 1000 / rate)}
        try:
            name = self.template.format(**values)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"--name {self.template!r}: {exc}") from None
        name = nfc(name)
        problem = unsafe(name, windows=False)
        if problem:
            raise ParameterError(f"--name {self.template!r} gives {name!r} for the input {stem!r}: {problem}")
        return portable_path(name, reserve=len(".flac"), extension_follows=True) if self.portable else name

    def prefix(self, stem: str, speaker: str = "") -> str:
        """What every clip name of an input begins with (the template up to its first numbered field;
        with ``portable``, its last part only up to where mapping could change it)."""
        stem, speaker = self._values(stem, speaker)
        text = ""
        for literal, field, spec, _ in self._parts:
            text += literal
            if field is None:
                continue
            if field not in ("stem", "speaker"):
                break
            text += format(stem if field == "stem" else speaker, spec or "")
        text = nfc(text)
        if not self.portable:
            return text
        folders, slash, last = text.rpartition("/")
        last = last.partition(".")[0].rstrip(" ")[:48]  # a device word, trailing dots, a long part: mapped later
        return (portable_path(folders) + slash if slash else "") + look_alike(last)

    def first_name(self, stem: str, speaker: str = "") -> str:
        """The first clip's name of an input (to find inputs whose clips would clash)."""
        return self.name(stem, 0, 0, 0, 1000, speaker)


def safe(text: str) -> str:
    """``text`` in ``[.a-zA-Z0-9_]`` only: accents dropped (``café`` -> ``cafe``), other characters
    ``_``; where letters were lost (``日本語``), six hex digits of the original's hash follow, so
    that two such names stay apart."""
    folded = unicodedata.normalize("NFKD", text)
    marks = sum(1 for c in folded if unicodedata.combining(c))
    kept = folded.encode("ascii", "ignore").decode("ascii")
    cleaned = _NOT_SAFE.sub("_", kept)
    if len(kept) < len(folded) - marks or not cleaned:
        cleaned += "_" + hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    return cleaned


def unsafe(name: str, windows: bool = True) -> str | None:
    """Why a relative clip name (without its extension) would leave the output folder or hide itself,
    or (``windows``) be refused by Windows (``fastslice.system.filenames``), or None.  ``\\`` counts as a
    separator where it is one (Windows, or ``windows``)."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[/\\]", name):
        return "an absolute or empty path"
    backslash = windows or os.sep == "\\"
    parts = (name.replace("\\", "/") if backslash else name).split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "a '..', '.' or empty part would place it outside the output folder"
    if any(part.startswith(".") for part in parts):
        return "a part starting with '.' would hide it"
    if backslash and "\\" in name:
        return ("'\\' cannot be in a file name on Windows (nor on exFAT or NTFS drives); subfolders in --name are "
                "written with '/'")
    return path_problem(name, extension_follows=True) if windows else None
