"""The test oracle: the real upstream ``slicer2.py`` from PyPI ``audio-slicer==1.0.1``.

The package installs a top-level module named ``src``, so its ``slicer2.py`` is
loaded by file path from the installed files.  ``load_legacy`` builds the older
variant (the so-vits-svc guide's, RVC's and GPT-SoVITS's copies) from the same
upstream source by changing its one differing line, the too-short check.
"""
import importlib.metadata
import importlib.util
import types

import numpy as np

_UPSTREAM_CHECK = "if (samples.shape[0] + self.hop_size - 1) // self.hop_size <= self.min_length:"
_LEGACY_CHECK = "if samples.shape[0] <= self.min_length:"


def upstream_path():
    files = importlib.metadata.files("audio-slicer") or []
    for f in files:
        if str(f).replace("\\", "/").endswith("src/slicer2.py"):
            return f.locate()
    raise RuntimeError("audio-slicer==1.0.1 is installed without src/slicer2.py")


def load_upstream():
    spec = importlib.util.spec_from_file_location("audio_slicer_upstream_slicer2", upstream_path())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_legacy():
    source = open(upstream_path(), encoding="utf-8").read()
    assert source.count(_UPSTREAM_CHECK) == 1, "upstream slicer2.py changed; update the oracle"
    module = types.ModuleType("audio_slicer_legacy_slicer2")
    exec(compile(source.replace(_UPSTREAM_CHECK, _LEGACY_CHECK), "legacy_slicer2.py", "exec"), module.__dict__)
    return module


def assert_same_chunks(expected, got):
    """Same number of chunks; each equal bit for bit, shape for shape, dtype for dtype."""
    assert len(got) == len(expected), f"{len(got)} chunks, reference has {len(expected)}"
    for k, (e, g) in enumerate(zip(expected, got)):
        assert g.shape == e.shape, f"chunk {k}: shape {g.shape}, reference {e.shape}"
        assert g.dtype == e.dtype
        assert np.array_equal(g, e, equal_nan=True), f"chunk {k} differs"
