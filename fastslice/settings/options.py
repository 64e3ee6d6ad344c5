"""How a file is sliced: every option, validated once, in one frozen value.

Each option is declared once, in ``fastslice.settings.declarations`` (its flag, unit, default, help and
whether it changes the clips); each field below takes its default and that declaration from
there (``declared(name)``), and the marker's identity is computed from the declarations.

``SliceOptions`` holds the slicer's parameters and everything else that decides what a
file's clips are and how they are made: the segment (``start_seconds`` / ``end_seconds``),
the clips' format, rate and channels, normalization and loudness, the high-pass filter, the names, the
decoder, and how the work is done (threads, memory bound, block size, overwrite, dry run).
The command line, ``slice_file``, ``slice_files`` and every Dask task share one such value:
it is checked when it is made (each rule in one place, with one message that names the
keyword and its command-line flag), and a task receives it as it is, never re-parsed.

    options = SliceOptions.make({"threshold": -30, "min_length": 4000}, sample_rate=32000, mono=True)
    slice_file("drama.wav", "clips", options)

NumPy numbers are taken as the Python numbers they equal, so that they can be recorded.  The
threshold may be ``"auto"`` or ``"auto-N"`` (``fastslice.cutting.threshold``): each input's own, chosen from
its levels once it has been read (``threshold_rule``; the plan's ``CutRule.slicer(rate, threshold=...)``).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, Optional, Union

from . import declarations
from .declarations import ABOVE_FULL_SCALE, ALWAYS, ANY_SET, DETECTORS, FIRST_SET, NAME_RULES, Option, named
from ..errors import ParameterError, refused
from ..writing.formats import LOSSLESS_SUBTYPES, output_format
from ..output.layouts import LAYOUTS, Layout
from ..cutting.threshold import ThresholdRule
from ..output.clipnames import ClipNames
from ..reading.decoders import DECODERS
from ..cutting.slicer import PARAMS, check_params
from ..system.storage import basename as storage_basename
from ..system.storage import check_options as check_storage_options

__all__ = ["SliceOptions", "declared", "declarations_of", "options_reference_markdown", "DEFAULT_PEAK_CEILING",
           "DETECTORS", "INTEGER_PCM", "OPTION"]

#: The key of a field's declaration in its ``dataclasses.field`` metadata.
OPTION = "fastslice.option"
#: The sample peak (dBFS) a clip brought to a loudness is kept under, unless peak_ceiling_dbfs says otherwise.
DEFAULT_PEAK_CEILING = -1.0
# Integer PCM subtypes Python's wave module reads.
INTEGER_PCM = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32")
#: Slicer parameters as ``SliceOptions.params`` holds them: ``(name, value)`` pairs, sorted by name.
Params = tuple[tuple[str, Any], ...]


def declared(name: str) -> Any:
    """The ``dataclasses.field`` of the option ``name``: its declared default, the declaration in its metadata."""
    option = declarations.setting(name)
    hidden = name == "storage_options"  # secrets: never shown, never compared
    return dataclasses.field(default=option.default, repr=not hidden, compare=not hidden, metadata={OPTION: option})


def options_reference_markdown() -> str:
    """The reference table of every option (``fastslice.settings.declarations.options_reference_markdown``)."""
    return declarations.options_reference_markdown()


def _refused(name: str, value: Any, rule: str, **refs: Any) -> ParameterError:
    """The error of option ``name`` at ``value`` that breaks ``rule`` (other options as ``{keyword}`` fields):
    in Python its message names each option and its flag (``named``); the command line names the flags."""
    return refused(name, value, rule, named, **refs)


def _number(name: str, value: Any, integer: bool = False, rule: Optional[str] = None) -> Union[int, float]:
    """``value`` as a Python int or float; ``rule`` is what the message says it must be."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real):
        rule = rule or ("a whole number" if integer else "a number")
        raise _refused(name, value, f"must be {rule}")
    number: Union[int, float] = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(number):
        raise _refused(name, number, "must be a finite number")
    return number


@dataclasses.dataclass(frozen=True)
class SliceOptions:
    """Everything about how a file is sliced except the file itself (see the module's text).

    Make one with ``SliceOptions.make(params, **settings)`` (or the constructor with keywords);
    ``replace(**changes)`` gives a copy with changes, checked again.  Each field is declared in
    ``fastslice.settings.declarations`` (``declarations_of()`` lists them, ``options_reference_markdown()``
    shows them).
    """

    #: ``Slicer``'s parameters (``threshold``, ``min_length``, ... in dB and ms), as ``(name, value)`` pairs
    params: Params = declared("params")
    format: Optional[str] = declared("format")
    subtype: Optional[str] = declared("subtype")
    decoder: str = declared("decoder")
    stream: Optional[int] = declared("stream")
    start_seconds: Optional[float] = declared("start_seconds")
    end_seconds: Optional[float] = declared("end_seconds")
    sample_rate: Optional[int] = declared("sample_rate")
    mono: bool = declared("mono")
    normalize_dbfs: Optional[float] = declared("normalize_dbfs")
    normalize_mix: float = declared("normalize_mix")
    highpass_hz: Optional[float] = declared("highpass_hz")
    highpass_order: int = declared("highpass_order")
    #: each clip brought to this integrated loudness (LUFS, ITU-R BS.1770-4; ``fastslice.rendering.loudness``), or None
    loudness_lufs: Optional[float] = declared("loudness_lufs")
    #: each clip's sample peak kept at or under this (dBFS) by lowering its gain; None: -1 with loudness_lufs, else none
    peak_ceiling_dbfs: Optional[float] = declared("peak_ceiling_dbfs")
    name_template: Optional[str] = declared("name_template")
    #: "portable": names Windows refuses are mapped (``fastslice.system.filenames``); "native": written as they are
    file_names: str = declared("file_names")
    threads: Optional[int] = declared("threads")
    hold_bytes: int = declared("hold_bytes")
    block_frames: int = declared("block_frames")
    overwrite: bool = declared("overwrite")
    dry_run: bool = declared("dry_run")
    #: the speaker of every input, or None (with ``speaker_from_folder``: each input's folder's name)
    speaker: Optional[str] = declared("speaker")
    speaker_from_folder: bool = declared("speaker_from_folder")
    #: a project's folder shape, names and clip format (``fastslice.output.layouts``), or None
    layout: Optional[str] = declared("layout")
    #: write no clip: each is a range of its source in the markers, manifests and exports
    no_clips: bool = declared("no_clips")
    #: fsspec's keyword arguments for URLs (``--storage-options``, JSON or a dict); never shown, never recorded
    storage_options: Any = declared("storage_options")
    #: a cue file (subtitles, labels, CSV) to cut one clip per cue, "auto" for each input's own, or None
    cues: Optional[str] = declared("cues")
    #: how far (ms) a cue's boundary may move to the quietest frame (None: 300 for subtitles, 0 for labels)
    snap_ms: Optional[float] = declared("snap_ms")
    #: what decides silent frames: "rms" (the threshold) or "speech" (Silero VAD, fastslice.cutting.speech)
    detector: str = declared("detector")
    #: the clips' names (``fastslice.output.clipnames.ClipNames``) that ``name_template``, ``layout`` and
    #: ``file_names`` give, made once when the options are checked: derived, not an option (not given, shown,
    #: compared or hashed; ``replace`` makes it again)
    names: ClipNames = dataclasses.field(init=False, repr=False, compare=False)

    @classmethod
    def make(cls, params: Optional[Mapping[str, Any]] = None, **settings: Any) -> SliceOptions:
        """Options from ``Slicer``'s keyword arguments (a dict) and ``slice_file``'s settings.  An unknown
        setting is refused here; the parameters are checked as every ``SliceOptions`` is (``_checked_params``)."""
        params = dict(params or {})
        fields = {f.name for f in dataclasses.fields(cls) if f.init} - {"params"}
        wrong = sorted(set(settings) - fields)
        if wrong:
            raise ParameterError(f"unknown option {wrong[0]!r}; use {', '.join(sorted(fields))}")
        return cls(params=tuple(sorted(params.items())), **settings)

    @classmethod
    def coerce(cls, options: Union[SliceOptions, Mapping[str, Any], None], settings: Mapping[str, Any]) -> SliceOptions:
        """``options`` if it is already a ``SliceOptions`` (with ``settings`` applied), else ``make(options, **settings)``."""
        if isinstance(options, cls):
            return options.replace(**settings) if settings else options
        return cls.make(options, **settings)  # type: ignore[arg-type]

    def replace(self, **changes: Any) -> SliceOptions:
        """A copy with ``changes`` (keywords), checked again."""
        return dataclasses.replace(self, **changes)

    def _put(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        self._put("params", tuple(sorted(_checked_params(dict(self.params)).items())))
        self._check_format()
        self._check_source()
        self._put("mono", bool(self.mono))
        self._level("normalize_dbfs", -120, "a peak level in dBFS", "-1")
        mix = _number("normalize_mix", self.normalize_mix)
        if not 0 < mix <= 1:
            raise _refused("normalize_mix", mix, "must be above 0 and at most 1 (1: plain peak normalization)")
        if self.normalize_dbfs is None and mix != 1.0:
            raise _refused("normalize_mix", mix, "goes with {normalize_dbfs}: give it too", normalize_dbfs=None)
        self._put("normalize_mix", mix)
        if self.highpass_hz is not None:
            value = _number("highpass_hz", self.highpass_hz)
            if not value > 0:
                raise _refused('highpass_hz', value, "must be a frequency above 0 Hz")
            self._put("highpass_hz", value)
        self._check_levels()
        order = _number("highpass_order", self.highpass_order, integer=True)
        if not 1 <= order <= 20:
            raise _refused('highpass_order', order, "must be a whole number from 1 to 20")
        self._put("highpass_order", order)
        if self.name_template is not None and not isinstance(self.name_template, str):
            raise _refused('name_template', self.name_template, "must be a template string")
        self._check_speaker_layout_and_clips()
        layout = self.project
        template = self.name_template if layout is None else layout.template
        if self.file_names not in NAME_RULES:
            raise ParameterError(f"{named('file_names', self.file_names)} must be one of {', '.join(NAME_RULES)}")
        self._put("names", ClipNames(template, ascii_safe=layout is not None and layout.ascii_safe,
                                     portable=self.file_names == "portable"))
        self._check_work()
        self._check_cues_and_detector()

    def _check_format(self) -> None:
        if self.format is None and self.subtype is None:
            return
        if self.format is not None and not isinstance(self.format, str) or \
                self.subtype is not None and not isinstance(self.subtype, str):
            raise ParameterError(f"{named('format', self.format)} and {named('subtype', self.subtype)} "
                                 "must be names such as 'FLAC' and 'PCM_24'")
        self._put("format", None if self.format is None else self.format.upper())
        self._put("subtype", None if self.subtype is None else self.subtype.upper())
        from ..writing.formats import check_output_format

        check_output_format(self.format, self.subtype)

    def _check_source(self) -> None:
        """The decoder, the stream, the segment and the clips' rate."""
        if self.decoder not in DECODERS:
            raise _refused('decoder', self.decoder, f"must be one of {', '.join(DECODERS)}")
        if self.stream is not None:
            if _number("stream", self.stream, integer=True) < 0:
                raise _refused('stream', self.stream, "must be an audio stream number: 0, 1, ...")
            self._put("stream", int(self.stream))
            if self.decoder == "sndfile":
                raise _refused("stream", self.stream, "picks a stream through FFmpeg; it does not go with {decoder}",
                               decoder=self.decoder)
        for name in ("start_seconds", "end_seconds"):
            value = getattr(self, name)
            if value is not None:
                value = _number(name, value)
                if value < 0:
                    raise _refused(name, value, "must be a time >= 0 in seconds")
                self._put(name, value)
        if self.start_seconds is not None and self.end_seconds is not None and self.end_seconds <= self.start_seconds:
            raise _refused("end_seconds", self.end_seconds, "must be after {start_seconds}",
                           start_seconds=self.start_seconds)
        if self.sample_rate is not None:
            if _number("sample_rate", self.sample_rate, integer=True) <= 0:
                raise _refused('sample_rate', self.sample_rate, "must be a positive sample rate in Hz")
            self._put("sample_rate", int(self.sample_rate))

    def _check_work(self) -> None:
        """How the work is done: threads, memory bound, block size, overwrite, dry run, storage."""
        rule = "a whole number >= 1 (by default, one per CPU)"
        if self.threads is not None and _number("threads", self.threads, integer=True, rule=rule) < 1:
            raise _refused('threads', self.threads, f"must be {rule}")
        for name in ("hold_bytes", "block_frames"):
            if _number(name, getattr(self, name), integer=True) < 1:
                raise _refused(name, getattr(self, name), "must be a whole number >= 1")
        self._put("overwrite", bool(self.overwrite))
        self._put("dry_run", bool(self.dry_run))
        self._put("storage_options", check_storage_options(self.storage_options))

    def _level(self, name: str, lowest: float, what: str, example: str) -> None:
        """Check the level ``name`` (None, or ``lowest`` .. 0) and keep it as a float."""
        value = getattr(self, name)
        if value is not None:
            value = _number(name, value)
            if not lowest <= value <= 0:
                raise _refused(name, value, f"must be {what} from {lowest} to 0 (e.g. {example})")
            self._put(name, value)

    def _check_levels(self) -> None:
        self._level("loudness_lufs", -70, "an integrated loudness in LUFS", "-23, as fish-speech's guide uses")
        self._level("peak_ceiling_dbfs", -60, "a sample peak in dBFS", "-1")
        if self.normalize_dbfs is not None:
            given = [name for name in ("loudness_lufs", "peak_ceiling_dbfs") if getattr(self, name) is not None]
            if given:
                raise ParameterError(f"{named('normalize_dbfs', self.normalize_dbfs)} sets each clip's peak; it does not "
                                     f"go with {named(given[0], getattr(self, given[0]))}: give one of them")

    @property
    def peak_ceiling(self) -> Optional[float]:
        """The sample peak (dBFS) clips are kept under, or None: ``peak_ceiling_dbfs``, else -1 with ``loudness_lufs``."""
        if self.peak_ceiling_dbfs is not None:
            return self.peak_ceiling_dbfs
        return DEFAULT_PEAK_CEILING if self.loudness_lufs is not None else None

    @property
    def threshold_rule(self) -> Optional[ThresholdRule]:
        """The ``levels.ThresholdRule`` of a threshold ``"auto"`` / ``"auto-N"``, or None for a level in dB."""
        rule: Optional[ThresholdRule] = ThresholdRule.parse(dict(self.params).get("threshold"))
        return rule

    def _check_cues_and_detector(self) -> None:
        rule = self.threshold_rule
        if rule is not None and (self.cues is not None or self.detector != "rms"):
            other = named("cues", self.cues) if self.cues is not None else named("detector", self.detector)
            raise ParameterError(f"threshold={rule.text!r} (--threshold) chooses each input's RMS threshold; {other} "
                                 "decides the cuts without one: leave one of them out")
        if self.cues is not None:
            if not isinstance(self.cues, str) or not self.cues:
                raise _refused('cues', self.cues, "must be a cue file (.srt, .vtt, labels, .csv) or 'auto'")
            if self.cues != "auto" and not os.path.isfile(self.cues):
                raise ParameterError(f"{named('cues', self.cues)}: no such file")
            if self.detector != "rms":
                raise ParameterError(f"{named('cues', self.cues)} cuts where the cues say; it does not go with "
                                     f"{named('detector', self.detector)}")
        if self.snap_ms is not None:
            if self.cues is None:
                raise _refused("snap_ms", self.snap_ms, "moves cues' boundaries: give {cues} too", cues=None)
            value = _number("snap_ms", self.snap_ms)
            if value < 0:
                raise _refused('snap_ms', value, "must be a time >= 0 in ms")
            self._put("snap_ms", value)
        if self.detector not in DETECTORS:
            raise _refused('detector', self.detector, f"must be one of {', '.join(DETECTORS)}")
        if self.detector == "speech":
            from ..cutting.speech import model_path

            model_path()  # the model is there, or a message that says how to install it

    def _check_speaker_layout_and_clips(self) -> None:
        if self.speaker is not None:
            if not isinstance(self.speaker, str) or not self.speaker.strip() or self.speaker != self.speaker.strip() \
                    or "/" in self.speaker or "\\" in self.speaker or self.speaker.startswith(".") or "|" in self.speaker:
                raise ParameterError(f"{named('speaker', self.speaker)} must be a plain name: not empty, no '/', '|' or "
                                     "'\\', not starting with '.', no spaces around it")
            if self.speaker_from_folder:
                raise ParameterError("speaker and speaker_from_folder (--speaker, --speaker-from-folder) exclude each "
                                     "other: give one")
        self._put("speaker_from_folder", bool(self.speaker_from_folder))
        self._put("no_clips", bool(self.no_clips))
        if self.layout is not None:
            self._check_layout()
        if self.no_clips:
            changed = [name for name in ("sample_rate", "normalize_dbfs", "highpass_hz", "format", "subtype", "layout",
                                         "loudness_lufs", "peak_ceiling_dbfs")
                       if getattr(self, name) is not None] + (["mono"] if self.mono else [])
            if changed:
                raise ParameterError(f"no_clips (--no-clips) keeps each clip as a range of its source, so "
                                     f"{', '.join(named(name, getattr(self, name)) for name in changed)} cannot apply; "
                                     "leave them out, or write clips")

    def _check_layout(self) -> None:
        if self.layout not in LAYOUTS:
            raise _refused('layout', self.layout, f"must be one of {', '.join(LAYOUTS)}")
        layout = LAYOUTS[self.layout]
        if self.name_template is not None:
            raise ParameterError(f"{named('layout', self.layout)} names the clips itself ({layout.template!r}); "
                                 "leave out name_template (--name)")
        if (layout.pcm_wav or layout.wav) and self.format not in (None, "WAV"):
            raise ParameterError(f"{named('layout', self.layout)} needs WAV clips; leave out format (--format) "
                                 f"or give WAV, not {self.format!r}")
        if layout.pcm_wav and self.subtype not in (None,) + INTEGER_PCM:
            raise ParameterError(f"{named('layout', self.layout)} needs integer PCM clips (its list step reads "
                                 f"them with Python's wave module); give subtype PCM_16, PCM_24 or PCM_32, not "
                                 f"{self.subtype!r}")

    @property
    def project(self) -> Optional[Layout]:
        """The ``layouts.Layout`` of ``layout``, or None."""
        return None if self.layout is None else LAYOUTS[self.layout]

    def speaker_of(self, source_folder: Optional[str]) -> str:
        """The speaker of an input in ``source_folder``: ``speaker``; or the folder's name with
        ``speaker_from_folder`` or a layout with a folder per speaker; else ``""``."""
        if self.speaker is not None:
            return self.speaker
        if self.speaker_from_folder or (self.project is not None and self.project.by_speaker):
            return str(storage_basename(source_folder.rstrip("/"))) if source_folder else ""
        return ""

    def clip_format(self, input_format: str, input_subtype: Optional[str]) -> tuple[str, str, str]:
        """(format, subtype, extension) of an input's clips: ``formats.output_format``, within the layout's rules."""
        format, subtype = self.format, self.subtype
        layout = self.project
        if layout is not None and (layout.wav or layout.pcm_wav):
            format = "WAV"
            if subtype is None:
                keep = input_subtype if input_subtype in LOSSLESS_SUBTYPES else "FLOAT"
                subtype = keep if not layout.pcm_wav or keep in INTEGER_PCM else "PCM_16"
                if subtype == "PCM_S8":  # WAV holds 8-bit PCM unsigned
                    subtype = "PCM_U8"
        chosen: tuple[str, str, str] = output_format(input_format, input_subtype, format, subtype)
        return chosen

    # -- what the options mean -------------------------------------------------------

    @property
    def slicer_params(self) -> dict[str, Any]:
        """``Slicer``'s keyword arguments (a new dict)."""
        return dict(self.params)


    def identity(self) -> dict[str, Any]:
        """What decides the clips, as plain JSON values: a re-run whose identity (and source) matches
        a marker's may skip the input.  Computed from the declarations: every option that changes
        the clips, under its ``record`` key (``fastslice.settings.declarations``)."""
        identity: dict[str, Any] = {}
        for key, members in declarations.RECORDED_GROUPS.items():
            if self._is_recorded(members):
                values = [self._recorded_value(option) for option in members]
                identity[key] = values[0] if len(values) == 1 else values
        return identity

    def _is_recorded(self, members: tuple[Option, ...]) -> bool:
        when = members[0].when
        if callable(when):
            return bool(when(self))
        if when == ALWAYS:
            return True
        changed = [getattr(self, option.name) != option.default for option in members]
        if when == FIRST_SET:
            return bool(changed[0])
        if when == ANY_SET:
            return any(changed)
        raise ValueError(f"{members[0].name}: unknown 'when' {when!r} in fastslice/declarations.py")

    def _recorded_value(self, option: Option) -> Any:
        return getattr(self, option.name) if option.value is None else option.value(self)


def declarations_of(cls: type = SliceOptions) -> list[Option]:
    """The declaration of each option of ``cls`` (``SliceOptions``), in field order (a derived field, such as
    ``names``, has none)."""
    return [f.metadata[OPTION] for f in dataclasses.fields(cls) if OPTION in f.metadata]


def _checked_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked, the one place they are (each ``SliceOptions`` made, replaced or coerced comes
    here): every name one of ``Slicer``'s parameters, each value by its rule; returned as plain numbers."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ParameterError(f"params: unknown slicer parameter {unknown[0]!r}; use {', '.join(PARAMS)}")
    rule = ThresholdRule.parse(params.get("threshold"))  # "auto", "auto-N" (or a message)
    numbers_ = {name: value for name, value in params.items() if not (name == "threshold" and rule is not None)}
    checked = check_params(**numbers_)
    if "threshold" in numbers_ and checked["threshold"] > 0:  # Slicer takes it (as upstream's): these options do not
        raise _refused("threshold", checked["threshold"], ABOVE_FULL_SCALE)
    # Keep only what was given (a marker lists what the user chose), but as plain numbers.
    kept = {name: checked[name] for name in numbers_}
    if rule is not None:
        kept["threshold"] = rule.text
    return kept

