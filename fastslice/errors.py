"""Exceptions raised by fastslice.  Catch ``FastsliceError`` for all of them."""
from __future__ import annotations


class FastsliceError(Exception):
    """Base class of every error fastslice raises on purpose."""


class ParameterError(FastsliceError, ValueError):
    """A parameter or an input array breaks a rule; the message names it and says the fix."""
