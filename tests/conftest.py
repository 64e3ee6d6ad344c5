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
