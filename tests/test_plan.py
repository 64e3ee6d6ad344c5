"""The plan of one input, made from the options and a hand-made description of the source: no file."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import ast
from pathlib import Path

import fastslice.run.files
from fastslice import FastsliceError, ParameterError
from fastslice.cutting.cutters import CutRule
from fastslice.cutting.ranges import iter_clip_ranges
from fastslice.cutting.slicer import Slicer, make_slicer
from fastslice.cutting.threshold import FALLBACK_DB
from fastslice.settings.options import SliceOptions
from fastslice.rendering.render import GainRule, HighPassSpec
from fastslice.run.plan import THREADED_FROM, IOSizes, SourceInfo, make_plan

PARAMS = dict(threshold=-35, min_length=2000, min_interval=300, hop_size=10, max_sil_kept=500)
SR = 44100


def wav(frames: int | None = 600 * SR, subtype: str = "PCM_16", channels: int = 2, **kw: object) -> SourceInfo:
    dtype = np.dtype(np.int16 if subtype == "PCM_16" else np.int32 if subtype.startswith("PCM") else np.float32)
    return SourceInfo("talk.wav", SR, channels, frames, kw.pop("format", "WAV"), subtype, dtype, **kw)  # type: ignore[arg-type]


def options(params: dict[str, object] | None = None, **settings: object) -> SliceOptions:
    return SliceOptions.make({**PARAMS, **(params or {})}, **settings)


def test_a_long_pcm_wav_is_copied_byte_for_byte_by_a_writer_thread_and_reread():
    plan = make_plan(options(threads=4), wav(), "path")
    assert (plan.format, plan.subtype, plan.ext) == ("WAV", "PCM_16", "wav")
    assert plan.wav_copy and plan.rereads and plan.reads_alone
    assert (plan.writer, plan.writer_threads, plan.decode_threads) == ("thread", 1, 4)
    assert plan.cutter == "threshold" and plan.by_threshold and plan.output == "clips"
    assert not plan.convert and not plan.as_floats and plan.gain is None and not plan.keeps_partial


def test_flac_clips_are_encoded_on_every_thread_and_one_fewer_decodes():
    plan = make_plan(options(threads=4, format="flac"), wav(), "path")
    assert plan.format == "FLAC" and not plan.wav_copy
    assert (plan.writer, plan.writer_threads, plan.decode_threads) == ("encoders", 4, 3)


def test_a_short_file_writes_on_the_decoding_thread_unless_threads_are_given():
    short = wav(frames=THREADED_FROM * SR)
    assert make_plan(options(), short, "path").writer == "inline"
    assert make_plan(options(threads=2), short, "path").writer == "thread"
    assert make_plan(options(threads=1), wav(), "path").writer == "inline"
    assert make_plan(options(threads=1), wav(), "path").decode_threads == 0


def test_rendering_steps_turn_off_the_byte_copy():
    assert make_plan(options(sample_rate=16000), wav(), "path").convert
    assert not make_plan(options(sample_rate=16000), wav(), "path").wav_copy
    mono = make_plan(options(mono=True), wav(), "path")
    assert mono.convert and mono.out_channels == 1 and not mono.wav_copy
    gain = make_plan(options(normalize_dbfs=-1.0, threads=2), wav(), "path")
    assert gain.gain == GainRule(-1.0, 1.0, None, None) and not gain.wav_copy and gain.reads_alone
    highpass = make_plan(options(highpass_hz=80.0), wav(), "path")
    assert highpass.highpass == HighPassSpec(80.0, 5) and not highpass.rereads and not highpass.wav_copy
    floats = make_plan(options(subtype="FLOAT"), wav(), "path")
    assert floats.as_floats and not floats.wav_copy


def test_pipes_and_urls_keep_or_read_as_they_can():
    pipe = make_plan(options(threads=2), wav(frames=None), "pipe")
    assert pipe.keeps_partial and not pipe.is_path and not pipe.rereads and pipe.decode_threads == 0
    remote = make_plan(options(threads=2), wav(), "remote")
    assert remote.is_path and not remote.rereads and remote.decode_threads == 0


def test_the_cutter_follows_cues_speech_and_auto():
    assert make_plan(options(), wav(), "path", has_cues=True).cutter == "cues"
    assert not make_plan(options(), wav(), "path", has_cues=True).by_threshold
    assert make_plan(options({"threshold": "auto"}), wav(), "path").cutter == "auto"
    assert make_plan(options(detector="speech"), wav(), "path").cutter == "speech"
    assert not make_plan(options(detector="speech"), wav(), "path").by_threshold


def test_dry_runs_and_no_clips_write_nothing():
    assert make_plan(options(dry_run=True), wav(), "path").output == "dry"
    ranges = make_plan(options(no_clips=True), wav(), "path")
    assert ranges.output == "ranges" and ranges.writer == "none"
    with pytest.raises(FastsliceError, match="talk.wav: --no-clips .* a stream cannot be pointed into"):
        make_plan(options(no_clips=True), wav(frames=None), "pipe")


def test_the_segment_and_errors_name_the_source():
    plan = make_plan(options(start_seconds=1.5, end_seconds=3.0), wav(), "path")
    assert (plan.first, plan.stop) == (round(1.5 * SR), 3 * SR)
    with pytest.raises(FastsliceError, match=r"talk.wav: start=700.0 s and end=None s select no audio \(it is 600.000 s long\)"):
        make_plan(options(start_seconds=700.0), wav(), "path")
    with pytest.raises(FastsliceError, match="talk.wav: holds no audio frames"):
        make_plan(options(), wav(frames=0), "path")


def test_the_plan_holds_what_the_stages_read_of_the_options():
    plan = make_plan(options(block_frames=4096, hold_bytes=1 << 20, mono=True, overwrite=True, stream=1,
                             cues="auto", snap_ms=40.0, name_template="{stem}-{i}"), wav(), "path")
    assert plan.io == IOSizes(4096, 1 << 20) and plan.mono and plan.overwrite and plan.audio_stream == 1
    assert plan.cut.snap_ms == 40.0 and plan.cut.detector == "rms" and plan.cut.threshold_rule is None
    assert plan.cut.params == options().params and not plan.cut.merge_short
    assert plan.names is not None and plan.names.template == "{stem}-{i}"
    assert make_plan(options(no_clips=True), wav(), "path").names is None  # a range of the source, no file
    assert make_plan(options({"merge_short": True, "max_length": 10000}), wav(), "path").cut.merge_short


def test_an_automatic_threshold_slices_at_the_fallback_until_it_is_chosen():
    cut = make_plan(options({"threshold": "auto"}), wav(), "path").cut
    assert cut.threshold_rule is not None and dict(cut.params)["threshold"] == "auto"
    assert cut.slicer(SR).threshold == Slicer(SR, **{**PARAMS, "threshold": FALLBACK_DB}).threshold
    assert dict(cut.params_at(-42.5))["threshold"] == -42.5
    assert cut.slicer(SR, threshold=-42.5).threshold == Slicer(SR, **{**PARAMS, "threshold": -42.5}).threshold


def test_one_slicer_factory_one_error_and_nothing_cached(tmp_path):
    assert make_slicer(SR, PARAMS) is not make_slicer(SR, PARAMS)  # a value per input, no shared instance
    message = "params: unknown slicer parameter 'treshold'; use threshold, "
    with pytest.raises(ParameterError, match=message):
        make_slicer(SR, {"treshold": -40})
    with pytest.raises(ParameterError, match=message):
        CutRule((("treshold", -40),)).slicer(SR)
    sf.write(tmp_path / "talk.wav", np.zeros((SR, 1), np.int16), SR)
    with pytest.raises(ParameterError, match=message):
        next(iter_clip_ranges(tmp_path / "talk.wav", treshold=-40))


#: the functions of ``fastslice.run.files`` that run after ``make_plan``: they receive the plan, never the options
AFTER_THE_PLAN = ("slice_open", "_ranges_only", "Stages", "OpenInput", "ClipNamer", "ClipRun", "Reporter",
                  "_check_some_audio", "_result")


def test_nothing_after_make_plan_names_the_options():
    tree = ast.parse(Path(fastslice.run.files.__file__).read_text(encoding="utf-8"))
    named = {node.name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)}
             for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    for name in AFTER_THE_PLAN:
        assert not named[name] & {"options", "opts", "SliceOptions"}, name
