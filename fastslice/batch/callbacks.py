"""What a batch tells its caller as it goes: one ``BatchCallbacks`` value, a method per event.

* ``inputs_expanded(n_inputs, problems)``: once, when the inputs are expanded into jobs;
* ``input_done(index, job, result, error)``: as each input finishes (``result`` None where it failed);
* ``input_progress(index, job, seconds, total_seconds)``: now and then while a long input is read,
  in this process or in fastslice's pool (only where ``follows_progress``: otherwise the readers
  are not asked to report at all).

``BatchCallbacks`` does nothing on any event; a caller overrides what it follows (the command
line's reporter, ``fastslice.cli.slice_command``).  ``KeywordCallbacks`` is the value made of
``slice_files``' keyword callbacks (``on_inputs``, ``on_result`` and ``progress``, ``on_progress``).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ..run.files import FileResult
    from .scan import Job

__all__ = ["BatchCallbacks", "KeywordCallbacks", "OnInputs", "OnResult", "OnProgress", "OnOutcome"]

#: ``on_inputs(n_inputs, problems)``: the inputs are expanded (``slice_files``' keyword).
OnInputs = Callable[[int, list[str]], None]
#: ``on_result(index, job, result, error)``: an input is finished (``result`` None where it failed).
OnResult = Callable[[int, "Job", Optional["FileResult"], Optional[str]], None]
#: ``progress(result, error)``: an input is finished, told without its place (``slice_files``' keyword).
OnOutcome = Callable[[Optional["FileResult"], Optional[str]], None]
#: ``on_progress(index, job, seconds, total_seconds)``: how far a long input has got.
OnProgress = Callable[[int, "Job", float, Optional[float]], None]


class BatchCallbacks:
    """The events of a batch run, one method each, doing nothing here: override those you follow."""

    @property
    def follows_progress(self) -> bool:
        """Whether ``input_progress`` is wanted (False: the readers are not asked to report)."""
        return False

    def inputs_expanded(self, n_inputs: int, problems: list[str]) -> None:
        """The inputs are expanded: ``n_inputs`` jobs, and a message per input set aside."""

    def input_done(self, index: int, job: Job, result: Optional[FileResult], error: Optional[str]) -> None:
        """Input ``index`` is finished: its ``result``, or None and the message of its failure."""

    def input_progress(self, index: int, job: Job, seconds: float, total: Optional[float]) -> None:
        """Input ``index`` has been read up to ``seconds`` of ``total`` (None: not known)."""


@dataclasses.dataclass(frozen=True)
class KeywordCallbacks(BatchCallbacks):
    """``slice_files``' keyword callbacks as one ``BatchCallbacks`` (None: not followed).  An input
    done is told to ``on_result``, then to ``progress``."""

    on_inputs: Optional[OnInputs] = None
    on_result: Optional[OnResult] = None
    progress: Optional[OnOutcome] = None
    on_progress: Optional[OnProgress] = None

    @property
    def follows_progress(self) -> bool:
        """Whether ``on_progress`` was given."""
        return self.on_progress is not None

    def inputs_expanded(self, n_inputs: int, problems: list[str]) -> None:
        """``on_inputs(n_inputs, problems)``."""
        if self.on_inputs is not None:
            self.on_inputs(n_inputs, problems)

    def input_done(self, index: int, job: Job, result: Optional[FileResult], error: Optional[str]) -> None:
        """``on_result(index, job, result, error)``, then ``progress(result, error)``."""
        if self.on_result is not None:
            self.on_result(index, job, result, error)
        if self.progress is not None:
            self.progress(result, error)

    def input_progress(self, index: int, job: Job, seconds: float, total: Optional[float]) -> None:
        """``on_progress(index, job, seconds, total)``."""
        if self.on_progress is not None:
            self.on_progress(index, job, seconds, total)
