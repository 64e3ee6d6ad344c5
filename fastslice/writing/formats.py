"""The clips' container and sample format: the input's where that is exact, else what is asked.

``output_format(input_format, input_subtype, format=None, subtype=None)`` gives
``(format, subtype, extension)``:

* nothing asked: the input's own container and sample format where libsndfile writes them
  back losslessly (16-bit WAV in, 16-bit WAV out); compressed inputs (MP3, Ogg, ADPCM, ...)
  become 32-bit float WAV, which holds their decoded samples exactly;
* only a container asked (``--format FLAC``): the input's sample format if that container
  holds it (24-bit WAV to 24-bit FLAC), else the container's nearest one: the widest
  integer format it holds for float or wider input (FLAC: ``PCM_24``), its default otherwise;
* both asked: those, checked.
"""
import functools

import soundfile

from ..errors import ParameterError

INTEGER_SUBTYPES = ("PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW")
# Sample formats libsndfile reads and writes back exactly (the reading layer's native dtypes).
LOSSLESS_SUBTYPES = INTEGER_SUBTYPES + ("FLOAT", "DOUBLE")
_WIDEST_FIRST = ("DOUBLE", "FLOAT", "PCM_32", "PCM_24", "PCM_16", "PCM_S8", "PCM_U8")
_EXTENSION = {"WAVEX": "wav", "AIFF": "aiff", "OGG": "ogg", "MPEG": "mp3", "MAT4": "mat", "MAT5": "mat"}


@functools.lru_cache(maxsize=256)
def check_output_format(format=None, subtype=None):
    """Raise ``ParameterError`` unless libsndfile writes ``format`` (and ``subtype`` in it)."""
    if format is None:
        format = "WAV"
    format = format.upper()
    if format not in soundfile.available_formats():
        raise ParameterError(f"format={format!r} (--format) is not one libsndfile writes; choose one of "
                             f"{sorted(soundfile.available_formats())}")
    if subtype is not None and not soundfile.check_format(format, subtype.upper()):
        raise ParameterError(f"subtype={subtype.upper()!r} (--subtype) cannot be written in format={format!r}; "
                             f"choose one of {sorted(soundfile.available_subtypes(format))}")


@functools.lru_cache(maxsize=256)
def output_format(info_format, info_subtype, format=None, subtype=None):
    """(format, subtype, extension) of the clips of an input of ``info_format`` / ``info_subtype``."""
    lossless = info_subtype in LOSSLESS_SUBTYPES and soundfile.check_format(info_format, info_subtype)
    if format is None:
        format, default_subtype = (info_format, info_subtype) if lossless else ("WAV", "FLOAT")
        subtype = subtype or default_subtype
    format = format.upper()
    check_output_format(format, subtype)
    if subtype is None:
        subtype = _nearest_subtype(format, info_subtype if lossless or info_subtype in LOSSLESS_SUBTYPES else "FLOAT")
    subtype = subtype.upper()
    check_output_format(format, subtype)
    return format, subtype, _EXTENSION.get(format, format.lower())


def _nearest_subtype(format, wanted):
    if soundfile.check_format(format, wanted):
        return wanted
    if wanted in _WIDEST_FIRST:
        # the widest the container holds that is no wider than what is wanted, else its widest
        narrower = _WIDEST_FIRST[_WIDEST_FIRST.index(wanted):]
        for candidate in narrower + _WIDEST_FIRST:
            if soundfile.check_format(format, candidate):
                return candidate
    return soundfile.default_subtype(format)
