"""How a file is sliced: every option, validated once, in one frozen value.

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
threshold may be ``"auto"`` or ``"auto-N"`` (``fastslice.levels``): each input's own, chosen from
its levels once it has been read (``threshold_rule``; ``slicer(rate, threshold=...)``).
"""
import dataclasses
import functools
import math
import numbers
import os

from .errors import ParameterError
from .formats import LOSSLESS_SUBTYPES, output_format
from .hold import HOLD_BYTES
from .layouts import LAYOUTS
from .levels import FALLBACK_DB, ThresholdRule
from .naming import ClipNames
from .readers import DECODERS
from .slicer import PARAMS, check_params
from .storage import basename as storage_basename
from .storage import check_options as check_storage_options
from .stream import BLOCK_FRAMES

# The command-line flag of each keyword, for messages.
_FLAGS = {
    "format": "--format", "subtype": "--subtype", "decoder": "--decoder", "stream": "--stream",
    "start_seconds": "--start", "end_seconds": "--end", "sample_rate": "--sr", "mono": "--mono",
    "normalize_dbfs": "--normalize", "normalize_mix": "--normalize-mix", "highpass_hz": "--highpass",
    "highpass_order": "--highpass-order", "name_template": "--name", "threads": "--threads",
    "overwrite": "--overwrite", "dry_run": "--dry-run", "speaker": "--speaker",
    "speaker_from_folder": "--speaker-from-folder", "layout": "--layout", "no_clips": "--no-clips",
    "cues": "--cues", "snap_ms": "--snap", "detector": "--detector", "loudness_lufs": "--loudness",
    "peak_ceiling_dbfs": "--peak-ceiling",
}
#: The sample peak (dBFS) a clip brought to a loudness is kept under, unless peak_ceiling_dbfs says otherwise.
DEFAULT_PEAK_CEILING = -1.0
DETECTORS = ("rms", "speech")


# Integer PCM subtypes Python's wave module reads.
INTEGER_PCM = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32")


def _named(name, value):
    flag = _FLAGS.get(name)
    return f"{name}={value!r}" + (f" ({flag})" if flag else "")


def _number(name, value, integer=False, rule=None):
    """``value`` as a Python int or float; ``rule`` is what the message says it must be."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real):
        rule = rule or ("a whole number" if integer else "a number")
        raise ParameterError(f"{_named(name, value)} must be {rule}")
    value = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(value):
        raise ParameterError(f"{_named(name, value)} must be a finite number")
    return value


@dataclasses.dataclass(frozen=True)
class SliceOptions:
    """Everything about how a file is sliced except the file itself (see the module's text).

    Make one with ``SliceOptions.make(params, **settings)`` (or the constructor with keywords);
    ``replace(**changes)`` gives a copy with changes, checked again.
    """

    #: ``Slicer``'s parameters (``threshold``, ``min_length``, ... in dB and ms), as ``(name, value)`` pairs
    params: tuple = ()
    format: str = None
    subtype: str = None
    decoder: str = "auto"
    stream: int = None
    start_seconds: float = None
    end_seconds: float = None
    sample_rate: int = None
    mono: bool = False
    normalize_dbfs: float = None
    normalize_mix: float = 1.0
    highpass_hz: float = None
    highpass_order: int = 5
    #: each clip brought to this integrated loudness (LUFS, ITU-R BS.1770-4; ``fastslice.loudness``), or None
    loudness_lufs: float = None
    #: each clip's sample peak kept at or under this (dBFS) by lowering its gain; None: -1 with loudness_lufs, else none
    peak_ceiling_dbfs: float = None
    name_template: str = None
    threads: int = None
    hold_bytes: int = HOLD_BYTES
    block_frames: int = BLOCK_FRAMES
    overwrite: bool = False
    dry_run: bool = False
    #: the speaker of every input, or None (with ``speaker_from_folder``: each input's folder's name)
    speaker: str = None
    speaker_from_folder: bool = False
    #: a project's folder shape, names and clip format (``fastslice.layouts``), or None
    layout: str = None
    #: write no clip: each is a range of its source in the markers, manifests and exports
    no_clips: bool = False
    #: fsspec's keyword arguments for URLs (``--storage-options``); never shown, never recorded
    storage_options: dict = dataclasses.field(default=None, repr=False, compare=False)
    #: a cue file (subtitles, labels, CSV) to cut one clip per cue, "auto" for each input's own, or None
    cues: str = None
    #: how far (ms) a cue's boundary may move to the quietest frame (None: 300 for subtitles, 0 for labels)
    snap_ms: float = None
    #: what decides silent frames: "rms" (the threshold) or "speech" (Silero VAD, fastslice.speech)
    detector: str = "rms"

    @classmethod
    def make(cls, params=None, **settings):
        """Options from ``Slicer``'s keyword arguments (a dict) and ``slice_file``'s settings."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ParameterError(f"params: unknown slicer parameter {unknown[0]!r}; use {', '.join(PARAMS)}")
        fields = {f.name for f in dataclasses.fields(cls)} - {"params"}
        wrong = sorted(set(settings) - fields)
        if wrong:
            raise ParameterError(f"unknown option {wrong[0]!r}; use {', '.join(sorted(fields))}")
        return cls(params=tuple(sorted(params.items())), **settings)

    @classmethod
    def coerce(cls, options, settings):
        """``options`` if it is already a ``SliceOptions`` (with ``settings`` applied), else ``make(options, **settings)``."""
        if isinstance(options, cls):
            return options.replace(**settings) if settings else options
        return cls.make(options, **settings)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        put("params", tuple(sorted(_checked_params(dict(self.params)).items())))
        if self.format is not None or self.subtype is not None:
            if self.format is not None and not isinstance(self.format, str) or \
                    self.subtype is not None and not isinstance(self.subtype, str):
                raise ParameterError(f"{_named('format', self.format)} and {_named('subtype', self.subtype)} "
                                     "must be names such as 'FLAC' and 'PCM_24'")
            put("format", None if self.format is None else self.format.upper())
            put("subtype", None if self.subtype is None else self.subtype.upper())
            from .formats import check_output_format

            check_output_format(self.format, self.subtype)
        if self.decoder not in DECODERS:
            raise ParameterError(f"{_named('decoder', self.decoder)} must be one of {', '.join(DECODERS)}")
        if self.stream is not None:
            if _number("stream", self.stream, integer=True) < 0:
                raise ParameterError(f"{_named('stream', self.stream)} must be an audio stream number: 0, 1, ...")
            put("stream", int(self.stream))
            if self.decoder == "sndfile":
                raise ParameterError(f"{_named('stream', self.stream)} picks a stream through FFmpeg; it does not go "
                                     "with decoder='sndfile' (--decoder sndfile)")
        for name in ("start_seconds", "end_seconds"):
            value = getattr(self, name)
            if value is not None:
                value = _number(name, value)
                if value < 0:
                    raise ParameterError(f"{_named(name, value)} must be a time >= 0 in seconds")
                put(name, value)
        if self.start_seconds is not None and self.end_seconds is not None and self.end_seconds <= self.start_seconds:
            raise ParameterError(f"{_named('end_seconds', self.end_seconds)} must be after "
                                 f"{_named('start_seconds', self.start_seconds)}")
        if self.sample_rate is not None:
            if _number("sample_rate", self.sample_rate, integer=True) <= 0:
                raise ParameterError(f"{_named('sample_rate', self.sample_rate)} must be a positive sample rate in Hz")
            put("sample_rate", int(self.sample_rate))
        put("mono", bool(self.mono))
        self._level("normalize_dbfs", -120, "a peak level in dBFS", "-1")
        mix = _number("normalize_mix", self.normalize_mix)
        if not 0 < mix <= 1:
            raise ParameterError(f"{_named('normalize_mix', mix)} must be above 0 and at most 1 (1: plain peak "
                                 "normalization)")
        if self.normalize_dbfs is None and mix != 1.0:
            raise ParameterError(f"{_named('normalize_mix', mix)} goes with normalize_dbfs (--normalize)")
        put("normalize_mix", mix)
        if self.highpass_hz is not None:
            value = _number("highpass_hz", self.highpass_hz)
            if not value > 0:
                raise ParameterError(f"{_named('highpass_hz', value)} must be a frequency above 0 Hz")
            put("highpass_hz", value)
        self._check_levels()
        order = _number("highpass_order", self.highpass_order, integer=True)
        if not 1 <= order <= 20:
            raise ParameterError(f"{_named('highpass_order', order)} must be a whole number from 1 to 20")
        put("highpass_order", order)
        if self.name_template is not None and not isinstance(self.name_template, str):
            raise ParameterError(f"{_named('name_template', self.name_template)} must be a template string")
        self._check_speaker_layout_and_clips()
        layout = self.project
        template = self.name_template if layout is None else layout.template
        object.__setattr__(self, "_names", ClipNames(template, ascii_safe=layout is not None and layout.ascii_safe))
        rule = "a whole number >= 1, or None for one per CPU"
        if self.threads is not None and _number("threads", self.threads, integer=True, rule=rule) < 1:
            raise ParameterError(f"{_named('threads', self.threads)} must be {rule}")
        for name in ("hold_bytes", "block_frames"):
            if _number(name, getattr(self, name), integer=True) < 1:
                raise ParameterError(f"{name}={getattr(self, name)!r} must be a whole number >= 1")
        put("overwrite", bool(self.overwrite))
        put("dry_run", bool(self.dry_run))
        put("storage_options", check_storage_options(self.storage_options))
        self._check_cues_and_detector()

    def _level(self, name, lowest, what, example):
        """Check the level ``name`` (None, or ``lowest`` .. 0) and keep it as a float."""
        value = getattr(self, name)
        if value is not None:
            value = _number(name, value)
            if not lowest <= value <= 0:
                raise ParameterError(f"{_named(name, value)} must be {what} from {lowest} to 0 (e.g. {example})")
            object.__setattr__(self, name, value)

    def _check_levels(self):
        self._level("loudness_lufs", -70, "an integrated loudness in LUFS", "-23, as fish-speech's guide uses")
        self._level("peak_ceiling_dbfs", -60, "a sample peak in dBFS", "-1")
        if self.normalize_dbfs is not None:
            given = [name for name in ("loudness_lufs", "peak_ceiling_dbfs") if getattr(self, name) is not None]
            if given:
                raise ParameterError(f"{_named('normalize_dbfs', self.normalize_dbfs)} sets each clip's peak; it does not "
                                     f"go with {_named(given[0], getattr(self, given[0]))}: give one of them")

    @property
    def peak_ceiling(self):
        """The sample peak (dBFS) clips are kept under, or None: ``peak_ceiling_dbfs``, else -1 with ``loudness_lufs``."""
        if self.peak_ceiling_dbfs is not None:
            return self.peak_ceiling_dbfs
        return DEFAULT_PEAK_CEILING if self.loudness_lufs is not None else None

    @property
    def threshold_rule(self):
        """The ``levels.ThresholdRule`` of a threshold ``"auto"`` / ``"auto-N"``, or None for a level in dB."""
        return ThresholdRule.parse(dict(self.params).get("threshold"))

    def _check_cues_and_detector(self):
        put = functools.partial(object.__setattr__, self)
        rule = self.threshold_rule
        if rule is not None and (self.cues is not None or self.detector != "rms"):
            other = _named("cues", self.cues) if self.cues is not None else _named("detector", self.detector)
            raise ParameterError(f"threshold={rule.text!r} (--threshold) chooses each input's RMS threshold; {other} "
                                 "decides the cuts without one: leave one of them out")
        if self.cues is not None:
            if not isinstance(self.cues, str) or not self.cues:
                raise ParameterError(f"{_named('cues', self.cues)} must be a cue file (.srt, .vtt, labels, .csv) or 'auto'")
            if self.cues != "auto" and not os.path.isfile(self.cues):
                raise ParameterError(f"{_named('cues', self.cues)}: no such file")
            if self.detector != "rms":
                raise ParameterError(f"{_named('cues', self.cues)} cuts where the cues say; it does not go with "
                                     f"{_named('detector', self.detector)}")
            if self.no_clips:
                pass  # cues as ranges of the source: fine
        if self.snap_ms is not None:
            if self.cues is None:
                raise ParameterError(f"{_named('snap_ms', self.snap_ms)} moves cues' boundaries; give cues (--cues)")
            value = _number("snap_ms", self.snap_ms)
            if value < 0:
                raise ParameterError(f"{_named('snap_ms', value)} must be a time >= 0 in ms")
            put("snap_ms", value)
        if self.detector not in DETECTORS:
            raise ParameterError(f"{_named('detector', self.detector)} must be one of {', '.join(DETECTORS)}")
        if self.detector == "speech":
            from .speech import model_path

            model_path()  # the model is there, or a message that says how to install it

    def _check_speaker_layout_and_clips(self):
        put = functools.partial(object.__setattr__, self)
        if self.speaker is not None:
            if not isinstance(self.speaker, str) or not self.speaker.strip() or self.speaker != self.speaker.strip() \
                    or "/" in self.speaker or "\\" in self.speaker or self.speaker.startswith(".") or "|" in self.speaker:
                raise ParameterError(f"{_named('speaker', self.speaker)} must be a plain name: not empty, no '/', '|' or "
                                     "'\\', not starting with '.', no spaces around it")
            if self.speaker_from_folder:
                raise ParameterError("speaker and speaker_from_folder (--speaker, --speaker-from-folder) exclude each "
                                     "other: give one")
        put("speaker_from_folder", bool(self.speaker_from_folder))
        put("no_clips", bool(self.no_clips))
        if self.layout is not None:
            if self.layout not in LAYOUTS:
                raise ParameterError(f"{_named('layout', self.layout)} must be one of {', '.join(LAYOUTS)}")
            layout = LAYOUTS[self.layout]
            if self.name_template is not None:
                raise ParameterError(f"{_named('layout', self.layout)} names the clips itself ({layout.template!r}); "
                                     "leave out name_template (--name)")
            if (layout.pcm_wav or layout.wav) and self.format not in (None, "WAV"):
                raise ParameterError(f"{_named('layout', self.layout)} needs WAV clips; leave out format (--format) "
                                     f"or give WAV, not {self.format!r}")
            if layout.pcm_wav and self.subtype not in (None,) + INTEGER_PCM:
                raise ParameterError(f"{_named('layout', self.layout)} needs integer PCM clips (its list step reads "
                                     f"them with Python's wave module); give subtype PCM_16, PCM_24 or PCM_32, not "
                                     f"{self.subtype!r}")
        if self.no_clips:
            changed = [name for name in ("sample_rate", "normalize_dbfs", "highpass_hz", "format", "subtype", "layout",
                                         "loudness_lufs", "peak_ceiling_dbfs")
                       if getattr(self, name) is not None] + (["mono"] if self.mono else [])
            if changed:
                raise ParameterError(f"no_clips (--no-clips) keeps each clip as a range of its source, so "
                                     f"{', '.join(_named(name, getattr(self, name)) for name in changed)} cannot apply; "
                                     "leave them out, or write clips")

    @property
    def project(self):
        """The ``layouts.Layout`` of ``layout``, or None."""
        return None if self.layout is None else LAYOUTS[self.layout]

    def speaker_of(self, source_folder):
        """The speaker of an input in ``source_folder``: ``speaker``; or the folder's name with
        ``speaker_from_folder`` or a layout with a folder per speaker; else ``""``."""
        if self.speaker is not None:
            return self.speaker
        if self.speaker_from_folder or (self.project is not None and self.project.by_speaker):
            return storage_basename(source_folder.rstrip("/")) if source_folder else ""
        return ""

    def clip_format(self, input_format, input_subtype):
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
        return output_format(input_format, input_subtype, format, subtype)

    # -- what the options mean -------------------------------------------------------

    @property
    def slicer_params(self):
        """``Slicer``'s keyword arguments (a new dict)."""
        return dict(self.params)

    @property
    def names(self):
        """The ``naming.ClipNames`` of the template, parsed once."""
        return self._names

    def slicer(self, sample_rate, threshold=None):
        """The ``Slicer`` for a file of ``sample_rate`` (one per rate and process: they are reused), at
        ``threshold`` (dB) if given.  With a threshold rule (``auto``) and none given, the slicer is at
        ``levels.FALLBACK_DB``: its RMS frames are the same whatever the threshold."""
        if threshold is None and self.threshold_rule is not None:
            threshold = FALLBACK_DB
        return _slicer(sample_rate, self.params if threshold is None else self.params_at(threshold))

    def params_at(self, threshold):
        """``params`` (pairs) with the threshold (dB) that a rule chose, as a marker records what cut the clips."""
        return tuple(sorted({**dict(self.params), "threshold": float(threshold)}.items()))

    def identity(self):
        """What decides the clips, as plain JSON values: a re-run whose identity (and source) matches
        a marker's may skip the input."""
        identity = {"params": dict(self.params), "format": self.format, "subtype": self.subtype,
                    "decoder": self.decoder, "stream": self.stream, "segment": [self.start_seconds, self.end_seconds],
                    "sample_rate": self.sample_rate, "mono": self.mono}
        if not self.names.is_default:
            identity["name"] = self.names.template
        if self.normalize_dbfs is not None:
            identity["normalize"] = [self.normalize_dbfs, self.normalize_mix]
        if self.highpass_hz is not None:
            identity["highpass"] = [self.highpass_hz, self.highpass_order]
        if self.loudness_lufs is not None or self.peak_ceiling_dbfs is not None:
            identity["loudness"] = [self.loudness_lufs, self.peak_ceiling]
        if self.layout is not None:
            identity["layout"] = self.layout
        if self.speaker is not None or self.speaker_from_folder:
            identity["speaker"] = [self.speaker, self.speaker_from_folder]
        if self.no_clips:
            identity["no_clips"] = True
        if self.cues is not None:
            identity["cues"] = [self.cues if self.cues == "auto" else os.path.abspath(self.cues), self.snap_ms]
        if self.detector != "rms":
            identity["detector"] = self.detector
        return identity


def _checked_params(params):
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ParameterError(f"params: unknown slicer parameter {unknown[0]!r}; use {', '.join(PARAMS)}")
    rule = ThresholdRule.parse(params.get("threshold"))  # "auto", "auto-N" (or a message)
    numbers_ = {name: value for name, value in params.items() if not (name == "threshold" and rule is not None)}
    checked = check_params(**numbers_)
    # Keep only what was given (a marker lists what the user chose), but as plain numbers.
    kept = {name: checked[name] for name in numbers_}
    if rule is not None:
        kept["threshold"] = rule.text
    return kept


@functools.lru_cache(maxsize=64)
def _slicer(sample_rate, params):
    from .slicer import Slicer

    return Slicer(sample_rate, **dict(params))
