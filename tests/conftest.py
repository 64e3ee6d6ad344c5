import numpy as np
import pytest

import oracle


@pytest.fixture(scope="session")
def upstream():
    """The real upstream slicer2 module (audio-slicer==1.0.1)."""
    return oracle.load_upstream()


@pytest.fixture(scope="session")
def legacy():
    """Upstream slicer2 with the older too-short check (so-vits-svc guide, RVC, GPT-SoVITS)."""
    return oracle.load_legacy()


def assert_same_chunks(expected, got):
    """Same number of chunks; each equal bit for bit, shape for shape, dtype for dtype."""
    assert len(got) == len(expected), f"{len(got)} chunks, reference has {len(expected)}"
    for k, (e, g) in enumerate(zip(expected, got)):
        assert g.shape == e.shape, f"chunk {k}: shape {g.shape}, reference {e.shape}"
        assert g.dtype == e.dtype
        assert np.array_equal(g, e, equal_nan=True), f"chunk {k} differs"
