"""Real file systems for the tests: an image file on a loop device, made, mounted and taken down.

``mounted(kind, folder)`` makes a small ``ext4`` or ``exfat`` file system in an image file,
attaches it to a loop device and mounts it (exFAT: the kernel's driver where ``mount -t exfat``
works, else exfat-fuse); it yields the mount point and always unmounts and detaches.  It raises
``Unavailable`` (with the reason) where this machine cannot: not root, a tool missing, no loop
device, no driver.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


class Unavailable(Exception):
    """This machine cannot make or mount the file system (the message says why)."""


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True)


@contextlib.contextmanager
def mounted(kind: str, folder: Path, size_mb: int = 256) -> Iterator[Path]:
    """A fresh ``kind`` ("ext4" or "exfat") file system mounted at ``folder / "mnt"``."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise Unavailable("loop devices and mounts need root on Linux")
    mkfs = {"ext4": "mkfs.ext4", "exfat": "mkfs.exfat"}[kind]
    for tool in ("losetup", mkfs, "mount", "umount"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tool} is not installed")
    image, point = folder / f"{kind}.img", folder / "mnt"
    point.mkdir(parents=True, exist_ok=True)
    with open(image, "wb") as f:
        f.truncate(size_mb << 20)
    attached = _run("losetup", "--find", "--show", str(image))
    if attached.returncode != 0:
        raise Unavailable(f"no loop device: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    mounted_here = False
    try:
        made = _run(mkfs, *(["-q", "-F"] if kind == "ext4" else []), device)
        if made.returncode != 0:
            raise Unavailable(f"{mkfs} failed: {made.stderr.strip()}")
        tries = [["mount", "-t", kind, device, str(point)]]
        if kind == "exfat" and shutil.which("mount.exfat-fuse"):
            tries.append(["mount.exfat-fuse", device, str(point)])
        errors = []
        for command in tries:
            done = _run(*command)
            if done.returncode == 0:
                mounted_here = True
                break
            errors.append(f"{' '.join(command[:3])}: {done.stderr.strip()}")
        if not mounted_here:
            raise Unavailable("cannot mount " + kind + ": " + "; ".join(errors))
        yield point
    finally:
        if mounted_here:
            _run("umount", str(point))
        _run("losetup", "--detach", device)
        image.unlink(missing_ok=True)


def file_system_of(path: Path) -> str:
    """The type of the file system ``path`` is on (``findmnt``), or ``""``."""
    done = _run("findmnt", "-n", "-o", "FSTYPE", "--target", str(path))
    return done.stdout.strip() if done.returncode == 0 else ""
