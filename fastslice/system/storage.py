"""Where inputs and outputs live: local paths, or URLs of object stores through fsspec.

A URL (``s3://bucket/key``, ``gs://...``, ``az://...``, ``https://...``) goes wherever a path
goes.  ``fsspec`` opens it with the filesystem its scheme names (``s3fs`` for ``s3://``:
``pip install 'fastslice[s3]'``; ``gcsfs``, ``adlfs`` as you install them), with the
``storage_options`` given (``--storage-options JSON``) and the usual environment variables for
credentials and endpoints (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ...).  Local paths never
come here: they keep the local code paths.

* reading: ``open_read`` gives a file object that reads ahead in large sequential requests
  (``READ_AHEAD`` bytes each), so an input is fetched once, in order, in bounded memory;
* writing: an object store has no rename, so ``put`` uploads a complete local file under its
  final name in one request (a multipart upload for large ones, which S3 also makes visible
  only when complete): an object is either whole or absent;
* ``listing`` lists a prefix once, into a compact sorted index that answers "which objects
  under this folder start with this name, and how large are they".

Nothing secret leaves this module: ``redact`` removes from a text every credential the
storage options or the environment hold, signed-URL query parameters and passwords in URLs,
and every error raised here has been through it.
"""
from __future__ import annotations

import bisect
import json
import os
import posixpath
import re
import urllib.parse
from typing import IO, Any, Iterator, Mapping

from ..errors import FastsliceError, ParameterError

#: Bytes fetched per request while an input is read (its read-ahead): 4 MiB held 18 MB less than 8 MiB at the same speed.
READ_AHEAD = 4 << 20
_SECRET_KEYS = re.compile(r"(secret|token|password|passwd|credential|key|sas|signature|connection)", re.I)
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
               "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING",
               "GOOGLE_APPLICATION_CREDENTIALS_JSON", "GCS_OAUTH_TOKEN")
_SIGNED_QUERY = re.compile(r"(?<![A-Za-z0-9_])((?:X-Amz-[A-Za-z-]+|X-Goog-[A-Za-z-]+|Signature|AWSAccessKeyId|Expires|sig|se|sp|sv|st|"
                           r"skoid|sktid|skt|ske|sks|skv|token|access_token)=)[^&\s'\"]+", re.I)
_USERINFO = re.compile(r"(\w+://)[^/\s@]+@")


class StorageError(FastsliceError):
    """A request to an object store failed; the message names the object and holds no secret."""


def is_url(path: object) -> bool:
    """Whether ``path`` is a URL fsspec opens (``file://`` and plain paths are local)."""
    return isinstance(path, str) and "://" in path and not path.startswith("file://")


def check_options(storage_options: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """``--storage-options``: a JSON object (or a dict) of keyword arguments for fsspec's filesystem."""
    if storage_options is None:
        return {}
    if isinstance(storage_options, str):
        try:
            storage_options = json.loads(storage_options)
        except ValueError as exc:
            raise ParameterError(f"storage_options (--storage-options) is not JSON ({exc})") from None
    if not isinstance(storage_options, dict):
        raise ParameterError("storage_options (--storage-options) must be a JSON object, e.g. "
                             "'{\"client_kwargs\": {\"endpoint_url\": \"http://127.0.0.1:9000\"}}'")
    return storage_options


def filesystem(url: str, storage_options: Mapping[str, Any]) -> Any:
    """The fsspec filesystem of ``url`` (fsspec keeps one instance per scheme and options)."""
    try:
        import fsspec
    except ImportError:
        raise FastsliceError(f"{public(url)}: URLs need fsspec and the filesystem of their scheme: "
                             "pip install 'fastslice[s3]' (s3fs), or gcsfs, adlfs") from None
    try:
        fs, _ = fsspec.core.url_to_fs(url, **storage_options)
    except (ImportError, ValueError) as exc:
        raise StorageError(redact(f"{public(url)}: cannot open its storage ({exc})", storage_options)) from None
    return fs


def public(url: str) -> str:
    """``url`` without what must stay secret: a password in it, a signed URL's query."""
    if not is_url(url):
        return url
    url = _USERINFO.sub(r"\1", url)
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(query="")) if parts.query else url


def redact(text: object, storage_options: Mapping[str, Any] | None = None) -> str:
    """``text`` with every credential of ``storage_options`` and of the environment replaced by ``***``,
    signed-URL parameters and passwords in URLs removed."""
    out = str(text)
    secrets = [v for v in _secret_values(storage_options or {}) if len(v) >= 4]
    secrets += [os.environ[name] for name in _SECRET_ENV if len(os.environ.get(name, "")) >= 4]
    for secret in sorted(set(secrets), key=len, reverse=True):
        out = out.replace(secret, "***")
    out = _SIGNED_QUERY.sub(r"\1***", out)
    return _USERINFO.sub(r"\1***@", out)


def _secret_values(options: Mapping[str, Any], secret: bool = False) -> Iterator[str]:
    for name, value in options.items():
        is_secret = secret or bool(_SECRET_KEYS.search(str(name)))
        if isinstance(value, dict):
            yield from _secret_values(value, is_secret)
        elif isinstance(value, str) and is_secret:
            yield value


def _failed(what: str, url: str, exc: BaseException, storage_options: Mapping[str, Any] | None) -> StorageError:
    reason = getattr(exc, "strerror", None) or exc
    return StorageError(redact(f"{public(url)}: {what} ({type(exc).__name__}: {reason})", storage_options))


# -- one object at a time -------------------------------------------------------------------------


def info(url: str, storage_options: Mapping[str, Any]) -> tuple[int, str]:
    """``(size, version)`` of an object: its size and a value that changes when it does (ETag, or the
    modification time)."""
    fs = filesystem(url, storage_options)
    try:
        details = fs.info(url)
    except FileNotFoundError:
        raise StorageError(f"{public(url)}: no such object") from None
    except Exception as exc:
        raise _failed("cannot read its details", url, exc, storage_options) from None
    version = details.get("ETag") or details.get("etag") or details.get("mtime") or details.get("LastModified") \
        or details.get("last_modified") or details.get("updated") or ""
    return int(details.get("size") or 0), str(version).strip('"')


def open_read(url: str, storage_options: Mapping[str, Any]) -> IO[bytes]:
    """A binary file object over the object, read ahead in ``READ_AHEAD`` requests (seekable)."""
    fs = filesystem(url, storage_options)
    try:
        file: IO[bytes] = fs.open(url, "rb", block_size=READ_AHEAD, cache_type="readahead")
        return file
    except FileNotFoundError:
        raise StorageError(f"{public(url)}: no such object") from None
    except Exception as exc:
        raise _failed("cannot open it", url, exc, storage_options) from None


def read_bytes(url: str, storage_options: Mapping[str, Any]) -> bytes | None:
    """The object's bytes, or None if there is none."""
    fs = filesystem(url, storage_options)
    try:
        data: bytes = fs.cat_file(url)
        return data
    except FileNotFoundError:
        return None
    except Exception as exc:
        raise _failed("cannot read it", url, exc, storage_options) from None


def put(local: str, url: str, storage_options: Mapping[str, Any]) -> None:
    """Upload the local file ``local`` as the object ``url``: complete, or not at all."""
    fs = filesystem(url, storage_options)
    try:
        fs.put_file(local, url)
    except Exception as exc:
        raise _failed("cannot write it", url, exc, storage_options) from None


def remove(url: str, storage_options: Mapping[str, Any]) -> None:
    """Delete the object (none there is no error)."""
    fs = filesystem(url, storage_options)
    try:
        fs.rm_file(url)
    except FileNotFoundError:
        pass
    except Exception as exc:
        raise _failed("cannot delete it", url, exc, storage_options) from None


def join(folder: str, *names: str) -> str:
    """``folder/name`` for URLs and paths alike."""
    if is_url(folder):
        return "/".join([folder.rstrip("/"), *(n.strip("/") for n in names)])
    return os.path.join(folder, *names)


def relative(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` (both URLs of one store, or both local)."""
    if is_url(path) or is_url(folder):
        return posixpath.relpath(_path_of(path), _path_of(folder))
    return os.path.relpath(path, folder)


def resolve(folder: str, name: str) -> str:
    """``name`` (relative) under ``folder``, normalized, for URLs and paths alike."""
    if is_url(folder):
        scheme, rest = folder.split("://", 1)
        return f"{scheme}://{posixpath.normpath(posixpath.join(rest, name))}"
    return os.path.normpath(os.path.join(folder, name))


def _path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1] if is_url(url) else url


def dirname(url: str) -> str:
    """The folder of a path or URL."""
    return url.rsplit("/", 1)[0] if is_url(url) else os.path.dirname(url)


def basename(url: str) -> str:
    """The last part of a path or URL (a trailing ``/`` of a URL ignored)."""
    return url.rstrip("/").rsplit("/", 1)[-1] if is_url(url) else os.path.basename(url)


# -- many objects -----------------------------------------------------------------------------------


def files_under(url: str, storage_options: Mapping[str, Any], pattern: str | None = None) -> list[tuple[str, int]]:
    """``(url, size)`` of every object under the folder ``url`` (or matching the glob ``pattern``), in
    path order: one listing."""
    fs = filesystem(url, storage_options)
    scheme = url.split("://", 1)[0]
    try:
        found = fs.glob(pattern, detail=True) if pattern else fs.find(url, detail=True)
    except FileNotFoundError:
        return []
    except Exception as exc:
        raise _failed("cannot list it", pattern or url, exc, storage_options) from None
    out: list[tuple[str, int]] = []
    for path, details in sorted(found.items()):
        if details.get("type", "file") == "file":
            full = path if "://" in path else f"{scheme}://{path.lstrip('/')}"
            out.append((full, int(details.get("size") or 0)))
    return out


class Listing:
    """What one listing of an output folder found: sorted names and sizes, looked up by prefix."""

    def __init__(self, found: list[tuple[str, int]]) -> None:
        self._names = [name for name, _ in found]
        self._sizes = [size for _, size in found]

    @classmethod
    def of(cls, url: str, storage_options: Mapping[str, Any]) -> Listing:
        """One listing of the folder ``url``."""
        return cls(files_under(url, storage_options))

    def under(self, prefix: str) -> dict[str, int]:
        """``{url: size}`` of the objects whose URLs start with ``prefix``."""
        first = bisect.bisect_left(self._names, prefix)
        last = bisect.bisect_left(self._names, prefix + "\U0010ffff")
        return dict(zip(self._names[first:last], self._sizes[first:last]))
