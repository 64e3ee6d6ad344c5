"""slice_file: clips byte for byte what soundfile.write makes of the same samples, in the input's format."""
import numpy as np
import pytest
import soundfile

import signals
from fastslice import FastsliceError, ParameterError
from fastslice.writing import wavcopy
from fastslice.run.files import output_format, slice_file

SR = 16000
PARAMS = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)


@pytest.mark.parametrize(
    "format, subtype, ext",
    [("WAV", "PCM_16", "wav"), ("WAV", "PCM_24", "wav"), ("WAV", "FLOAT", "wav"), ("FLAC", "PCM_24", "flac"),
     ("AIFF", "PCM_16", "aiff"), ("WAV", "PCM_U8", "wav")],
)
def test_clips_are_the_bytes_soundfile_writes(tmp_path, format, subtype, ext):
    x = signals.with_digital_silence(signals.speech_like(1, 30, SR), 1, SR)
    source = tmp_path / f"in.{ext}"
    soundfile.write(source, x.T, SR, subtype=subtype, format=format)
    result = slice_file(source, tmp_path / "out", PARAMS)
    assert len(result.clips) > 3
    for clip in result.clips:
        assert clip.clip.endswith(f".{ext}")
        samples, _ = soundfile.read(source, dtype="float64", always_2d=True, start=clip.start_sample, stop=clip.end_sample)
        reference = tmp_path / f"reference.{ext}"
        soundfile.write(reference, samples, SR, subtype=subtype, format=format)
        if subtype == "FLOAT":  # soundfile.write adds a PEAK chunk stamped with the time; fastslice does not
            assert b"PEAK" in reference.read_bytes() and b"PEAK" not in open(clip.clip, "rb").read()
            got, _ = soundfile.read(clip.clip, dtype="float64", always_2d=True)
            assert np.array_equal(got, samples) and soundfile.info(clip.clip).subtype == "FLOAT"
        else:
            assert reference.read_bytes() == open(clip.clip, "rb").read(), clip.clip


@pytest.mark.parametrize("subtype, channels, title", [
    ("PCM_16", 2, None), ("PCM_16", 1, "a LIST chunk before the data"), ("PCM_24", 1, None), ("PCM_32", 3, None)])
def test_wav_clips_are_copied_by_the_kernel_and_are_the_bytes_soundfile_writes(tmp_path, monkeypatch, subtype, channels, title):
    x = signals.with_digital_silence(signals.speech_like(3, 30, SR, channels=channels), 3, SR)
    x[:, -2 * SR :] = 0.3 * np.sin(np.arange(2 * SR) / 5.0)  # the last clip runs to the end,
    x = x[:, :-1]  # and its length is odd: its 24-bit mono data is padded, so it is not copied
    source = tmp_path / "in.wav"
    with soundfile.SoundFile(source, "w", SR, channels, subtype) as f:
        if title:
            f.title = title
        f.write(x.T)
    copied = []
    real = wavcopy.copy_range
    monkeypatch.setattr(wavcopy, "copy_range", lambda *a: copied.append(a[3]) or real(*a))
    result = slice_file(source, tmp_path / "out", PARAMS, start_seconds=0.37)
    assert len(result.clips) > 3
    odd = [c for c in result.clips if (c.end_sample - c.start_sample) * channels * int(subtype[4:]) // 8 % 2]
    assert bool(odd) == (subtype == "PCM_24")
    assert sum(copied) == sum((c.end_sample - c.start_sample) * channels * int(subtype[4:]) // 8
                              for c in result.clips if c not in odd) > 0
    for clip in result.clips:
        samples, _ = soundfile.read(source, dtype="float64", always_2d=True, start=clip.start_sample, stop=clip.end_sample)
        reference = tmp_path / "reference.wav"
        soundfile.write(reference, samples, SR, subtype=subtype)
        assert reference.read_bytes() == open(clip.clip, "rb").read(), clip.clip


def test_compressed_input_becomes_float_wav_of_its_straight_decode(tmp_path):
    # A lossy decoder gives other samples after a seek; the clips must be the straight decode's.
    x = signals.with_digital_silence(signals.speech_like(2, 20, SR, channels=1), 2, SR)
    source = tmp_path / "in.ogg"
    soundfile.write(source, x.T, SR, format="OGG", subtype="VORBIS")
    result = slice_file(source, tmp_path / "out", PARAMS)
    assert len(result.clips) > 2
    with soundfile.SoundFile(source) as f:  # as librosa.load decodes: from the start, no seek
        decoded = f.read(dtype="float32", always_2d=True)
    for clip in result.clips:
        info = soundfile.info(clip.clip)
        assert (info.format, info.subtype) == ("WAV", "FLOAT")
        got, _ = soundfile.read(clip.clip, dtype="float32", always_2d=True)
        assert np.array_equal(got, decoded[clip.start_sample : clip.end_sample])


def test_mp3_input_is_sliced(tmp_path):
    # libsndfile's MP3 decoding depends on the sizes it is read in (its decoder reports errors on
    # MP3s it wrote itself), so MP3 clips are whole and in place, but not promised bit for bit.
    x = signals.with_digital_silence(signals.speech_like(3, 20, SR, channels=1), 3, SR)
    source = tmp_path / "in.mp3"
    soundfile.write(source, x.T, SR, format="MP3", subtype="MPEG_LAYER_III")
    result = slice_file(source, tmp_path / "out", PARAMS)
    assert len(result.clips) > 2
    for clip in result.clips:
        info = soundfile.info(clip.clip)
        assert (info.format, info.subtype, info.frames) == ("WAV", "FLOAT", clip.end_sample - clip.start_sample)


def test_output_format_rules():
    assert output_format("WAV", "PCM_24") == ("WAV", "PCM_24", "wav")
    assert output_format("OGG", "VORBIS") == ("WAV", "FLOAT", "wav")
    assert output_format("WAV", "PCM_24", format="flac") == ("FLAC", "PCM_24", "flac")  # the input's, where FLAC holds it
    assert output_format("WAV", "FLOAT", format="flac") == ("FLAC", "PCM_24", "flac")  # else FLAC's widest
    assert output_format("OGG", "VORBIS", format="flac") == ("FLAC", "PCM_24", "flac")
    assert output_format("WAV", "PCM_24", subtype="pcm_16") == ("WAV", "PCM_16", "wav")
    with pytest.raises(ParameterError, match=r"subtype='FLOAT' \(--subtype\) cannot be written in format='FLAC'"):
        output_format("WAV", "PCM_16", format="FLAC", subtype="FLOAT")
    with pytest.raises(ParameterError, match="format='NOPE'"):
        output_format("WAV", "PCM_16", format="nope")


def test_an_empty_file_is_an_error_that_names_it(tmp_path):
    source = tmp_path / "silent take.wav"
    soundfile.write(source, np.zeros((0, 2), np.int16), SR)
    with pytest.raises(FastsliceError, match="silent take.wav: holds no audio frames"):
        slice_file(source, tmp_path / "out", PARAMS)


@pytest.mark.parametrize("subtype, dtype", [("PCM_16", "int16"), ("PCM_24", "int32")])
def test_integer_input_into_float_clips_keeps_its_scale(tmp_path, subtype, dtype):
    x = signals.with_digital_silence(signals.speech_like(5, 20, SR), 5, SR)
    source = tmp_path / "in.wav"
    soundfile.write(source, x.T, SR, subtype=subtype)
    result = slice_file(source, tmp_path / "out", PARAMS, subtype="FLOAT")
    assert len(result.clips) > 2
    decoded, _ = soundfile.read(source, dtype="float32", always_2d=True)
    for clip in result.clips:
        got, _ = soundfile.read(clip.clip, dtype="float32", always_2d=True)
        assert soundfile.info(clip.clip).subtype == "FLOAT"
        assert np.array_equal(got, decoded[clip.start_sample : clip.end_sample]), clip.clip
