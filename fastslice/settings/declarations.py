"""Every option of fastslice, declared once: its keyword, command-line flag, unit, default, help,
and whether it changes the clips (and so is recorded in the marker's identity).

From these records are derived:

* the flags of ``fastslice slice`` (and of ``analyze``, ``tune`` and ``demo``, which share some):
  ``add_flags(parser, names)``; and back from the parsed arguments, ``settings_of(args)`` and
  ``slicer_params_of(args)``;
* the validation messages of ``SliceOptions``, which name the keyword and its flag: ``named``;
* the marker's identity, ``SliceOptions.identity()``: the options that change the clips, under
  their ``record`` key (``fastslice.settings.options``);
* the reference page: ``options_reference_markdown()``.

``SLICER`` declares ``Slicer``'s parameters (the ``params`` of ``SliceOptions``); ``SETTINGS``
declares every field of ``SliceOptions``, one record per field (a test checks both ways).

This module is light at import (no NumPy, no numba): the command line builds its parser from it.
"""
from __future__ import annotations

import argparse
import dataclasses
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

from ..output.layouts import LAYOUTS
from ..reading.decoders import DECODERS

if TYPE_CHECKING:
    from ..errors import ParameterError
    from ..output.clipnames import ClipNames

#: When an identity key is recorded: always; when its first option differs from its default; when any does.
ALWAYS, FIRST_SET, ANY_SET = "always", "first set", "any set"
#: The values of ``detector``.
DETECTORS = ("rms", "speech")
#: The values of ``file_names`` (``--names``): map what Windows refuses, or write names as they are.
NAME_RULES = ("portable", "native")


class RecordedOptions(Protocol):
    """What an ``Option``'s ``when`` and ``value`` read of the options they are given: ``SliceOptions``
    (``fastslice.settings.options``) is one.  Declared here so that this module does not import the options."""

    @property
    def params(self) -> tuple[tuple[str, Any], ...]: ...

    @property
    def peak_ceiling(self) -> Optional[float]: ...

    @property
    def names(self) -> ClipNames: ...

    @property
    def cues(self) -> Optional[str]: ...


@dataclasses.dataclass(frozen=True)
class Option:
    """One option's declaration.

    ``name`` is the keyword (a ``SliceOptions`` field, or a ``Slicer`` parameter); ``flag`` its
    command-line flag (None: none); ``unit`` what its number counts; ``default`` its default in
    Python (``cli_default``: on the command line, where it differs); ``changes_clips``: whether
    another value can give other clips (names, samples or cuts), so that a re-run must redo an
    input sliced with another: such an option is recorded in the marker under ``record`` (options
    of one key are recorded together, as a list, when ``when`` says: ``ALWAYS``, ``FIRST_SET``,
    ``ANY_SET`` or a predicate), as ``value(options)`` gives it (default: the field's value).
    ``metavar``, ``parse`` (the argparse ``type``; a ``False`` default without one makes a
    switch) and ``choices`` shape the flag.
    """

    name: str
    flag: Optional[str]
    unit: str
    default: Any
    help: str
    changes_clips: bool
    record: Optional[str] = None
    when: Union[str, Callable[[RecordedOptions], bool]] = ALWAYS
    value: Optional[Callable[[RecordedOptions], Any]] = None
    metavar: Optional[str] = None
    parse: Optional[Callable[[str], Any]] = None
    choices: Optional[tuple[str, ...]] = None
    cli_default: Any = None  # the command line's default where it differs (None: the same)

    @property
    def command_line_default(self) -> Any:
        """The default on the command line: ``cli_default`` where given, else ``default``."""
        return self.cli_default if self.cli_differs else self.default

    @property
    def cli_differs(self) -> bool:
        """The command line's default differs from Python's (the upstream CLI's for ``Slicer``'s parameters)."""
        return self.cli_default is not None

    @property
    def is_switch(self) -> bool:
        """A flag that takes no value (``--mono``)."""
        return self.parse is None and self.default is False and self.choices is None


#: Why a threshold above 0 dB is refused (``--threshold``, ``SliceOptions``; ``Slicer`` takes any, as upstream's).
ABOVE_FULL_SCALE = ("must be at most 0 dB: levels are relative to full scale (0 dBFS), and audio's RMS does not rise "
                    "above it, so every frame would be silence and no clip would be written; give a level below 0, "
                    "such as -40")


def threshold_arg(text: str) -> Union[float, str]:
    """``--threshold``: a level in dB up to 0, or a rule (``auto``, ``auto-N``) checked by ``fastslice.cutting.threshold``."""
    from ..errors import ParameterError

    try:
        level = float(text)
    except ValueError:
        pass
    else:
        if level > 0:
            raise argparse.ArgumentTypeError(f"{text} {ABOVE_FULL_SCALE}")
        return level
    from ..cutting.threshold import ThresholdRule

    try:
        rule = ThresholdRule.parse(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(exc.spelled(lambda _, value: repr(value), lambda name, _: name) or str(exc)) from None
    assert rule is not None  # parse gives None only for a value that is not a str
    return str(rule.text)


def _o(name: str, flag: Optional[str], unit: str, default: Any, help: str, changes_clips: bool, **more: Any) -> Option:
    return Option(name, flag, unit, default, help, changes_clips, **more)


#: ``Slicer``'s parameters, as ``SliceOptions.params`` holds them (recorded together, under "params").
SLICER: tuple[Option, ...] = (
    _o("threshold", "--threshold", "dB", -40.0, "RMS level below which a frame is silent, in dB; 'auto': each "
       "input's own, halfway between its noise floor and speech level; 'auto-N': N dB above its noise floor",
       True, record="params", metavar="DB|auto[-N]", parse=threshold_arg),
    _o("min_length", "--min-length", "ms", 5000, "minimum clip length, in ms", True, record="params", metavar="MS",
       parse=float),
    _o("min_interval", "--min-interval", "ms", 300, "minimum silence to cut at, in ms", True, record="params",
       metavar="MS", parse=float),
    _o("hop_size", "--hop-size", "ms", 20, "RMS frame hop, in ms", True, record="params", metavar="MS", parse=float,
       cli_default=10),
    _o("max_sil_kept", "--max-sil-kept", "ms", 5000, "maximum silence kept around a clip, in ms", True,
       record="params", metavar="MS", parse=float, cli_default=500),
    _o("max_length", "--max-length", "ms", None, "maximum clip length in ms: longer clips are cut at their "
       "quietest frames", True, record="params", metavar="MS", parse=float),
    _o("merge_short", "--merge-short", "", False, "pack consecutive clips together up to --max-length (pauses "
       "between them kept)", True, record="params"),
    _o("legacy_short_check", None, "", False, "upstream's check of a clip's length before its silence is trimmed "
       "(the Python API only)", True, record="params"),
)


def _name_recorded(options: RecordedOptions) -> bool:
    return not options.names.is_default


#: Every field of ``SliceOptions``, in its order.
SETTINGS: tuple[Option, ...] = (
    _o("params", None, "", (), "Slicer's parameters (threshold, min_length, ...) as (name, value) pairs: see the "
       "table of the slicer's parameters", True, record="params", value=lambda o: dict(o.params)),
    _o("format", "--format", "", None, "container of the clips, e.g. WAV, FLAC (default: the input's, or WAV for "
       "compressed input)", True, record="format", parse=str),
    _o("subtype", "--subtype", "", None, "sample format of the clips, e.g. PCM_16, PCM_24, FLOAT (default: the "
       "input's)", True, record="subtype", parse=str),
    _o("decoder", "--decoder", "", "auto", "auto (default): libsndfile for WAV, FLAC, AIFF, Ogg, ..., FFmpeg for MP3, "
       "M4A/AAC, video and the rest; sndfile or av: that one for every input", True, record="decoder",
       choices=DECODERS),
    _o("stream", "--stream", "", None, "slice audio stream N (0, 1, ...) of a file that has several, e.g. a film's "
       "second language (through FFmpeg; default: the first)", True, record="stream", metavar="N", parse=int),
    _o("start_seconds", "--start", "s", None, "slice each input from this time on (skip an intro)", True,
       record="segment", metavar="SECONDS", parse=float),
    _o("end_seconds", "--end", "s", None, "slice each input up to this time (skip an outro)", True, record="segment",
       metavar="SECONDS", parse=float),
    _o("sample_rate", "--sr", "Hz", None, "resample the clips to HZ (soxr, high quality); slicing is decided on the "
       "original", True, record="sample_rate", metavar="HZ", parse=int),
    _o("mono", "--mono", "", False, "mix the clips down to mono (the mean of the channels)", True, record="mono"),
    _o("normalize_dbfs", "--normalize", "dBFS", None, "scale each clip so that its peak is at DBFS (e.g. -1); the "
       "cuts are unchanged", True, record="normalize", when=FIRST_SET, metavar="DBFS", parse=float),
    _o("normalize_mix", "--normalize-mix", "", 1.0, "with --normalize: write ALPHA * normalized + (1 - ALPHA) * "
       "clip (RVC 0.75, GPT-SoVITS 0.25; default 1)", True, record="normalize", when=FIRST_SET, metavar="ALPHA",
       parse=float),
    _o("highpass_hz", "--highpass", "Hz", None, "high-pass the audio before slicing (Butterworth, as RVC does at "
       "48 Hz); the clips are the filtered audio", True, record="highpass", when=FIRST_SET, metavar="HZ",
       parse=float),
    _o("highpass_order", "--highpass-order", "", 5, "the high-pass filter's order (default 5)", True,
       record="highpass", when=FIRST_SET, metavar="N", parse=int),
    _o("loudness_lufs", "--loudness", "LUFS", None, "bring each clip to this integrated loudness (ITU-R BS.1770-4, "
       "e.g. -23 as fish-speech's guide), its peak kept under --peak-ceiling", True, record="loudness",
       when=ANY_SET, metavar="LUFS", parse=float),
    _o("peak_ceiling_dbfs", "--peak-ceiling", "dBFS", None, "keep each clip's sample peak at or under DBFS by "
       "lowering its gain (default -1 with --loudness; alone: only clips above it are lowered)", True,
       record="loudness", when=ANY_SET, value=lambda o: o.peak_ceiling, metavar="DBFS", parse=float),
    _o("name_template", "--name", "", None, "name the clips: {stem}, {speaker}, {i}, {start}, {end} (samples), "
       "{start_ms}, {end_ms}, format specs and subfolders, e.g. '{stem}/{i:04d}' (default {stem}_{i})", True,
       record="name", when=_name_recorded, value=lambda o: o.names.template, metavar="TEMPLATE", parse=str),
    _o("file_names", "--names", "", "portable", "portable (default): a clip, marker or folder name that Windows, "
       "exFAT or NTFS would refuse is mapped to one they take (':' -> '：', ...; a long name shortened), the same "
       "on every platform; native: names as they are, refused only where the output folder refuses them", True,
       record="names", when=FIRST_SET, choices=NAME_RULES),
    _o("threads", "--threads", "", None, "threads per file: 1 reads, analyses and writes in turn; 2 or more write "
       "clips while reading goes on (default: one per CPU, or 1 with -j N or --dask)", False, metavar="N",
       parse=int),
    _o("hold_bytes", None, "bytes", 16 << 20, "the samples of the clip still open are held in memory up to this, "
       "beyond it in a temporary file", False),
    _o("block_frames", None, "frames", 1 << 16, "frames decoded at a time", False),
    _o("overwrite", "--overwrite", "", False, "slice again inputs whose clips are already complete (for -, replace "
       "the clips of an earlier run with the same --stem)", False),
    _o("dry_run", "--dry-run", "", False, "print the clips that would be written; write nothing", False),
    _o("speaker", "--speaker", "", None, "the speaker of every input: in the manifest, the exports, {speaker} in "
       "--name, and a layout's speaker folders", True, record="speaker", when=ANY_SET, metavar="NAME", parse=str),
    _o("speaker_from_folder", "--speaker-from-folder", "", False, "each input's speaker is its folder's name (one "
       "folder per speaker, as the projects lay them out)", True, record="speaker", when=ANY_SET),
    _o("layout", "--layout", "", None, "the folders, names, clip format and lists that project's own preprocessing "
       "reads", True, record="layout", when=FIRST_SET, choices=tuple(LAYOUTS)),
    _o("no_clips", "--no-clips", "", False, "write no clip files: the manifest and exports point into the sources "
       "(offsets and durations; PCM and FLAC only)", True, record="no_clips", when=FIRST_SET),
    _o("storage_options", "--storage-options", "", None, "fsspec's options for URLs (s3://, gs://, ...), e.g. "
       "'{\"client_kwargs\": {\"endpoint_url\": \"http://127.0.0.1:9000\"}}'; credentials also from the usual "
       "environment variables (pip install 'fastslice[s3]'); never shown, never recorded", False, metavar="JSON",
       parse=str),
    _o("cues", "--cues", "", None, "one clip per cue of a subtitle file (.srt, .vtt), an Audacity label file or a "
       "CSV of start,end[,text] (seconds), its text carried; 'auto': each input's <stem>.srt, .vtt or _labels.txt",
       True, record="cues", when=FIRST_SET, value=lambda o: _cue_recorded(o.cues), metavar="FILE", parse=str),
    _o("snap_ms", "--snap", "ms", None, "with --cues: move each boundary to the quietest frame within MS (default "
       "300 for subtitles, 0 for labels and CSV)", True, record="cues", when=FIRST_SET, metavar="MS", parse=float),
    _o("detector", "--detector", "", "rms", "what decides silent frames: rms (the threshold, default; for singing) or "
       "speech (Silero VAD: pip install 'fastslice[speech]')", True, record="detector", when=FIRST_SET,
       choices=DETECTORS),
)

#: Every declaration by its keyword.
BY_NAME: dict[str, Option] = {o.name: o for o in SLICER + SETTINGS}


def _cue_recorded(cues: Optional[str]) -> Optional[str]:
    import os

    return cues if cues in (None, "auto") else os.path.abspath(str(cues))


def setting(name: str) -> Option:
    """The declaration of the ``SliceOptions`` field ``name``."""
    return BY_NAME[name]


def flag_of(name: str) -> Optional[str]:
    """The command-line flag of the keyword ``name``, or None."""
    option = BY_NAME.get(name)
    return None if option is None else option.flag


def named(name: str, value: Any) -> str:
    """``name=value (--flag)``: a keyword and its value as a message names them."""
    flag = flag_of(name)
    return f"{name}={value!r}" + (f" ({flag})" if flag else "")


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value) if isinstance(value, int) else repr(value)


def _flag_named(name: str, value: Any) -> str:
    """``--flag (value unit)``: another parameter as a command-line message names it."""
    option = BY_NAME[name]
    if value is None or option.is_switch:
        return str(option.flag)
    return f"{option.flag} ({_shown(value)}{' ' + option.unit if option.unit else ''})"


def command_line_message(error: ParameterError) -> str:
    """``error``'s message as the command line says it: each parameter named by its flag, the rule,
    and the value given (``--min-length must be at least ...; got -5``).  An error that is not about
    one parameter, or names one without a flag, keeps its message."""
    names = [error.parameter, *error.refs]
    if error.rule is None or not all(name in BY_NAME and BY_NAME[name].flag for name in names):
        return str(error)
    text = error.spelled(lambda name, _: str(BY_NAME[name].flag), _flag_named) or str(error)
    switch = BY_NAME[str(error.parameter)].is_switch
    return text if switch else f"{text}; got {_shown(error.value)}"


#: slicer2.py's spellings of the flags (openvpi/audio-slicer's command line): accepted, not listed in --help.
SLICER2_SPELLINGS = {"threshold": "--db_thresh", "min_length": "--min_length", "min_interval": "--min_interval",
                     "hop_size": "--hop_size", "max_sil_kept": "--max_sil_kept"}


# -- the command line ------------------------------------------------------------------------


def add_flags(parser: argparse.ArgumentParser, names: Iterable[str], helps: Optional[Mapping[str, str]] = None) -> None:
    """Add the flags of the options ``names`` to ``parser``, each as declared (``helps``: another help
    text for some, e.g. "as for slice"); the parsed value's ``dest`` is the keyword."""
    helps = helps or {}
    for name in names:
        option = BY_NAME[name]
        if option.flag is None:
            raise ValueError(f"{name}: declared without a command-line flag (fastslice/declarations.py)")
        default = option.command_line_default
        text = helps.get(name, option.help)
        if option.name in _DEFAULT_SHOWN:
            text += f" (default {default:g})"
        kwargs: dict[str, Any] = {"dest": name, "help": text}
        if option.is_switch:
            kwargs["action"] = "store_true"
        else:
            kwargs.update(default=default, metavar=option.metavar)
            if option.parse is not None:
                kwargs["type"] = option.parse
            if option.choices is not None:
                kwargs["choices"] = option.choices
                kwargs.pop("metavar")
        parser.add_argument(option.flag, **kwargs)
        if name in SLICER2_SPELLINGS:  # the same flag, as slicer2.py spells it
            parser.add_argument(SLICER2_SPELLINGS[name], **{**kwargs, "help": argparse.SUPPRESS})


# the slicer's numeric parameters: their help says the command line's default
_DEFAULT_SHOWN = ("threshold", "min_length", "min_interval", "hop_size", "max_sil_kept")
#: The flags ``analyze``, ``tune`` and ``demo`` share with ``slice``: the slicer's parameters.
SLICER_FLAGS = tuple(o.name for o in SLICER if o.flag is not None and o.name not in ("max_length", "merge_short"))
#: The flags of the decoding, shared by ``slice``, ``analyze`` and ``tune``.
DECODER_FLAGS = ("decoder", "stream")
#: The ``SliceOptions`` fields ``fastslice slice`` has flags for (every one declared with a flag).
SLICE_SETTINGS = tuple(o.name for o in SETTINGS if o.flag is not None)


def slicer_params_of(args: argparse.Namespace) -> dict[str, Any]:
    """``Slicer``'s keyword arguments from parsed flags (whole numbers of ms as ints, as the upstream CLI)."""
    params: dict[str, Any] = {}
    for option in SLICER:
        if not hasattr(args, option.name):
            continue
        value = getattr(args, option.name)
        if option.is_switch:
            if value:
                params[option.name] = True
        elif value is not None:
            whole = option.name != "threshold" and isinstance(value, float) and value.is_integer()
            params[option.name] = int(value) if whole else value
    return params


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The ``SliceOptions`` settings (keywords) from parsed flags: every declared field the parser has."""
    return {name: getattr(args, name) for name in SLICE_SETTINGS if hasattr(args, name)}


# -- the reference page ----------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_text(option: Option) -> str:
    if option.name == "params":
        return "`()`"
    text = f"`{option.default!r}`"
    if option.cli_differs:
        text += f" (command line: `{option.cli_default!r}`)"
    return text


def options_reference_markdown() -> str:
    """The options as Markdown: one table of ``Slicer``'s parameters and one of ``SliceOptions``'s
    fields (option, flag, unit, default, whether it changes the clips, help), from their declarations."""
    lines: list[str] = []
    for title, table in (("Slicer's parameters (`params`)", SLICER), ("`SliceOptions`", SETTINGS)):
        lines += [f"### {title}", "", "| option | flag | unit | default | changes the clips | help |",
                  "|---|---|---|---|---|---|"]
        for o in table:
            flag = f"`{o.flag}`" if o.flag else ""
            clips = "yes" if o.changes_clips else "no"
            lines.append(f"| `{o.name}` | {flag} | {o.unit} | {_cell(_default_text(o))} | {clips} | {_cell(o.help)} |")
        lines.append("")
    return "\n".join(lines)


def _recorded_groups() -> Mapping[str, tuple[Option, ...]]:
    """The options that change the clips, by the identity key they are recorded under, in declaration order."""
    groups: dict[str, list[Option]] = {}
    for option in SETTINGS:
        if option.changes_clips:
            if option.record is None:
                raise ValueError(f"{option.name}: changes the clips but has no record key (fastslice/declarations.py)")
            groups.setdefault(option.record, []).append(option)
    return types.MappingProxyType({key: tuple(members) for key, members in groups.items()})


#: The options that change the clips, by the identity key they are recorded under (``SliceOptions.identity``),
#: in declaration order: a constant made at import, read-only.
RECORDED_GROUPS = _recorded_groups()
