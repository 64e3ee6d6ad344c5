"""A newcomer's first mistakes on the command line: each bad parameter named by its flag with the
rule and the value given, a threshold above full scale refused, a bad value in one line with the
way to --help, and slicer2.py's spellings of the flags taken."""
from __future__ import annotations

import re
import sys

import pytest
import soundfile

import signals
from fastslice import ParameterError, Slicer
from fastslice.cli import build_parser, main, subcommands
from fastslice.settings.declarations import SLICER2_SPELLINGS, flag_of, slicer_params_of
from fastslice.settings.options import SliceOptions
from runner import fastslice

SR = 16000


@pytest.mark.parametrize("extra, message", [
    (["--threshold", "nan"], "--threshold must be a finite number; got nan"),
    (["--min-length", "-5"], "--min-length must be at least 0 ms and at least --min-interval (300 ms); got -5"),
    (["--min-interval", "5"], "--min-interval must be at least --hop-size (10 ms): a silence is measured in frames "
                              "of the hop; got 5"),
    (["--hop-size", "0"], "--hop-size must be more than 0 ms; got 0"),
    (["--max-sil-kept", "5"], "--max-sil-kept must be at least --hop-size (10 ms); got 5"),
    (["--max-sil-kept", "1e15"], "--max-sil-kept is 100000000000000 frames of --hop-size (10 ms); at most 16777216 "
                                 "are allowed"),
    (["--max-length", "100"], "--max-length must be at least --min-length (5000 ms): shorter clips are kept whole"),
    (["--merge-short"], "--merge-short merges clips up to --max-length: give it too"),
    (["--sr", "-8000"], "--sr must be a positive sample rate in Hz; got -8000"),
    (["--start", "5", "--end", "2"], "--end must be after --start (5 s); got 2"),
    (["--normalize", "-1", "--normalize-mix", "2"], "--normalize-mix must be above 0 and at most 1"),
    (["--normalize-mix", "0.5"], "--normalize-mix goes with --normalize: give it too; got 0.5"),
    (["--highpass-order", "0"], "--highpass-order must be a whole number from 1 to 20; got 0"),
    (["--threads", "0"], "--threads must be a whole number >= 1 (by default, one per CPU); got 0"),
    (["--snap", "20"], "--snap moves cues' boundaries: give --cues too; got 20"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("--") and " " not in v else None)
def test_each_parameter_error_names_the_flag_the_rule_and_the_value(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert main(["slice", str(tmp_path / "a.wav"), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert err == f"fastslice: {message}" + err[len("fastslice: ") + len(message):]  # the message, from its start
    assert err.count("\n") == 1 and not re.search(r"\w=\S", err), err  # one line; no Python keyword=value
    assert not out.exists()


def test_the_python_api_keeps_the_keywords_its_callers_typed():
    with pytest.raises(ParameterError, match=r"^min_length=-5 must be >= min_interval=300 \(ms\)$"):
        Slicer(SR, min_length=-5)
    with pytest.raises(ParameterError, match=r"^min_length=-5 must be >= min_interval=300 \(ms\)$"):
        SliceOptions.make({"min_length": -5})
    with pytest.raises(ParameterError, match=r"^sample_rate=-1 \(--sr\) must be a positive sample rate in Hz$"):
        SliceOptions.make(sample_rate=-1)


def test_tune_names_the_flags_too(tmp_path, capsys):
    assert main(["tune", str(tmp_path / "a.wav"), "--min-length", "100"]) == 2
    assert capsys.readouterr().err == "fastslice: --min-length must be at least 0 ms and at least --min-interval " \
                                      "(300 ms); got 100\n"


def test_a_threshold_above_full_scale_is_refused_before_any_work(tmp_path):
    source = tmp_path / "talk.wav"
    soundfile.write(source, signals.speech_like(3, 8, SR).T, SR, subtype="PCM_16")
    out = tmp_path / "out"
    done = fastslice("slice", source, "-o", out, "--threshold", "10")
    assert done.returncode == 2, done.stderr
    assert "argument --threshold: 10 must be at most 0 dB: levels are relative to full scale (0 dBFS)" in done.stderr
    assert "no clip would be written" in done.stderr and len(done.stderr.splitlines()) == 2
    assert not out.exists()
    # slice_file's and slice_files' options refuse it too; 0 dB itself is a level (full-scale audio is sound)
    with pytest.raises(ParameterError, match=r"^threshold=10\.0 \(--threshold\) must be at most 0 dB"):
        SliceOptions.make({"threshold": 10.0})
    assert dict(SliceOptions.make({"threshold": 0}).params) == {"threshold": 0}
    # Slicer stays upstream's drop-in: it takes any threshold (and then finds no clip to cut)
    assert Slicer(SR, threshold=10).threshold == 10


@pytest.mark.parametrize("extra, error", [
    (["--threshold", "abc"], "argument --threshold: 'abc' must be a level in dB (e.g. -40), 'auto'"),
    (["--min-length", "abc"], "argument --min-length: invalid float value: 'abc'"),
    (["--decoder", "gst"], "argument --decoder: invalid choice: 'gst'"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["--max_length", "9000"], "unrecognized arguments: --max_length (did you mean --max-length?) 9000"),
])
def test_a_bad_value_is_one_line_and_the_way_to_help(tmp_path, capsys, extra, error):
    with pytest.raises(SystemExit) as exited:
        main(["slice", str(tmp_path / "a.wav"), "-o", str(tmp_path / "out"), *extra])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"fastslice slice: error: {error}"), lines
    assert lines[1] == "(see fastslice slice --help)"


def test_a_missing_command_points_to_help(capsys):
    with pytest.raises(SystemExit):
        main([])
    assert capsys.readouterr().err.splitlines()[1] == "(see fastslice --help)"


@pytest.mark.parametrize("name", sorted(SLICER2_SPELLINGS))
def test_slicer2_spellings_are_the_same_flags(name):
    parser = build_parser()
    value = "-33" if name == "threshold" else "77"
    base = ["slice", "a.wav", "-o", "out"]
    ours = slicer_params_of(parser.parse_args([*base, flag_of(name), value]))
    theirs = slicer_params_of(parser.parse_args([*base, SLICER2_SPELLINGS[name], value]))
    assert theirs == ours and ours[name] == float(value)
    for command in ("analyze", "tune", "demo"):  # every command with the slicer's flags
        assert SLICER2_SPELLINGS[name] in subcommands(parser)[command]._option_string_actions
    helped = subcommands(parser)["slice"].format_help()
    assert helped.count(SLICER2_SPELLINGS[name]) == 1  # named once, in the note at the end


def test_slicer2_command_line_spelling_slices_as_ours(tmp_path):
    source = tmp_path / "talk.wav"
    soundfile.write(source, signals.with_digital_silence(signals.speech_like(5, 30, SR), 5, SR).T, SR, subtype="PCM_16")
    ours = ["--threshold", "-35", "--min-length", "2000", "--min-interval", "300", "--hop-size", "10",
            "--max-sil-kept", "300"]
    theirs = ["--db_thresh", "-35", "--min_length", "2000", "--min_interval", "300", "--hop_size", "10",
              "--max_sil_kept", "300"]
    runs = [fastslice("slice", source, "-o", tmp_path / f"out{i}", "-q", *flags, check=0) for i, flags in
            enumerate((ours, theirs))]
    assert all(run.returncode == 0 for run in runs)
    clips = [sorted((p.name, p.read_bytes()) for p in (tmp_path / f"out{i}").glob("*.wav")) for i in range(2)]
    assert len(clips[0]) > 2 and clips[0] == clips[1]


def test_the_command_line_runs_as_a_process_with_status_2():
    import subprocess

    done = subprocess.run([sys.executable, "-m", "fastslice", "slice", "x.wav", "-o", "out", "--hop-size", "x"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 2 and "usage:" not in done.stderr
