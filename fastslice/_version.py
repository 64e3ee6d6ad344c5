"""fastslice's version (one place: ``pyproject.toml`` is checked against it by ``tests/test_package.py``)."""

__version__ = "0.3.0"
