"""Atomic file writes: a file appears under its final name complete, or not at all.

Numpy-free and TensorFlow-free, so the deploy side can use it too. Also the SHA-256 of a file, a lock file,
and the replacement of a whole folder.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_writer(path, mode="wb", **open_kwargs):
    """Write to a temporary file beside `path`, fsync it, then rename it over `path`.

    If the block raises (or the process dies), `path` keeps its previous content and the temporary file
    is removed (or, after a kill, left under a `.tmp` name that nothing reads).
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; the file should get the usual permissions
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path, value):
    with atomic_writer(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


@contextlib.contextmanager
def exclusive_lock(path):
    """Hold an exclusive flock on `path` (created if missing): processes that take it take turns."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def move_into_place(source, target):
    """Replace `target` (file or folder) by `source` so that readers see the old or the new one whole."""
    if os.path.isdir(source) and os.path.exists(target):
        stale = tempfile.mkdtemp(dir=os.path.dirname(target), prefix=".replaced-")
        os.rename(target, os.path.join(stale, "old"))
        os.rename(source, target)
        shutil.rmtree(stale)
    else:
        os.replace(source, target)
