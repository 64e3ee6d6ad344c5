"""``--layout PROJECT``: the folder shape, names, clip format and lists a project's own
preprocessing step reads, so that it runs on ``OUT_DIR`` unchanged.

What each project reads was restated from its own code (``tests/test_exports.py`` runs those
readings on a sliced folder):

* **so-vits-svc** (``resample.py``, ``preprocess_flist_config.py``): ``dataset_raw/<speaker>/*.wav``,
  one folder per speaker, not searched further; names are checked against ``[.a-zA-Z0-9_/]``
  (a warning otherwise), so they are spelled in those characters; the list step reads each clip
  with Python's ``wave`` module, which reads integer PCM WAV only, so clips are PCM WAV (float or
  compressed input becomes 16-bit).
* **fish-speech** (``tools/vqgan/extract_vq.py``, ``tools/llama/build_dataset.py``):
  ``<speaker>/<clip>.wav`` with the transcript ``<clip>.lab`` beside it (a clip without one is
  skipped; an empty one is "no text yet").
* **rvc** (``infer/modules/train/preprocess.py``): one flat folder of audio, every entry read
  (``wavs/``: give RVC that folder).
* **gpt-sovits** (``GPT_SoVITS/prepare_datasets``): a flat folder of clips and a ``.list`` of
  ``path|speaker|language|text`` (only each path's base name is used with the audio folder, so
  names are unique across speakers); clips named as its slicer names them.
* **diffsinger** (MakeDiffSinger, DiffSinger's binarizer): ``wavs/<name>.wav`` (WAV only: the
  binarizer adds ``.wav`` to each name) and ``transcriptions.csv`` (``name`` and the labelling
  columns, empty until labelled).

None of these loaders requires a sample rate or channel count (each resamples and mixes down
itself), so clips keep the input's.  The markers and work folders of a layout's clip folders are
kept in ``OUT_DIR/.fastslice/``, so that the folders a project reads hold nothing else.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Layout:
    """One project's layout: where the clips go under OUT_DIR, their names, format and the lists written."""

    name: str
    folder: str  # the clip folder under OUT_DIR, a template over {speaker} ("" is OUT_DIR itself)
    template: str  # the clip names in it (naming.ClipNames)
    ascii_safe: bool = False  # names in [.a-zA-Z0-9_] only
    pcm_wav: bool = False  # clips must be integer PCM WAV
    wav: bool = False  # clips must be WAV
    labs: bool = False  # a .lab transcript beside each clip
    exports: tuple[tuple[str, str], ...] = ()  # (format, path under OUT_DIR) written at the end of a run

    @property
    def by_speaker(self) -> bool:
        """Whether the clip folder depends on the input's speaker."""
        return "{speaker}" in self.folder

    def clip_folder(self, speaker: str) -> str:
        """The clip folder (relative to OUT_DIR) of an input of this speaker."""
        from .clipnames import safe

        return self.folder.format(speaker=safe(speaker) if self.ascii_safe else speaker)


LAYOUTS = {layout.name: layout for layout in (
    Layout("so-vits-svc", "dataset_raw/{speaker}", "{stem}_{i}", ascii_safe=True, pcm_wav=True),
    Layout("fish-speech", "{speaker}", "{stem}_{i}", labs=True),
    Layout("rvc", "wavs", "{stem}_{i}"),
    Layout("gpt-sovits", "wavs", "{stem}_{start:010d}_{end:010d}", exports=(("gpt-sovits", "dataset.list"),)),
    Layout("diffsinger", "wavs", "{stem}_{i}", ascii_safe=True, wav=True,
           exports=(("diffsinger", "transcriptions.csv"),)),
)}
