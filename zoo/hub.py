"""Pretrained generators: the hub index, verified downloads into a cache, and loading (numpy, onnxruntime,
pillow and the standard library only: this is the deploy path).

A hub is a folder reached by a URL (https://, http:// or file://) holding `index.json` and one folder per
model; `python -m export publish` writes it. The hub is `--hub`, else $GAN_ZOO_HUB, else, in a checkout of
the repository, its own zoo/hub folder. Files are cached in $GAN_ZOO_CACHE (default ~/.cache/gan-zoo).

A download is written to NAME.part, resumed with an HTTP range request after a dropped connection,
checked against the index's size and SHA-256, and only then renamed to its final name; a lock file makes
two processes that want the same file take turns. The index names plain files only, sizes are enforced
while reading, and redirects may only lead to http(s).
"""

import contextlib
import difflib
import hashlib
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from zoo.files import exclusive_lock, move_into_place, sha256_of, write_json
from zoo.errors import ZooError

HUB_ENV, CACHE_ENV = "GAN_ZOO_HUB", "GAN_ZOO_CACHE"
REPOSITORY_HUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hub")
INDEX = "index.json"
INDEX_LIMIT = 4 << 20  # an index is a few kB; anything this large is not one
ATTEMPTS = 3
TIMEOUT_SECONDS = 30
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CHUNK = 1 << 16
#: ONNX models, SavedModel archives (TensorFlow graphs and weights, no Python), pictures, JSON and text
SERVED_SUFFIXES = (".onnx", ".tar.gz", ".png", ".json", ".md")


class HubError(ZooError, RuntimeError):
    """A hub, model or download that cannot be used; the message says why and what to do."""


def default_hub():
    if os.environ.get(HUB_ENV):
        return os.environ[HUB_ENV]
    if os.path.isfile(os.path.join(REPOSITORY_HUB, INDEX)):
        return "file://" + REPOSITORY_HUB
    raise HubError(f"no hub given: pass --hub URL or set {HUB_ENV} (https://... or file:///path/to/hub)")


def default_cache():
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "gan-zoo")


def check_name(name, what):
    """Names from an index become paths: plain names only, no separators, no '..', nothing absolute."""
    if not isinstance(name, str) or not SAFE_NAME.match(name) or ".." in name:
        raise HubError(f"the hub index names {what} {name!r}, which is not a plain file name: refused")
    return name


def check_file_name(name):
    """A plain name of a kind a hub serves: never pickles or Keras files, which can run code when loaded."""
    check_name(name, "a file")
    if not name.endswith(SERVED_SUFFIXES):
        raise HubError(f"the hub index names a file {name!r}, not one of the kinds a hub serves "
                       f"({', '.join(SERVED_SUFFIXES)}): refused")
    return name


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, request, fp, code, message, headers, new_url):
        scheme = urllib.parse.urlsplit(new_url).scheme
        if scheme not in ("http", "https"):
            raise HubError(f"{request.full_url} redirects to a {scheme}: URL ({new_url}): only http(s) redirects "
                           "are followed: refused")
        return super().redirect_request(request, fp, code, message, headers, new_url)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _open(url, offset=0):
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    return _OPENER.open(request, timeout=TIMEOUT_SECONDS)


class Hub:
    """A hub's index and the cached files of its models."""

    def __init__(self, url=None, cache=None, progress=None):
        self.url = (url or default_hub()).rstrip("/")
        scheme = urllib.parse.urlsplit(self.url).scheme
        if scheme not in ("http", "https", "file"):
            raise HubError(f"hub URL {self.url!r} must start with https://, http:// or file://")
        key = hashlib.sha256(self.url.encode()).hexdigest()[:16]  # one cache folder per hub
        self.cache = os.path.join(cache or default_cache(), key)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._index = None

    # --- the index ---------------------------------------------------------------------------------

    @property
    def index(self):
        if self._index is None:
            self._index = self._read_index()
        return self._index

    def _read_index(self):
        cached = os.path.join(self.cache, INDEX)
        try:
            with _open(f"{self.url}/{INDEX}") as response:
                raw = response.read(INDEX_LIMIT + 1)
        except (urllib.error.URLError, OSError) as error:
            if os.path.isfile(cached):  # offline: the index of the last successful contact
                print(f"warning: hub {self.url} unreachable ({_reason(error)}); using the cached index",
                      file=sys.stderr)
                with open(cached) as f:
                    return json.load(f)
            raise HubError(f"cannot reach hub {self.url} ({_reason(error)}) and nothing is cached from it: "
                           f"check the connection or the URL (--hub / {HUB_ENV})") from None
        if len(raw) > INDEX_LIMIT:
            raise HubError(f"{self.url}/{INDEX} is larger than {INDEX_LIMIT} bytes: not a hub index")
        try:
            index = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise HubError(f"{self.url}/{INDEX} is not valid JSON ({error}): not a gan-zoo hub") from None
        if not isinstance(index, dict) or not isinstance(index.get("models"), dict):
            raise HubError(f"{self.url}/{INDEX} has no 'models' object: not a gan-zoo hub")
        for name, entry in index["models"].items():
            check_name(name, "a model")
            for file_name, file in entry.get("files", {}).items():
                check_file_name(file_name)
                if not (isinstance(file.get("size"), int) and file["size"] >= 0
                        and re.fullmatch(r"[0-9a-f]{64}", str(file.get("sha256")))):
                    raise HubError(f"the hub index gives {name}/{file_name} no valid size and SHA-256: refused")
        os.makedirs(self.cache, exist_ok=True)
        write_json(cached, index)
        return index

    def names(self):
        return sorted(self.index["models"])

    def entry(self, name):
        models = self.index["models"]
        if name not in models:
            close = difflib.get_close_matches(name, models, n=3, cutoff=0.4)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(models))}"
            raise HubError(f"no model {name!r} in hub {self.url}: {hint} (`python -m zoo list` shows them all)")
        return models[name]

    # --- files -------------------------------------------------------------------------------------

    def path(self, name, file_name):
        """Where a model's file is cached (whether or not it is there yet)."""
        entry = self.entry(name)
        return os.path.join(self.cache, check_name(name, "a model"), check_name(str(entry.get("version", "0")),
                                                                                "a version"),
                            check_file_name(file_name))

    def is_cached(self, name, file_name="generator.onnx"):
        return os.path.isfile(self.path(name, file_name))

    def download(self, name, files=None):
        """Cache the model's files (all, or those named) and return the folder holding them."""
        entry = self.entry(name)
        for file_name in files or entry["files"]:
            if file_name not in entry["files"]:
                raise HubError(f"{name} has no file {file_name!r}; it has {', '.join(entry['files'])}")
            self._fetch(name, file_name, entry["files"][file_name])
        return os.path.dirname(self.path(name, next(iter(entry["files"]))))

    def _fetch(self, name, file_name, declared):
        target = self.path(name, file_name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with exclusive_lock(target + ".lock"):
            if os.path.isfile(target) and sha256_of(target) == declared["sha256"]:
                return target  # cached (perhaps by the process this one waited for)
            url = f"{self.url}/{urllib.parse.quote(name)}/{urllib.parse.quote(file_name)}"
            partial = target + ".part"
            try:
                self._transfer_with_retries(url, partial, declared["size"], f"{name}/{file_name}")
                actual = sha256_of(partial)
                if actual != declared["sha256"]:
                    raise HubError(f"{url} has SHA-256 {actual}, the index says {declared['sha256']}: the file "
                                   "is damaged or was replaced; nothing was kept")
            except BaseException:
                _remove(partial)
                raise
            os.replace(partial, target)
        return target

    def _transfer_with_retries(self, url, partial, size, label):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._transfer(url, partial, size, label)
            except (urllib.error.URLError, OSError, _Incomplete) as error:
                if isinstance(error, urllib.error.HTTPError) and error.code in (403, 404, 410):
                    raise HubError(f"{url}: HTTP {error.code}: the hub does not serve this file") from None
                if isinstance(error, urllib.error.HTTPError) and 300 <= error.code < 400:
                    raise HubError(f"{url}: a redirect the hub client does not follow ({error.msg}): "
                                   "refused") from None
                if attempt == ATTEMPTS:
                    raise HubError(f"downloading {url} failed {ATTEMPTS} times ({_reason(error)}); nothing "
                                   "was kept: try again later") from None
                time.sleep(0.5 * attempt)

    def _transfer(self, url, partial, size, label):
        """Append to `partial` until it holds `size` bytes, resuming where an earlier attempt stopped."""
        offset = os.path.getsize(partial) if os.path.isfile(partial) else 0
        if offset > size:
            offset = 0
        with _open(url, offset) as response:
            if offset and getattr(response, "status", 200) != 206:
                offset = 0  # the server ignored the range: start again
            with open(partial, "r+b" if offset else "wb") as f:
                f.seek(offset)
                f.truncate()
                received = offset
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    received += len(block)
                    if received > size:
                        raise HubError(f"{url} is larger than the {size} bytes the index declares: refused")
                    f.write(block)
                    self._show(label, received, size)
                f.flush()
                os.fsync(f.fileno())
        if self.progress:
            print(file=sys.stderr)
        if received < size:
            raise _Incomplete(f"connection closed after {received} of {size} bytes")

    def _show(self, label, received, size):
        if self.progress:
            done = received / size if size else 1.0
            bar = "#" * int(30 * done)
            print(f"\r{label} [{bar:<30}] {received / 1e6:6.1f}/{size / 1e6:.1f} MB", end="", file=sys.stderr)

    # --- using a model -----------------------------------------------------------------------------

    def load(self, name, **options):
        """The onnxruntime wrapper (export.runtime.OnnxGenerator) of a hub model, downloaded if needed."""
        from export.runtime import OnnxGenerator

        entry = self.entry(name)
        onnx_file = entry.get("onnx", "generator.onnx")
        try:
            self.download(name, [onnx_file])
        except HubError:
            if not self.is_cached(name, onnx_file):
                raise
        return OnnxGenerator(self.path(name, onnx_file), **options)


class _Incomplete(Exception):
    """A transfer that ended before the declared size: worth another attempt."""


def _reason(error):
    reason = getattr(error, "reason", None) or error
    return str(reason).strip() or type(error).__name__


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def extract_archive(archive, target):
    """Unpack a .tar.gz SavedModel archive into `target`, refusing members that would land outside it."""
    import tarfile

    root = os.path.realpath(target)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            destination = os.path.realpath(os.path.join(root, member.name))
            if not (member.isfile() or member.isdir()) or os.path.commonpath([root, destination]) != root:
                raise HubError(f"{archive} holds {member.name!r}, which is not a plain file inside the archive "
                               "folder: refused, nothing extracted")
        staging = root + ".extracting"
        shutil.rmtree(staging, ignore_errors=True)
        tar.extractall(staging, filter="data")
    move_into_place(staging, root)
    return root
