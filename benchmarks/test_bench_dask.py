"""Throughput through a Dask cluster: ``slice_files(..., executor=client.get_executor())``, 1 vs 2 workers.

The workload is 16 WAV files (16-bit stereo 44.1 kHz, 5 minutes each, capped by
``FASTSLICE_BENCH_SECONDS``), seeded, written once into
``$TMPDIR/fastslice-bench-workloads``.  A ``LocalCluster`` of worker processes on
loopback is started outside the timing and warmed (each worker loads the numba
kernels once); each round then slices the whole folder through it, clips written
by the workers to the shared disk.  The 2-worker test asserts that the clips are
the ones an in-process run writes, byte for byte.

Run::

    pytest benchmarks/test_bench_dask.py -p no:cacheprovider --benchmark-columns=min,median,mean,rounds --benchmark-group-by=group
"""

import pytest

from fastslice.batch import slice_files
from workloads import capped, wav_folder

distributed = pytest.importorskip("dask.distributed")

N_FILES = 16
FILE_SECONDS = capped(300)
PARAMS = dict(threshold=-40, min_length=5000, min_interval=300, hop_size=10, max_sil_kept=500)


@pytest.fixture(scope="session")
def dask_dir():
    return wav_folder("show", N_FILES, FILE_SECONDS, first_seed=2000)


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*_[0-9]*.wav"))}


@pytest.mark.parametrize("workers", [1, 2])
def test_dask_workers(benchmark, workers, dask_dir, tmp_path):
    benchmark.group = f"dask {N_FILES} files x {FILE_SECONDS:g} s"
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            executor = client.get_executor(pure=False)
            slice_files([dask_dir], tmp_path / "warm", PARAMS, executor=executor)  # every worker loads the kernels
            batch = benchmark.pedantic(slice_files, args=([dask_dir], tmp_path / "out", PARAMS),
                                       kwargs={"executor": executor, "overwrite": True}, rounds=3, iterations=1)
    assert not batch.errors
    hours = N_FILES * FILE_SECONDS / 3600
    benchmark.extra_info.update(workers=workers, files=N_FILES, audio_hours=hours, n_clips=len(batch.clips))
    if benchmark.stats:
        benchmark.extra_info["x_realtime"] = hours * 3600 / benchmark.stats.stats.median
    if workers == 2:
        slice_files([dask_dir], tmp_path / "local", PARAMS)
        assert tree(tmp_path / "out") == tree(tmp_path / "local")
