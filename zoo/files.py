"""Atomic file writes: a file appears under its final name complete, or not at all.

Numpy-free and TensorFlow-free, so the deploy side can use it too. Also the SHA-256 of a file, a lock file
(on Linux, macOS and Windows), the replacement of a whole folder, and writes into a shared folder (such as the
hub's cache) that never follow a symbolic link planted there.
"""

import contextlib
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time

from zoo.errors import ZooError

try:
    import fcntl
except ImportError:  # Windows: byte-range locks instead of flock
    fcntl = None
    import msvcrt

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


#: Windows locks a byte range, and its locks are mandatory: a locked byte cannot be read by anyone else. The
#: byte locked is far past the end of any lock file (locking past the end is allowed), so that what a lock
#: file says (training's names its holder) stays readable while it is held.
WINDOWS_LOCK_OFFSET = 1 << 30
#: how often a Windows lock that is held elsewhere is tried again (msvcrt cannot wait without giving up)
WINDOWS_LOCK_POLL_SECONDS = 0.05


def try_lock(handle, shared=False):
    """Lock the open file `handle` without waiting: True if taken, False if another handle holds it.

    An advisory lock that the system releases when the handle is closed or the process ends, however it
    ends: flock on Linux and macOS; on Windows a lock of one byte (msvcrt.locking), where `shared` has no
    meaning (every lock is exclusive: one who only looks holds it a moment).
    """
    if fcntl is not None:
        try:
            fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    try:
        _at_lock_byte(handle, msvcrt.LK_NBLCK)
    except OSError as error:  # msvcrt says EACCES (or EDEADLOCK) for a byte locked by another handle
        if error.errno not in (errno.EACCES, errno.EDEADLOCK):
            raise
        return False
    return True


def lock(handle):
    """Lock the open file `handle`, waiting as long as another handle holds it."""
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return
    while not try_lock(handle):
        time.sleep(WINDOWS_LOCK_POLL_SECONDS)


def unlock(handle):
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
    else:
        _at_lock_byte(handle, msvcrt.LK_UNLCK)


def _at_lock_byte(handle, mode):
    """msvcrt.locking(mode) of the lock byte; it locks from the file position, which is put back after."""
    fd = handle.fileno()
    position = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(fd, mode, 1)
    finally:
        os.lseek(fd, position, os.SEEK_SET)


@contextlib.contextmanager
def exclusive_lock(path, follow_symlinks=True):
    """Hold an exclusive lock (`lock`) on `path` (created if missing): processes that take it take turns.

    follow_symlinks=False: a lock file that is a symbolic link (or anything but a regular file) is refused
    with UnsafePathError instead of being created or opened wherever it points.
    """
    if follow_symlinks:
        handle = open(path, "a")
    else:
        handle = os.fdopen(open_regular_file(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND), "a")
    with handle:
        lock(handle)
        try:
            yield
        finally:
            unlock(handle)


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


class UnsafePathError(ZooError):
    """A symbolic link, or something else that is not ours, where a file or folder of ours belongs: in a
    shared folder that can only be a mistake or an attack, so it is never written through."""


def make_folders(root, *names):
    """The folder root/names[0]/names[1]/..., made where missing, each of `names` a real folder.

    `root` may be a symbolic link (a cache moved to another disk); below it, a link or a file where a
    folder belongs is refused with UnsafePathError, so that nothing is written outside `root`.
    """
    os.makedirs(root, exist_ok=True)
    path = root
    for name in names:
        path = os.path.join(path, name)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path)
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise UnsafePathError(f"{path} is {_what_is_at(path)} where a folder belongs: refused; remove it")
    return path


def regular_file_stat(path):
    """os.lstat(path) if `path` is a regular file, None if nothing is there; a symbolic link, a folder or
    anything else is refused with UnsafePathError (the caller means to read or replace a file of its own)."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(status.st_mode):
        raise UnsafePathError(f"{path} is {_what_is_at(path)} where a file belongs: refused; remove it")
    return status


def open_regular_file(path, flags, mode=0o666):
    """os.open(path, flags) that opens a regular file only: never through a symbolic link (O_NOFOLLOW),
    never a FIFO (which would block the open) or a device; those are refused with UnsafePathError.

    Windows has no O_NOFOLLOW (nor FIFOs): there, what is at `path` is looked at before the open and must
    be the very file opened after it. A link planted in between is then opened through, but refused before
    a byte is written, and `flags` never truncate here, so the file it points to is left as it was.
    """
    if not _HAS_NOFOLLOW:
        regular_file_stat(path)
    try:
        # O_NONBLOCK: opening a FIFO fails or returns at once instead of waiting for the other end
        fd = os.open(path, flags | _NOFOLLOW_NONBLOCK, mode)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise
        raise UnsafePathError(f"{path} is {_what_is_at(path)} where a file belongs: refused; remove it") from None
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode) or not (_HAS_NOFOLLOW or _same_file(opened, path)):
        os.close(fd)
        raise UnsafePathError(f"{path} is {_what_is_at(path)} where a file belongs: refused; remove it")
    if _NOFOLLOW_NONBLOCK:
        os.set_blocking(fd, True)
    return fd


_HAS_NOFOLLOW = hasattr(os, "O_NOFOLLOW")
_NOFOLLOW_NONBLOCK = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _same_file(opened, path):
    """Whether `path` is, without following a link, the file whose os.fstat is `opened`."""
    try:
        status = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(status.st_mode) and (status.st_dev, status.st_ino) == (opened.st_dev, opened.st_ino)


def _what_is_at(path):
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "something else"
    if stat.S_ISLNK(mode):
        return f"a symbolic link (to {os.readlink(path)})"
    return {stat.S_IFDIR: "a folder", stat.S_IFREG: "a file"}.get(stat.S_IFMT(mode), "a special file")
