"""Each option is declared once (fastslice.settings.declarations), and everything derived from the
declarations agrees with them: the SliceOptions fields, the marker's identity, the command
line's flags, the validation messages and the reference table."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re

import pytest

from fastslice import ParameterError, cli
from fastslice.settings import declarations
from fastslice.settings.declarations import BY_NAME, SETTINGS, SLICER
from fastslice.settings.options import OPTION, SliceOptions, declarations_of, options_reference_markdown

# For every option that changes the clips: (settings, the same settings with that option changed).
# A new option that changes the clips must be added here (test_every_clip_changing_option_has_a_variant).
VARIANTS = {
    "params": ({}, {"params": (("threshold", -30.0),)}),
    "format": ({}, {"format": "FLAC"}),
    "subtype": ({}, {"subtype": "PCM_16"}),
    "decoder": ({}, {"decoder": "av"}),
    "stream": ({}, {"stream": 1}),
    "start_seconds": ({}, {"start_seconds": 1.0}),
    "end_seconds": ({}, {"end_seconds": 5.0}),
    "sample_rate": ({}, {"sample_rate": 16000}),
    "mono": ({}, {"mono": True}),
    "normalize_dbfs": ({}, {"normalize_dbfs": -1.0}),
    "normalize_mix": ({"normalize_dbfs": -1.0}, {"normalize_dbfs": -1.0, "normalize_mix": 0.5}),
    "highpass_hz": ({}, {"highpass_hz": 48.0}),
    "highpass_order": ({"highpass_hz": 48.0}, {"highpass_hz": 48.0, "highpass_order": 7}),
    "loudness_lufs": ({}, {"loudness_lufs": -23.0}),
    "peak_ceiling_dbfs": ({"loudness_lufs": -23.0}, {"loudness_lufs": -23.0, "peak_ceiling_dbfs": -3.0}),
    "name_template": ({}, {"name_template": "{stem}/{i:04d}"}),
    "file_names": ({}, {"file_names": "native"}),
    "speaker": ({}, {"speaker": "alice"}),
    "speaker_from_folder": ({}, {"speaker_from_folder": True}),
    "layout": ({}, {"layout": "rvc"}),
    "no_clips": ({}, {"no_clips": True}),
    "cues": ({}, {"cues": "auto"}),
    "snap_ms": ({"cues": "auto"}, {"cues": "auto", "snap_ms": 100.0}),
    "detector": ({}, {"detector": "speech"}),
}
# Options that do not change the clips: (a value other than the default).
OTHERS = {"threads": 2, "hold_bytes": 1 << 20, "block_frames": 4096, "overwrite": True, "dry_run": True,
          "storage_options": {"anon": True}}


def identity_0_3(o):
    """SliceOptions.identity() as fastslice 0.3 wrote it by hand: markers written then must still match."""
    identity = {"params": dict(o.params), "format": o.format, "subtype": o.subtype, "decoder": o.decoder,
                "stream": o.stream, "segment": [o.start_seconds, o.end_seconds], "sample_rate": o.sample_rate,
                "mono": o.mono}
    if not o.names.is_default:
        identity["name"] = o.names.template
    if o.normalize_dbfs is not None:
        identity["normalize"] = [o.normalize_dbfs, o.normalize_mix]
    if o.highpass_hz is not None:
        identity["highpass"] = [o.highpass_hz, o.highpass_order]
    if o.loudness_lufs is not None or o.peak_ceiling_dbfs is not None:
        identity["loudness"] = [o.loudness_lufs, o.peak_ceiling]
    if o.layout is not None:
        identity["layout"] = o.layout
    if o.speaker is not None or o.speaker_from_folder:
        identity["speaker"] = [o.speaker, o.speaker_from_folder]
    if o.no_clips:
        identity["no_clips"] = True
    if o.cues is not None:
        identity["cues"] = [o.cues if o.cues == "auto" else os.path.abspath(o.cues), o.snap_ms]
    if o.detector != "rms":
        identity["detector"] = o.detector
    return identity


def _options(settings):
    try:
        return SliceOptions(**settings)
    except ParameterError as exc:
        if settings.get("detector") == "speech":  # the speech model is an optional extra
            pytest.skip(f"speech detector not installed: {exc}")
        raise


def test_every_field_has_one_declaration():
    derived = [f.name for f in dataclasses.fields(SliceOptions) if not f.init]
    assert derived == ["names"], "the one field not given: the clip names the options derive"
    fields = [f for f in dataclasses.fields(SliceOptions) if f.init]
    missing = [f.name for f in fields if OPTION not in f.metadata]
    assert not missing, f"SliceOptions fields without a declaration in fastslice/declarations.py: {missing}"
    assert [o.name for o in declarations_of()] == [f.name for f in fields]
    assert [o.name for o in SETTINGS] == [f.name for f in fields], "SETTINGS lists the fields, in their order"
    for field in fields:
        assert field.metadata[OPTION] is BY_NAME[field.name]
        assert field.default == BY_NAME[field.name].default, field.name


def test_the_clip_names_are_derived_when_the_options_are_made_and_travel_with_them():
    import pickle

    options = SliceOptions.make({"threshold": -30}, name_template="{stem}/{i:04d}", file_names="native")
    assert options.names.template == "{stem}/{i:04d}" and not options.names.portable
    assert ", names=" not in repr(options)
    same = SliceOptions.make({"threshold": -30}, name_template="{stem}/{i:04d}", file_names="native")
    assert same == options and hash(same) == hash(options) and same.names is not options.names
    sent = pickle.loads(pickle.dumps(options))  # as a worker process receives them
    assert sent == options and sent.names.template == options.names.template and not sent.names.portable
    changed = options.replace(name_template="{i}", file_names="portable")
    assert changed.names.template == "{i}" and changed.names.portable
    assert SliceOptions(layout="rvc").names.template == SliceOptions(layout="rvc").project.template
    with pytest.raises(ParameterError, match="unknown option 'names'"):
        SliceOptions.make(names=None)


def test_the_slicers_parameters_are_declared_with_its_defaults():
    from fastslice.cutting.slicer import PARAMS, check_params

    assert sorted(o.name for o in SLICER) == sorted(PARAMS)
    defaults = {name: p.default for name, p in inspect.signature(check_params).parameters.items()}
    for option in SLICER:
        assert option.default == defaults[option.name], option.name
    assert cli.CLI_DEFAULTS == {"threshold": -40.0, "min_length": 5000, "min_interval": 300, "hop_size": 10,
                                "max_sil_kept": 500}  # upstream slicer2.py main()


def test_defaults_declared_as_numbers_are_the_modules_constants():
    from fastslice.rendering.samples import HOLD_BYTES
    from fastslice.cutting.ranges import BLOCK_FRAMES

    assert SliceOptions().hold_bytes == HOLD_BYTES
    assert SliceOptions().block_frames == BLOCK_FRAMES


def test_every_clip_changing_option_has_a_variant():
    changing = {o.name for o in SETTINGS if o.changes_clips}
    assert set(VARIANTS) == changing, f"add to VARIANTS: {sorted(changing - set(VARIANTS))}"
    assert set(OTHERS) == {o.name for o in SETTINGS if not o.changes_clips}
    assert all(o.record is not None for o in SETTINGS if o.changes_clips)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_an_option_that_changes_the_clips_changes_the_identity(name):
    base, changed = VARIANTS[name]
    a, b = _options(base), _options(changed)
    assert getattr(a, name) != getattr(b, name)
    assert a.identity() != b.identity(), f"{name} changes the clips but not the marker's identity"


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_an_option_that_does_not_change_the_clips_leaves_the_identity(name):
    assert SliceOptions(**{name: OTHERS[name]}).identity() == SliceOptions().identity()


def _combinations(tmp_path):
    cue_file = tmp_path / "talk.srt"
    cue_file.write_text("1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    yield {}
    for base, changed in VARIANTS.values():
        yield base
        yield changed
    yield {"layout": "so-vits-svc"}
    yield {"layout": "so-vits-svc", "speaker": "bob"}
    yield {"layout": "fish-speech", "speaker_from_folder": True, "subtype": "PCM_24"}
    yield {"peak_ceiling_dbfs": -3.0}
    yield {"highpass_order": 7}  # without highpass_hz: no filter, nothing recorded
    yield {"name_template": "{stem}_{i}"}
    yield {"cues": str(cue_file), "snap_ms": 0}
    yield {"params": (("min_length", 4000), ("threshold", "auto"))}
    yield {"start_seconds": 2, "end_seconds": 9.5, "sample_rate": 22050, "mono": True, "loudness_lufs": -20,
           "format": "flac", "threads": 3, "overwrite": True}
    yield {"no_clips": True, "speaker": "carol", "cues": "auto"}


def test_the_identity_is_the_one_markers_already_hold(tmp_path):
    for settings in _combinations(tmp_path):
        if settings.get("detector") == "speech":
            continue
        options = SliceOptions(**settings)
        if settings.get("file_names") == "native":  # newer than 0.3: recorded only when not the default
            assert options.identity() == {**identity_0_3(options), "names": "native"}, settings
            continue
        assert options.identity() == identity_0_3(options), settings


def _parsers():
    return cli.subcommands(cli.build_parser())


def _declared_actions(parser):
    """The declared flags' actions by keyword; the hidden ones (slicer2.py's spellings) must be exactly those."""
    hidden = {action.dest: action.option_strings for action in parser._actions
              if action.dest in BY_NAME and action.help == argparse.SUPPRESS}
    assert hidden == {name: [flag] for name, flag in declarations.SLICER2_SPELLINGS.items() if name in hidden}
    return {action.dest: action for action in parser._actions
            if action.dest in BY_NAME and action.help != argparse.SUPPRESS}


def test_slices_flags_are_the_declarations():
    actions = _declared_actions(_parsers()["slice"])
    flagged = {o.name for o in SLICER + SETTINGS if o.flag is not None}
    assert set(actions) == flagged, "every declared flag is on `fastslice slice`, and nothing else by its names"
    for name, action in actions.items():
        option = BY_NAME[name]
        assert action.option_strings == [option.flag], name
        assert action.help.startswith(option.help), name
        if option.is_switch:
            assert isinstance(action, argparse._StoreTrueAction), name
        else:
            assert action.default == option.command_line_default, name
            assert tuple(action.choices) == option.choices if option.choices else action.choices is None


@pytest.mark.parametrize("command", ["analyze", "tune", "demo"])
def test_other_commands_share_the_declared_flags(command):
    for name, action in _declared_actions(_parsers()[command]).items():
        option = BY_NAME[name]
        assert action.option_strings == [option.flag], name
        if not option.is_switch:
            assert action.default == option.command_line_default, name
    assert set(declarations.SLICER_FLAGS) <= set(_declared_actions(_parsers()[command]))


def test_a_command_line_gives_the_options_it_declares():
    from fastslice.cli.slice_command import slice_options

    args = cli.build_parser().parse_args([
        "slice", "in.wav", "-o", "out", "--min-length", "4000", "--threshold", "-35.5", "--sr", "16000", "--mono",
        "--highpass", "48", "--highpass-order", "4", "--name", "{stem}-{i}", "--start", "1", "--end", "20",
        "--speaker", "dana", "--decoder", "sndfile", "--threads", "2", "--overwrite",
    ])
    expected = SliceOptions.make(
        {"threshold": -35.5, "min_length": 4000, "min_interval": 300, "hop_size": 10, "max_sil_kept": 500},
        sample_rate=16000, mono=True, highpass_hz=48.0, highpass_order=4, name_template="{stem}-{i}",
        start_seconds=1.0, end_seconds=20.0, speaker="dana", decoder="sndfile", threads=2, overwrite=True)
    assert slice_options(args) == expected


@pytest.mark.parametrize("settings, words", [
    ({"sample_rate": -1}, "sample_rate=-1 (--sr)"),
    ({"start_seconds": -2.0}, "start_seconds=-2.0 (--start)"),
    ({"highpass_order": 50}, "highpass_order=50 (--highpass-order)"),
    ({"normalize_mix": 0.5}, "normalize_mix=0.5 (--normalize-mix)"),
    ({"decoder": "ffmpeg"}, "decoder='ffmpeg' (--decoder)"),
    ({"snap_ms": 5.0}, "snap_ms=5.0 (--snap)"),
    ({"block_frames": 0}, "block_frames=0 must"),
])
def test_messages_name_the_keyword_and_its_declared_flag(settings, words):
    with pytest.raises(ParameterError, match=re.escape(words)):
        SliceOptions(**settings)


def test_the_reference_table_lists_every_option():
    text = options_reference_markdown()
    assert text == declarations.options_reference_markdown()
    for option in SLICER + SETTINGS:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{option.name}` |")), None)
        assert row is not None, option.name
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert cells[1] == (f"`{option.flag}`" if option.flag else "")
        assert cells[2] == option.unit
        assert cells[4] == ("yes" if option.changes_clips else "no")
    assert "| option | flag | unit | default | changes the clips | help |" in text
