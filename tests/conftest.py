"""What the test modules share: the upstream oracle, the test seams, and the markers that set
slow, browser, server and cluster tests apart (the command-line runners are in ``runner.py``).

Markers (registered in pyproject.toml): a test is marked ``browser``, ``server`` or ``cluster``
by the fixtures it uses (``browser``; ``s3``, ``counted_s3``; ``cluster``) or by its module's
``pytestmark``; ``slow`` by the module or the test itself.  ``-m 'not slow'`` gives a quick run.

Start methods: ``FASTSLICE_START_METHOD=spawn python -m pytest ...`` runs every pool of the
session (in the tests' own process and in every ``fastslice`` they start, which inherit the
variable) with spawn, Windows' and macOS's start method.  The Dask clusters the tests start keep
Dask's own method, spawn, in every run: Dask forking this process (which runs the clusters' and
servers' threads) hangs, and a forkserver started before a test sets ``FASTSLICE_SEAMS`` gives
its workers the environment of before.  The header of the run says which method is in effect.
"""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import oracle
from fastslice.batch import pool
from fastslice.errors import ParameterError
from fastslice.seams import Seam

#: fixtures that make a test need something beyond Python: the marker each one gives
MARKED_BY_FIXTURE = {"browser": "browser", "s3": "server", "counted_s3": "server", "cluster": "cluster"}

#: modules whose every test is slow (servers, clusters, compilers in fresh processes)
# Modules that need POSIX throughout (pty, /proc, SIGKILL and SIGSTOP, loop mounts, fork taken
# away on Linux): marked ``posix``, like every test that holds a seam (a named pipe).
POSIX_MODULES = {"test_library", "test_exfat", "test_spawn", "test_lock", "test_special_inputs"}
# test_library imports pty, which Windows lacks: not even collected there.
collect_ignore = ["test_library.py"] if os.name == "nt" else []

SLOW_MODULES = {"test_storage", "test_dask", "test_jit", "test_tune"}

#: other tests that take more than about 5 s on the 2-core reference machine ("module::function")
SLOW_TESTS = {
    "test_cli::test_a_directory_tree_is_mirrored_with_exact_clips",
    "test_cli::test_clips_equal_the_seed_flows_clips",
    "test_compat::test_compat_slicers_match_the_copies_contracts",
    "test_cues::test_analyze_with_the_speech_detector",
    "test_decoding::test_clips_encoded_on_several_threads_are_those_one_writer_writes",
    "test_decoding::test_ffmpeg_blocks_equal_per_frame_decoding",
    "test_formats::test_a_long_mp3_is_sliced_as_a_whole_decode_gives_it",
    "test_formats::test_long_ogg_files_stream_as_libsndfile_decodes_them_whole",
    "test_formats::test_resume_after_kill_is_byte_identical_for_compressed_inputs",
    "test_hardening::test_runs_are_byte_identical",
    "test_highpass::test_a_long_file_is_sliced_as_its_whole_filtered_signal",
    "test_levels::test_auto_gives_every_level_of_a_recording_the_same_cuts_where_a_fixed_threshold_does_not",
    "test_library::test_the_work_per_input_does_not_grow_with_the_number_of_inputs",
    "test_pipeline::test_the_command_lines_threads_option",
    "test_pipeline::test_threads_1_to_8_write_the_same_bytes_on_every_format",
    "test_readme::test_so_vits_svc_walkthrough_runs",
    "test_readme::test_the_projects_slicing_steps_run",
    "test_readme::test_warmup_prints_what_the_readme_shows",
    "test_review::test_flags_catch_the_bad_clips_and_spare_the_good",
    "test_review::test_the_page_in_a_real_browser",
    "test_spawn::test_a_worker_killed_costs_only_its_own_file",
    "test_spawn::test_in_a_notebook_kernel_the_pool_does_not_fork_and_slices_alike",
    "test_spawn::test_ctrl_c_stops_the_workers_and_leaves_no_temporaries",
    "test_spawn::test_without_fork_as_on_windows_j2_gives_the_clips_and_manifest_of_j1",
    "test_spawn::test_workers_load_the_kernels_the_parent_compiled",
    "test_stream::test_stream_equals_in_memory",
    "test_threads::test_long_inputs_really_use_the_threads",
}

#: expensive module fixtures ("module::fixture": long recordings encoded, a cluster started, a
#: page built): under xdist (``--dist loadgroup``) the tests that use one run on one process, so
#: it is made once; the module's other tests are spread freely
GROUPED_FIXTURES = {
    "test_cues::spoken", "test_dask::cluster", "test_decoding::ten_minutes", "test_exports::speakers",
    "test_formats::av_files", "test_formats::long_mp3", "test_highpass::rumbling", "test_levels::talk",
    "test_pipeline::every_format", "test_tune::recording",
}

@pytest.fixture
def seam(tmp_path: Path) -> Iterator[Any]:
    """A factory of held seams in this test's folder: ``with seam("input-done") as held: ...``
    (see ``fastslice.seams.Seam``; processes started with ``held.env`` stop at the point)."""
    folder = tmp_path / "seams"

    def hold(name: str) -> Seam:
        return Seam(folder, name)

    yield hold


@pytest.fixture(scope="session")
def upstream() -> Any:
    """The real upstream slicer2 module (audio-slicer==1.0.1)."""
    return oracle.load_upstream()


@pytest.fixture(scope="session")
def legacy() -> Any:
    """Upstream slicer2 with the older too-short check (so-vits-svc guide, RVC, GPT-SoVITS)."""
    return oracle.load_legacy()


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the processes the tests start.  A run started in the background (``&`` in a
    script, nohup, some CI runners) ignores SIGINT, and a child inherits an ignored signal: the
    tests that press Ctrl-C would then send it to no effect.  A handled one is reset in the child.

    ``FASTSLICE_START_METHOD``, where set, is checked: a method this platform lacks stops the run."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get(pool.START_METHOD_ENV):
        try:
            pool.start_method()
        except ParameterError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str:
    """The start method of fastslice's pools in this run, and whether the environment chose it."""
    chosen = os.environ.get(pool.START_METHOD_ENV)
    how = f"{pool.START_METHOD_ENV}={chosen}" if chosen else "fastslice's rule; set FASTSLICE_START_METHOD to choose"
    try:
        return f"fastslice pool start method: {pool.start_method()} ({how})"
    except ParameterError as exc:
        return f"fastslice pool start method: {exc}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by the fixtures it uses (a browser, a server, a cluster), the slow ones
    ``slow``, those that need POSIX ``posix``, skip those that hold a seam where there are no named pipes, and group those that share an expensive module fixture (``xdist_group``)."""
    no_seams = pytest.mark.skip(reason="the test seams need named pipes (os.mkfifo), which this platform lacks")
    for item in items:
        if "seam" in getattr(item, "fixturenames", ()) and not hasattr(os, "mkfifo"):
            item.add_marker(no_seams)  # Windows: fastslice.seams.reach does nothing there
        for fixture in getattr(item, "fixturenames", ()):
            marker = MARKED_BY_FIXTURE.get(fixture)
            if marker is not None:
                item.add_marker(marker)
        module = item.module.__name__ if getattr(item, "module", None) is not None else ""
        function = getattr(item, "originalname", item.name)
        if module in POSIX_MODULES or "seam" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.posix)
        if module in SLOW_MODULES or f"{module}::{function}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
        for fixture in getattr(item, "fixturenames", ()):
            if f"{module}::{fixture}" in GROUPED_FIXTURES:
                item.add_marker(pytest.mark.xdist_group(f"{module}::{fixture}"))
                break
