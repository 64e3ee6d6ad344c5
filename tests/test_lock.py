"""One run per output folder (issue 30): two real runs into one folder, held at seams, never timed.

Run A is held at a seam (``fastslice.seams``) while it holds the folder; run B is started into the
same folder: it refuses and touches nothing, or with ``--wait`` waits (it reaches the seam
"lock-waiting", and holds the lock only once A has finished). A run killed with SIGKILL while it
holds the folder leaves a lock that the next run takes over, sweeping what A half wrote. Every
final folder is compared, byte for byte and file for file (clips, markers, manifest), with one
run's of the same library; a run that exits 0 has every clip its manifest lists.

Also here: the summary line's counts (``N files (D already done, F failed), wrote C clips``).
"""
import csv
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading

import pytest
from runner import fastslice, fastslice_process
from test_cli import OPTIONS, write_recording

from fastslice.batch import lock
from fastslice.batch import BatchResult, slice_files
from fastslice.batch.finish import finish_batch
from fastslice.cli.slice_command import BUSY_STATUS, summary_line

#: The command line, with ``--wait`` added to ``slice`` as fastslice/slice_command.add_wait_flag declares it
#: where fastslice/cli.py does not call that yet (requested from the lead); otherwise ``python -m fastslice``.
CLI_WITH_WAIT = """
import sys
from fastslice import cli
from fastslice.cli.slice_command import add_wait_flag

build = cli.build_parser

def parser():
    built = build()
    cut = cli.subcommands(built)["slice"]
    if "--wait" not in cut._option_string_actions:
        add_wait_flag(cut)
    return built

cli.build_parser = parser
sys.exit(cli.main(sys.argv[1:]))
"""

#: ``slice_files`` in a process of its own: prints the summary's counts, or the error's type and message.
API = """
import json, sys
from fastslice.batch import slice_files
from fastslice.errors import FastsliceError
folder, out, wait = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
try:
    batch = slice_files([folder], out, {"threshold": -35, "min_length": 2000, "min_interval": 300, "hop_size": 10,
                                        "max_sil_kept": 500}, wait=wait)
except FastsliceError as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
    sys.exit(3)
print(json.dumps([batch.n_inputs, batch.n_skipped, batch.n_failed, batch.n_written]))
"""


def cli_process(*args, **kwargs):
    """``fastslice ARGS`` in the background, ``--wait`` understood (see ``CLI_WITH_WAIT``)."""
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-c", CLI_WITH_WAIT, *map(str, args)], text=True, **kwargs)


def api_process(folder, out, wait, **kwargs):
    return subprocess.Popen([sys.executable, "-c", API, str(folder), str(out), json.dumps(wait)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def tree(folder, lock_file=True):
    """Every file under ``folder`` (hidden ones too) and its bytes; ``lock_file=False``: not the lock's."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and (lock_file or p.name != lock.LOCK_NAME)}


def slice_args(folder, out):
    return ("slice", folder, "-o", out, *OPTIONS, "--manifest", out / "clips.csv")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Six recordings, and the folder one run of them into an empty -o gives (every file's bytes)."""
    root = tmp_path_factory.mktemp("lock")
    folder = root / "in"
    for k in range(6):
        write_recording(folder / f"f{k}.wav", 90 + k, seconds=8)
    single = root / "single"
    fastslice(*slice_args(folder, single), check=0)
    made = tree(single)
    assert lock.LOCK_NAME not in made and sum(name.endswith(".wav") for name in made) > 12
    return folder, made


def assert_reported_clips_exist(out):
    """Every input has its marker, every clip a marker lists is there with its bytes, and the manifest
    lists exactly those clips."""
    markers = sorted(out.glob(".*.fastslice.json"))
    assert [p.name for p in markers] == [f".f{k}.fastslice.json" for k in range(6)]
    listed = []
    for marker in markers:
        for row in json.loads(marker.read_text())["clips"]:
            assert (out / row["clip"]).stat().st_size == row["bytes"]
            listed.append(row["clip"])
    assert sorted(row["clip"] for row in csv.DictReader((out / "clips.csv").open())) == sorted(listed)


def test_a_second_run_refuses_and_touches_nothing(tmp_path, library, seam):
    folder, single = library
    out = tmp_path / "out"
    with seam("input-done") as done:
        a = fastslice_process(*slice_args(folder, out), env=done.env)
        assert done.wait(1) == [a.pid]  # A holds the folder, one input committed, five to go
        before = tree(out)
        b = fastslice(*slice_args(folder, out))  # not held at any seam: were it not refused, it would run through
        assert tree(out) == before, "the refused run changed the output folder"
        bounded = cli_process(*slice_args(folder, out), "--wait", "0.5")  # waits half a second, then refuses
        _, bounded_errors = bounded.communicate(timeout=300)
        assert bounded.returncode == BUSY_STATUS and "waiting for it to end (at most 0.5 s)" in bounded_errors
        assert "waited 0.5 s; wait longer (--wait), or let it end first" in bounded_errors
        assert tree(out) == before
        assert a.poll() is None
    _, a_errors = a.communicate(timeout=300)
    assert b.returncode == BUSY_STATUS
    assert (f"error: {out}: another fastslice run is writing into this output folder: process {a.pid} on "
            f"{socket.gethostname()}, since ") in b.stderr
    assert "run this again with --wait to start as soon as it ends" in b.stderr
    assert a.returncode == 0, a_errors
    assert "6 files (0 already done, 0 failed)" in a_errors
    assert_reported_clips_exist(out)
    assert tree(out) == single


def test_a_second_run_with_wait_starts_when_the_first_has_finished(tmp_path, library, seam):
    folder, single = library
    out = tmp_path / "out"
    with seam("input-done") as done, seam("lock-waiting") as waiting:
        a = fastslice_process(*slice_args(folder, out), env=done.env)
        assert done.wait(1) == [a.pid]
        before = tree(out)
        b = cli_process(*slice_args(folder, out), "--wait", env=done.env)
        assert waiting.wait(1) == [b.pid]  # B found the folder taken and waits
        assert tree(out) == before and b.poll() is None
        with seam("lock-taken") as taken:
            waiting.release()  # B waits on the lock itself now
            done.release()  # A slices the other five, writes its manifest, lets go, ends
            assert taken.wait(1) == [b.pid]
            # B holds the folder only now that A's run is complete (B itself held before it writes)
            assert a.wait(timeout=300) == 0
            assert tree(out, lock_file=False) == single
    _, b_errors = b.communicate(timeout=300)
    assert b.returncode == 0, b_errors
    assert f"{out}: another fastslice run is writing into this output folder: process {a.pid}" in b_errors
    assert "waiting for it to end" in b_errors
    assert "6 files (6 already done, 0 failed), wrote 0 clips from 0.000 h of audio" in b_errors
    assert_reported_clips_exist(out)
    assert tree(out) == single


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path, library, seam):
    folder, single = library
    out = tmp_path / "out"
    with seam("clip-writing") as writing:
        a = fastslice_process(*slice_args(folder, out), env=writing.env)
        assert writing.wait(1) == [a.pid]  # a clip half written
        os.kill(a.pid, signal.SIGKILL)
    a.communicate(timeout=60)
    assert a.returncode == -signal.SIGKILL
    assert list((out / ".fastslice.work").glob("*.part")), "the killed run left no half-written clip"
    left = lock.Holder.decode((out / lock.LOCK_NAME).read_bytes()[1:])
    assert left is not None and left.pid == a.pid
    b = fastslice(*slice_args(folder, out))  # no --wait: the dead run's lock is free
    assert b.returncode == 0, b.stderr
    assert f"taken over from a run that ended without finishing (process {a.pid} on" in b.stderr
    assert_reported_clips_exist(out)
    assert tree(out) == single  # A's half-written clip swept, the lock file gone


def test_the_workers_of_a_killed_run_keep_its_folder_until_they_end(tmp_path, library, seam):
    """-j 2, the run killed with SIGKILL while both workers write a clip: the workers (forked ones sharing
    the lock's open file, spawned ones holding a duplicate of it) could still write, so the folder stays locked until they have ended too;
    and they end by themselves, their run being gone."""
    folder, single = library
    out = tmp_path / "out"
    with seam("clip-writing") as writing:
        a = fastslice_process(*slice_args(folder, out), "-j", "2", env=writing.env, stderr=subprocess.DEVNULL)
        workers = writing.wait(2)
        assert a.pid not in workers
        os.kill(a.pid, signal.SIGKILL)
        assert a.wait(timeout=60) == -signal.SIGKILL
        refused = fastslice(*slice_args(folder, out))
        assert refused.returncode == BUSY_STATUS, refused.stderr
        assert f"writing into this output folder: process {a.pid} on" in refused.stderr
        assert "has ended, but processes it started (its -j workers) still hold the folder" in refused.stderr
        # Released, each worker goes on with the clip in hand, finds its run gone, and ends by
        # itself (the file abandoned, its temporaries removed): the folder is free again.
        ends = [os.pidfd_open(pid) for pid in workers]
        writing.release()
        for ended in ends:
            assert select.select([ended], [], [], 120)[0] == [ended]  # an event: the process has ended
            os.close(ended)
    b = fastslice(*slice_args(folder, out))
    assert b.returncode == 0, b.stderr
    assert f"taken over from a run that ended without finishing (process {a.pid} on" in b.stderr
    assert_reported_clips_exist(out)
    assert tree(out) == single


def test_the_python_api_refuses_or_waits(tmp_path, library, seam):
    folder, single = library
    out = tmp_path / "out"
    with seam("input-done") as done, seam("lock-waiting") as waiting:
        a = fastslice_process(*slice_args(folder, out), env=done.env)
        assert done.wait(1) == [a.pid]
        before = tree(out)
        refused = api_process(folder, out, False)
        _, errors = refused.communicate(timeout=300)
        assert refused.returncode == 3 and errors.startswith(f"FolderBusy {out}: another fastslice run"), errors
        assert f"process {a.pid} on" in errors and "with wait=True to start as soon as it ends" in errors
        assert tree(out) == before
        patient = api_process(folder, out, True, env=done.env)
        assert waiting.wait(1) == [patient.pid]
        assert tree(out) == before
        waiting.release()
        done.release()
        assert a.wait(timeout=300) == 0
    counts, errors = patient.communicate(timeout=300)
    assert patient.returncode == 0, errors
    assert json.loads(counts) == [6, 6, 0, 0]  # all six done by A when it started
    assert tree(out) == single


def test_the_lock_is_reentrant_in_a_thread_and_keeps_other_threads_out(tmp_path, library):
    folder, _ = library
    out = tmp_path / "out"
    refused = []

    def other_thread():
        try:
            with lock.lock_folder(out):
                pass
        except lock.FolderBusy as exc:
            refused.append(str(exc))

    with lock.lock_folder(out) as folder_lock:
        assert folder_lock.locked and (out / lock.LOCK_NAME).is_file()
        batch = slice_files([folder / "f0.wav"], out, {"threshold": -35, "min_length": 2000, "hop_size": 10,
                                                        "max_sil_kept": 500})
        done = finish_batch(batch, out, manifest=out / "clips.csv")
        assert batch.n_written > 0 and done.manifest is not None
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert (out / lock.LOCK_NAME).is_file()  # still held: the inner holds let go of nothing
    assert len(refused) == 1 and f"process {os.getpid()}" in refused[0]
    assert not (out / lock.LOCK_NAME).exists()
    with lock.lock_folder(out, wait=True) as again:  # free again
        assert again.locked and again.taken_over is None


def test_a_url_output_and_a_dry_run_take_no_lock(tmp_path, library):
    folder, _ = library
    with lock.lock_folder("s3://bucket/clips") as folder_lock:
        assert not folder_lock.locked
    out = tmp_path / "out"
    dry = []
    with lock.lock_folder(out):  # another thread is another run: a dry run of it is not refused, a run is
        for options in ({"dry_run": True}, {}):
            thread = threading.Thread(target=lambda: dry.append(_try_slice(folder, out, options)))
            thread.start()
            thread.join()
    assert dry[0].n_written > 0 and not list(out.glob("*.wav"))
    assert isinstance(dry[1], lock.FolderBusy)


def _try_slice(folder, out, options):
    try:
        return slice_files([folder / "f0.wav"], out, **options)
    except lock.FolderBusy as exc:
        return exc


# -- the summary's counts -------------------------------------------------------------------------------


def test_the_summary_counts_inputs_done_failed_and_clips_written_now(tmp_path, library):
    folder, _ = library
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k in range(3):
        (inputs / f"f{k}.wav").write_bytes((folder / f"f{k}.wav").read_bytes())
    out = tmp_path / "out"
    first = fastslice("slice", inputs, "-o", out, *OPTIONS, check=0)
    clips = len(list(out.glob("*.wav")))
    assert f"fastslice: 3 files (0 already done, 0 failed), wrote {clips} clips from 0.007 h of audio in " in first.stderr
    again = fastslice("slice", inputs, "-o", out, *OPTIONS, check=0)
    assert "fastslice: 3 files (3 already done, 0 failed), wrote 0 clips from 0.000 h of audio in " in again.stderr
    (inputs / "f2.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage")  # changed: sliced again, and fails
    failing = fastslice("slice", inputs, "-o", out, *OPTIONS)
    assert failing.returncode == 1
    assert "fastslice: 3 files (2 already done, 1 failed), wrote 0 clips from 0.000 h of audio in " in failing.stderr
    one = fastslice("slice", inputs / "f0.wav", "-o", tmp_path / "one", *OPTIONS, check=0)
    n = len(list((tmp_path / "one").glob("*.wav")))
    assert f"fastslice: 1 file (0 already done, 0 failed), wrote {n} clips from 0.002 h of audio in " in one.stderr


def test_the_summary_line_in_the_singular_and_with_inputs_set_aside():
    batch = BatchResult([], [], [], n_inputs=1, n_clips=1, n_written=1, sliced_seconds=3600.0)
    assert summary_line(batch) == "1 file (0 already done, 0 failed), wrote 1 clip from 1.000 h of audio"
    batch = BatchResult([], [], ["a.wav: no such file or folder", "b.wav: cannot read it"], n_inputs=2, n_failed=1,
                        n_skipped=1, n_clips=5)
    assert summary_line(batch, dry_run=True, elapsed=0.5) == (
        "2 files (1 already done, 1 failed), would write 0 clips from 0.000 h of audio in 0.50 s; "
        "1 input not sliced (the errors above)")
