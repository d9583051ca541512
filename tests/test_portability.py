"""Issue 16, portability: the lock files on Windows (a stand-in msvcrt on this machine), and no TensorFlow
needed for one-line errors from the training and export commands of a base install."""

import errno
import fcntl
import os
import subprocess
import sys
import types

import pytest

from zoo import files
from zoo.files import UnsafePathError, exclusive_lock, try_lock, unlock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FakeMsvcrt(types.ModuleType):
    """msvcrt.locking as Windows does it: a byte range from the file position, exclusive between handles
    (an flock of the handle stands in for it), EACCES when held elsewhere. Records what it was asked."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = range(5)

    def __init__(self):
        super().__init__("msvcrt")
        self.calls = []

    def locking(self, fd, mode, nbytes):
        self.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if mode == self.LK_UNLCK:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return
        assert mode == self.LK_NBLCK, "only the non-blocking lock returns at once; LK_LOCK gives up after 10 s"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PermissionError(errno.EACCES, "Permission denied") from None


@pytest.fixture
def windows(monkeypatch):
    """zoo.files as it runs on Windows: no fcntl, msvcrt's locks, no O_NOFOLLOW nor O_NONBLOCK."""
    fake = FakeMsvcrt()
    monkeypatch.setattr(files, "fcntl", None)
    monkeypatch.setattr(files, "msvcrt", fake, raising=False)
    monkeypatch.setattr(files, "_HAS_NOFOLLOW", False)
    monkeypatch.setattr(files, "_NOFOLLOW_NONBLOCK", 0)
    return fake


def test_windows_lock_takes_turns_and_leaves_the_file_readable(windows, tmp_path):
    path = tmp_path / "x.lock"
    path.write_text("pid 1 on host\n")
    with open(path, "a+") as holder, open(path) as looker:
        holder.seek(3)
        assert try_lock(holder) is True
        assert holder.tell() == 3  # the file position is put back
        assert try_lock(looker, shared=True) is False  # no shared locks on Windows: held is held
        assert looker.read() == "pid 1 on host\n"  # the locked byte lies past what the file says
        unlock(holder)
        assert try_lock(looker) is True
        unlock(looker)
    assert {(offset, nbytes) for _, offset, nbytes in windows.calls} == {(files.WINDOWS_LOCK_OFFSET, 1)}
    assert path.read_text() == "pid 1 on host\n"


def test_windows_exclusive_lock_waits_for_the_holder(windows, tmp_path, monkeypatch):
    path = str(tmp_path / "cache.lock")
    with open(path, "a") as other:
        assert try_lock(other)
        waited = []

        def sleep(seconds):  # the holder lets go while the second one polls
            waited.append(seconds)
            unlock(other)

        monkeypatch.setattr(files.time, "sleep", sleep)
        with exclusive_lock(path, follow_symlinks=False):
            assert try_lock(other) is False
        assert waited == [files.WINDOWS_LOCK_POLL_SECONDS]
    with open(path) as again:
        assert try_lock(again) is True


def test_windows_lock_file_never_follows_a_link(windows, tmp_path, monkeypatch):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    link = tmp_path / "model.lock"
    link.symlink_to(precious)
    with pytest.raises(UnsafePathError, match="symbolic link"):  # seen before the open
        with exclusive_lock(str(link), follow_symlinks=False):
            pass
    # a link planted between the look and the open: opened through, but refused, and nothing truncated
    monkeypatch.setattr(files, "regular_file_stat", lambda path: None)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        with exclusive_lock(str(link), follow_symlinks=False):
            pass
    assert precious.read_text() == "keep me" and link.is_symlink()
    os.mkdir(tmp_path / "folder.lock")
    with pytest.raises(UnsafePathError, match="a folder"):
        with exclusive_lock(str(tmp_path / "folder.lock"), follow_symlinks=False):
            pass


def test_posix_lock_is_flock(tmp_path):
    path = tmp_path / "x.lock"
    with exclusive_lock(str(path), follow_symlinks=False), open(path) as other:
        assert try_lock(other, shared=True) is False
    with open(path) as one, open(path) as two:
        assert try_lock(one, shared=True) and try_lock(two, shared=True)  # lookers share


def test_run_folder_lock_names_its_holder_on_windows(windows, tmp_path):
    pytest.importorskip("tensorflow")
    from training.run import RunFolder

    run = RunFolder(str(tmp_path / "run"))
    with run.lock():
        other = RunFolder(run.path)
        assert other.holder().startswith(f"pid {os.getpid()} on ")
        with pytest.raises(Exception, match=f"in use by pid {os.getpid()} on "):
            with other.lock():
                pass
    assert RunFolder(run.path).holder() is None


# --- the base install: no TensorFlow ------------------------------------------------------------------

# runs a module's CLI as its console script does, in a process where the train extra's modules are missing
WITHOUT_TRAIN_EXTRA = """
import importlib.abc, runpy, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("tensorflow", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
module, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def without_train_extra(module, *args):
    return subprocess.run([sys.executable, "-c", WITHOUT_TRAIN_EXTRA, module, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [["training"], ["training", "--model", "wgan", "--epochs", "1"],
                                     ["training", "--help"], ["export", "runs/x"],
                                     ["export", "publish", "runs/x", "--name", "x"], ["export", "cards"]])
def test_training_and_export_without_tensorflow_say_what_to_install(command):
    result = without_train_extra(*command)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert result.stderr.startswith(f"python -m {command[0]}: error: this command needs the train extra")
    assert "pip install 'gan-zoo[train]'" in result.stderr


def test_export_web_needs_no_tensorflow():
    result = without_train_extra("export", "web", "--help")
    assert result.returncode == 0 and "onnxruntime-web" in result.stdout, result.stderr


def test_only_the_train_extra_is_named(monkeypatch):
    from zoo.cli import TrainExtraMissing, needing_train_extra

    def missing(name):
        def main(argv):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return needing_train_extra(main)

    with pytest.raises(TrainExtraMissing, match="no module scipy.stats"):
        missing("scipy.stats")([])
    with pytest.raises(ModuleNotFoundError):  # a bug of ours, not a missing install: the guard's traceback
        missing("zoo.no_such_module")([])
