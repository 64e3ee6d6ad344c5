"""Exceptions raised by fastslice.  Catch ``FastsliceError`` for all of them."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional


class FastsliceError(Exception):
    """Base class of every error fastslice raises on purpose."""


#: How a message names a parameter: ``(name, value) -> text``, e.g. ``min_interval=300`` in Python or
#: ``--min-interval (300 ms)`` on the command line.
Spelling = Callable[[str, Any], str]


class ParameterError(FastsliceError, ValueError):
    """A parameter or an input array breaks a rule; the message names it and says the fix.

    ``str(error)`` names parameters as Python does (``min_length=-5``): the keyword a caller typed.
    An error about one parameter also carries it in parts, so that the command line can name the
    flag instead (``fastslice.settings.declarations.command_line_message``): ``parameter`` (its keyword),
    ``value``, ``rule`` (what is allowed, e.g. ``"must be at least {min_interval}"``, the other
    parameters it names as ``{keyword}`` fields) and ``refs`` (their values).
    """

    def __init__(self, message: str, *, parameter: Optional[str] = None, value: Any = None,
                 rule: Optional[str] = None, refs: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value
        self.rule = rule
        self.refs: dict[str, Any] = dict(refs or {})

    def spelled(self, subject: Spelling, ref: Spelling) -> Optional[str]:
        """The rule with ``subject(parameter, value)`` before it and each other parameter named by
        ``ref(name, value)``; None for an error not about one parameter."""
        if self.parameter is None or self.rule is None:
            return None
        return f"{subject(self.parameter, self.value)} " + self.rule.format(
            **{name: ref(name, value) for name, value in self.refs.items()})


def python_spelling(name: str, value: Any) -> str:
    """``name=value``: a keyword as a Python caller typed it, with its value."""
    return f"{name}={value!r}"


def refused(parameter: str, value: Any, rule: str, spelling: Spelling = python_spelling,
            **refs: Any) -> ParameterError:
    """The ``ParameterError`` of ``parameter`` (at ``value``) that breaks ``rule`` (its other
    parameters as ``{keyword}`` fields, their values in ``refs``); its message names every
    parameter by ``spelling``."""
    error = ParameterError("", parameter=parameter, value=value, rule=rule, refs=refs)
    message = error.spelled(spelling, spelling)
    error.args = (message,)
    return error


def listed(names: list[str], at_most: int = 10) -> str:
    """``names`` joined by commas, the first ``at_most`` of them, then how many more."""
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")
