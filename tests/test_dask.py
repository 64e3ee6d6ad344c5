"""Slicing a library through a real Dask cluster (LocalCluster: worker processes on loopback)."""
import os
import signal
import subprocess
import sys
import threading

import pytest
from runner import fastslice
from test_cli import OPTIONS, PARAMS, write_recording

from fastslice import seams
from fastslice.batch import slice_files

distributed = pytest.importorskip("dask.distributed")  # in the test extra: never skipped in CI

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Ten recordings of 20 s in two folders (read only: every test writes under its own tmp_path)."""
    root = tmp_path_factory.mktemp("dask") / "library"
    for i in range(10):
        write_recording(root / f"part{i // 5}" / f"take{i}.wav", 50 + i, seconds=20)
    return root


def tree(folder):
    """Every clip under folder: relative path -> bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*_[0-9]*.wav"))}


def test_outputs_are_identical_to_a_local_run(cluster, library, tmp_path):
    local = slice_files([library], tmp_path / "local", PARAMS)
    executor = cluster.get_executor(pure=False)
    remote = slice_files([library], tmp_path / "dask", PARAMS, executor=executor)
    assert not local.errors and not remote.errors
    assert tree(tmp_path / "dask") == tree(tmp_path / "local") and len(tree(tmp_path / "local")) > 20
    rows = lambda batch, root: [{**c.row(), "clip": os.path.relpath(c.clip, root)} for c in batch.clips]  # noqa: E731
    assert rows(remote, tmp_path / "dask") == rows(local, tmp_path / "local")  # results came back, in input order
    pids = set(cluster.run(os.getpid).values())
    assert os.getpid() not in pids and len(pids) == 2  # the work ran in the workers


def test_a_worker_killed_mid_run_loses_nothing(library, tmp_path, seam, monkeypatch):
    expected = slice_files([library], tmp_path / "local", PARAMS)
    outcome = []
    # A cluster of its own (the module's is left whole for the other tests), its workers started
    # with the seams folder set: they stop at "worker-task" with a task in hand.
    with seam("worker-task") as task:
        monkeypatch.setenv(seams.ENV, str(task.folder))
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as own, distributed.Client(own) as cluster:
            workers = set(cluster.run(os.getpid).values())
            running = threading.Thread(target=lambda: outcome.append(slice_files(
                [library], tmp_path / "dask", PARAMS, executor=cluster.get_executor(pure=False))), daemon=True)
            running.start()
            try:
                (held,) = task.wait(1)  # a worker has taken a task and is held before slicing it
                assert held in workers
                os.kill(held, signal.SIGKILL)  # the kill hits a worker with a task in hand
            finally:
                task.release()
            running.join(timeout=300)
            assert outcome, "the run did not end"
            batch = outcome[0]
            assert held not in set(cluster.run(os.getpid).values())
    assert not list((tmp_path / "dask").rglob("*.part")), "a half-written clip was left behind"
    finished = {str(r.source) for r in batch.done}
    assert len(finished) + len(batch.errors) == 10  # every file is done or reported
    for error in batch.errors:
        assert "the worker failed" in error
    got, want = tree(tmp_path / "dask"), tree(tmp_path / "local")
    for name, data in got.items():
        assert data == want[name], name  # every clip present is complete and right
    if not batch.errors:
        assert got == want
    assert len(expected.clips) == len(want)


def test_cli_dask_local(library, tmp_path):
    out = tmp_path / "out"
    result = fastslice("slice", library, "-o", out, *OPTIONS, "--dask", "local", "-j", "2", "--manifest", tmp_path / "m.csv", check=0)
    assert "10 files (0 already done, 0 failed)" in result.stderr
    local = tmp_path / "local"
    fastslice("slice", library, "-o", local, *OPTIONS, check=0)
    assert tree(out) == tree(local)


def test_cli_without_dask_says_how_to_get_it(library, tmp_path):
    code = ("import sys; sys.modules['dask'] = None; sys.modules['dask.distributed'] = None; "
            "from fastslice.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "slice", str(library), "-o", str(tmp_path / "o"), "--dask", "local"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "pip install 'fastslice[dask]'" in result.stderr


def test_cli_unreachable_scheduler(library, tmp_path):
    result = fastslice("slice", library, "-o", tmp_path / "o", "--dask", "tcp://127.0.0.1:9")
    assert result.returncode == 2 and "cannot reach the scheduler" in result.stderr


def test_the_projects_options_through_dask(cluster, library, tmp_path):
    # --name with subfolders, --highpass, --normalize with a blend, --sr and --mono, in the workers.
    options = dict(name_template="{stem}/{start:010d}", highpass_hz=48.0, normalize_dbfs=-1.0, normalize_mix=0.75,
                   sample_rate=16000, mono=True)
    local = slice_files([library], tmp_path / "local", PARAMS, **options)
    remote = slice_files([library], tmp_path / "dask", PARAMS, executor=cluster.get_executor(pure=False), **options)
    assert not local.errors and not remote.errors

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.wav"))}

    assert files(tmp_path / "dask") == files(tmp_path / "local") and len(files(tmp_path / "local")) > 20
    assert all("/take" in name and name.count("/") == 2 for name in files(tmp_path / "local"))


def test_workers_in_another_folder_get_absolute_paths(cluster, library, tmp_path, monkeypatch):
    # The workers' working folder is not the caller's: relative inputs and -o must still land here.
    before = cluster.run(os.getcwd)
    cluster.run(os.chdir, "/")
    try:
        (tmp_path / "library").symlink_to(library, target_is_directory=True)
        monkeypatch.chdir(tmp_path)
        remote = slice_files(["library"], "relative", PARAMS, executor=cluster.get_executor(pure=False))
    finally:
        for worker, folder in before.items():
            cluster.run(os.chdir, folder, workers=[worker])
    assert not slice_files([library], tmp_path / "local", PARAMS).errors
    assert not remote.errors and tree(tmp_path / "relative") == tree(tmp_path / "local")
    assert all(os.path.isabs(c.clip) and os.path.isabs(c.source) for c in remote.clips)
