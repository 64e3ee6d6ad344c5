"""Clip names: ``--name TEMPLATE``.

A template is a ``str.format`` string over the fields ``{stem}`` (the input's stem, or
``--stem`` for standard input), ``{i}`` (the clip's number from 0), ``{start}`` and ``{end}``
(samples in the source), ``{start_ms}`` and ``{end_ms}`` (milliseconds, rounded), with format
specs (``{i:04d}``) and ``/`` for subfolders (``{stem}/{i:04d}``).  The extension is added.
The default, ``{stem}_{i}``, is the upstream CLI's.

A name must stay inside the output folder: no absolute path, no ``..``, no empty or hidden
part; a template that would break this for some input is refused before any work.  Each
clip's name must differ within an input, so a template needs ``{i}``, ``{start}`` or
``{start_ms}``.
"""
import re
import string

from .errors import ParameterError

DEFAULT = "{stem}_{i}"
FIELDS = ("stem", "i", "start", "end", "start_ms", "end_ms")
_UNIQUE = ("i", "start", "start_ms")
_INTEGER = re.compile(r"[ +-]*[0-9][0-9,_]*|[ +-]*[0-9]*")


class ClipNames:
    """The names one template gives: ``name(stem, i, start, end, rate)`` (a relative path, no extension)."""

    def __init__(self, template=DEFAULT):
        self.template = DEFAULT if template is None else str(template)
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
        self.name("stem", 0, 0, 0, 1000)  # a spec that does not fit its field fails here

    @property
    def is_default(self):
        return self.template == DEFAULT

    def name(self, stem, i, start, end, rate):
        """The clip's path relative to the output folder, without extension."""
        values = {"stem": stem, "i": i, "start": start, "end": end,
                  "start_ms": round(start * 1000 / rate), "end_ms": round(end * 1000 / rate)}
        try:
            name = self.template.format(**values)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"--name {self.template!r}: {exc}") from None
        problem = unsafe(name)
        if problem:
            raise ParameterError(f"--name {self.template!r} gives {name!r} for the input {stem!r}: {problem}")
        return name

    def first_name(self, stem):
        """The first clip's name of an input (to find inputs whose clips would clash)."""
        return self.name(stem, 0, 0, 0, 1000)

    def pattern(self, stem):
        """A regular expression matching every name this template gives an input (relative path, no extension)."""
        regex = ""
        for literal, field, spec, conversion in self._parts:
            regex += re.escape(literal)
            if field is None:
                continue
            if field == "stem":
                regex += re.escape(format(stem, spec or ""))
            else:
                regex += "(?:" + _INTEGER.pattern + ")"
        return re.compile(regex)


def unsafe(name):
    """Why a relative clip name would leave the output folder or hide itself, or None."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute or empty path"
    parts = name.replace("\\", "/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "a '..', '.' or empty part would place it outside the output folder"
    if any(part.startswith(".") for part in parts):
        return "a part starting with '.' would hide it"
    return None
