"""Pretrained generators: the hub index, verified downloads into a cache, and loading (numpy, onnxruntime,
pillow and the standard library only: this is the deploy path).

A hub is a folder reached by a URL (https://, http:// or file://) holding `index.json` and one folder per
model; `python -m export publish` writes it. A hub in a Hugging Face model repo is hf://ORG/REPO[@REVISION]
(zoo.hf: its files stay in the huggingface_hub library's cache, checked as any hub's). The hub is `--hub`,
else $GAN_ZOO_HUB, else, in a checkout of the repository, its own zoo/hub folder. Files are cached in
$GAN_ZOO_CACHE (default ~/.cache/gan-zoo).

A hub may be hostile and a shared cache may hold traps, so:
- check_index validates every index field that becomes a path or a URL (plain names, files of the kinds a
  hub serves) once, when the index is read; the rest of the client trusts the checked index.
- A download is written to NAME.part, resumed with an HTTP range request after a dropped connection,
  checked against the index's size and SHA-256, and only then renamed to its final name; a lock file makes
  two processes that want the same file take turns. Nothing in the cache is written through a symbolic
  link (zoo.files.make_folders, open_regular_file).
- Every connection has deadlines: CONNECT_TIMEOUT to connect, READ_TIMEOUT for any one read, and a
  transfer that moves less than PROGRESS_BYTES in STALL_SECONDS (a server that drips a byte now and then)
  is given up on, without another attempt. Redirects lead to http(s) only, never from https to http.
- A SavedModel archive is unpacked by one process at a time, within limits, into a folder moved into
  place whole (extract_archive).
"""

import contextlib
import copy
import difflib
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

from zoo.errors import ZooError, shorten, shortened_repr
from zoo.files import (UnsafePathError, exclusive_lock, make_folders, move_into_place, open_regular_file,
                       regular_file_stat, sha256_of, write_json)
from zoo.testdata import TEST_SET

HUB_ENV, CACHE_ENV = "GAN_ZOO_HUB", "GAN_ZOO_CACHE"
HF_SCHEME = "hf:"  # hf://ORG/REPO[@REVISION], a hub in a Hugging Face model repo (zoo.hf), however misspelt
REPOSITORY_HUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hub")
INDEX = "index.json"
INDEX_LIMIT = 4 << 20  # an index is a few kB; anything this large is not one
INDEX_NESTING_LIMIT = 32  # a real index nests 7 deep; json.dumps (`info`) recurses once per level
ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5  # times the attempt number
CONNECT_TIMEOUT = 15
READ_TIMEOUT = 30
PROGRESS_BYTES, STALL_SECONDS = 16 << 10, 60  # slower than about 270 bytes/s on average is a stall
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_LIMIT = 100  # file systems allow 255 bytes per name; hub names are far shorter
SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 16
#: ONNX models, SavedModel archives (TensorFlow graphs and weights, no Python), pictures, JSON and text
SERVED_SUFFIXES = (".onnx", ".tar.gz", ".png", ".json", ".md")
TEXT_FIELDS = ("variant", "dataset", "kind")  # what `python -m zoo list` shows of every model
ARCHIVE_MEMBER_LIMIT = 1000  # a SavedModel is a handful of files
UNPACKED_PER_ARCHIVE_BYTE = 20  # weights barely compress (a real archive unpacks to 1.1 times its size)
UNPACKED_ALLOWANCE = 1 << 20  # on top: a tiny archive of a compressible graph may unpack to many times its size
UNPACKED_MARKER = ".unpacked-from.json"  # in an unpacked folder: the SHA-256 of the archive it came from


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


# --- the index: every field that becomes a path or a URL is checked here, once ------------------------

def check_name(name, what):
    """Names from an index become paths: plain names only, no separators, no '..', nothing absolute."""
    if not (isinstance(name, str) and len(name) <= NAME_LIMIT and SAFE_NAME.match(name) and ".." not in name):
        raise HubError(f"the hub index names {what} {shortened_repr(name)}, which is not a plain file name: "
                       "refused")
    return name


def check_file_name(name):
    """A plain name of a kind a hub serves (never pickles or Keras files, which can run code when loaded), or
    a tensor of the model's test data: TEST_SET/NAME.pb, the one subfolder a hub may name."""
    folder, slash, base = name.partition("/") if isinstance(name, str) else ("", "", name)
    if slash and folder == TEST_SET:
        check_name(base, "a file")
        if not base.endswith(".pb"):
            raise HubError(f"the hub index names a file {shortened_repr(name)} in {TEST_SET}/, which holds .pb "
                           "tensors only: refused")
        return name
    check_name(name, "a file")
    if not name.endswith(SERVED_SUFFIXES):
        raise HubError(f"the hub index names a file {shortened_repr(name)}, not one of the kinds a hub serves "
                       f"({', '.join(SERVED_SUFFIXES)}): refused")
    return name


def version_of(entry):
    return str(entry.get("version", "0"))


def check_index(index, source):
    """`index` if it is a hub index the client can use safely, else HubError naming the first problem.

    Model names, versions and file names become paths in the cache and parts of URLs: plain names only.
    `onnx` and `savedmodel` must name one of the model's listed files, of the right kind. Every file has a
    size and a SHA-256, and every model the text that `python -m zoo list` shows.
    """
    if not isinstance(index, dict) or not isinstance(index.get("models"), dict):
        raise HubError(f"{source} has no 'models' object: not a gan-zoo hub")
    if _nesting(index) > INDEX_NESTING_LIMIT:
        raise HubError(f"{source} nests lists and objects more than {INDEX_NESTING_LIMIT} deep: not a gan-zoo hub")
    for name, entry in index["models"].items():
        check_name(name, "a model")
        if not isinstance(entry, dict):
            raise HubError(f"the hub index describes {name} with {type(entry).__name__}, not an object: refused")
        check_name(version_of(entry), "a version")
        files = entry.get("files")
        if not isinstance(files, dict) or not files:
            raise HubError(f"the hub index lists no files for {name}: refused")
        for file_name, file in files.items():
            check_file_name(file_name)
            if not (isinstance(file, dict) and _is_size(file.get("size"))
                    and isinstance(file.get("sha256"), str) and SHA256.match(file["sha256"])):
                raise HubError(f"the hub index gives {name}/{file_name} no valid size and SHA-256: refused")
        for field, suffix in (("onnx", ".onnx"), ("savedmodel", ".tar.gz")):
            if field in entry and not (isinstance(entry[field], str) and entry[field] in files
                                       and entry[field].endswith(suffix)):
                raise HubError(f"the hub index gives {name} the {field} file {shortened_repr(entry[field])}, "
                               f"which is not one of its listed {suffix} files: refused")
        for field in TEXT_FIELDS:
            if not isinstance(entry.get(field), str):
                raise HubError(f"the hub index gives {name} no '{field}' text: refused")
    return index


def parse_index(raw, source):
    """The checked index from the bytes of an index.json (see check_index)."""
    try:
        index = json.loads(raw)
    except (ValueError, RecursionError) as error:  # bad JSON or UTF-8, numbers of over 4300 digits, nesting
        raise HubError(f"{source} is not valid JSON ({shorten(error, 100)}): not a gan-zoo hub") from None
    return check_index(index, source)


def _is_size(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _nesting(value):
    """How deep lists and objects nest in `value` (1 for a flat list), counted without recursion."""
    depth, level = 0, [value]
    while True:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            return depth
        depth += 1
        level = [child for item in containers for child in (item.values() if isinstance(item, dict) else item)]


# --- the network: deadlines, and redirects that never downgrade --------------------------------------

class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http(s) URLs only, and from an https URL to https only: a hub reached over
    https is never read over plain http, where anyone on the way could change it."""

    def redirect_request(self, request, fp, code, message, headers, new_url):
        old_scheme, new_scheme = (urllib.parse.urlsplit(url).scheme for url in (request.full_url, new_url))
        if new_scheme not in ("http", "https") or (old_scheme == "https" and new_scheme != "https"):
            raise HubError(f"{shorten(request.full_url, 200)} redirects to {shorten(new_url, 200)}: only "
                           "redirects to http(s), and from https to https only, are followed: refused")
        return super().redirect_request(request, fp, code, message, headers, new_url)


class _PatientSocketReader(io.RawIOBase):
    """A response's socket, read with deadlines: READ_TIMEOUT for any one read, and TimeoutError once the
    server has sent less than PROGRESS_BYTES in STALL_SECONDS, so that a server that drips a byte every
    few seconds (into the headers or the body) holds the client no longer than one that sends nothing."""

    def __init__(self, sock, socket_io):
        super().__init__()
        self.sock, self.socket_io = sock, socket_io
        self.window_start, self.window_bytes = time.monotonic(), 0

    def readable(self):
        return True

    def readinto(self, buffer):
        stall_left = STALL_SECONDS - (time.monotonic() - self.window_start)
        if stall_left <= 0:
            raise _Stalled()
        self.sock.settimeout(min(READ_TIMEOUT, stall_left))
        try:
            count = self.socket_io.readinto(buffer)
        except TimeoutError:
            if READ_TIMEOUT < stall_left:
                raise TimeoutError(f"no reply for {READ_TIMEOUT} s") from None
            raise _Stalled() from None
        self.window_bytes += count
        if self.window_bytes >= PROGRESS_BYTES:
            self.window_start, self.window_bytes = time.monotonic(), 0
        return count

    def close(self):
        self.socket_io.close()
        super().close()


class _Stalled(TimeoutError):
    """A server that sends too little to count as progress: not retried, since it is there, just stalling."""

    def __init__(self):
        super().__init__(f"the server sent less than {PROGRESS_BYTES} bytes in {STALL_SECONDS} s")


class _PatientResponse(http.client.HTTPResponse):
    """An HTTP response read through _PatientSocketReader (around the socket file http.client made, which
    closes the connection as before)."""

    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp = io.BufferedReader(_PatientSocketReader(sock, self.fp.detach()))


class _PatientHTTPConnection(http.client.HTTPConnection):
    response_class = _PatientResponse


class _PatientHTTPSConnection(http.client.HTTPSConnection):
    response_class = _PatientResponse


class _PatientHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, request):
        return self.do_open(_PatientHTTPConnection, request)


class _PatientHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, request):  # as HTTPSHandler.https_open, with the patient connection
        return self.do_open(_PatientHTTPSConnection, request, context=self._context)


_OPENER = urllib.request.build_opener(_SafeRedirects, _PatientHTTPHandler, _PatientHTTPSHandler)
#: what a failed connection, a broken reply or a deadline raises: worth another attempt
_NETWORK_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException)


def _open(url, offset=0):
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    return _OPENER.open(request, timeout=CONNECT_TIMEOUT)


class Hub:
    """A hub's index and the cached files of its models."""

    def __init__(self, url=None, cache=None, progress=None):
        self.url = (url or default_hub()).rstrip("/")
        self.hf = None
        if self.url.startswith(HF_SCHEME):
            from zoo.hf import HfRepo  # huggingface_hub is an optional extra, imported for hf:// hubs only

            self.hf = HfRepo(self.url)
        else:
            _check_hub_url(self.url)
        self.cache_root = cache or default_cache()  # may be a link (to another disk); nothing below it may
        self.cache_key = hashlib.sha256(self.url.encode()).hexdigest()[:16]  # one cache folder per hub
        self.cache = os.path.join(self.cache_root, self.cache_key)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._index = None

    # --- the index ---------------------------------------------------------------------------------

    @property
    def index(self):
        if self._index is None:
            self._index = self._read_index()
        return self._index

    def _read_index(self):
        if self.hf:  # offline, the library's cache has the index of the last contact
            with open(self.hf.pin(INDEX), "rb") as f:
                raw = f.read(INDEX_LIMIT + 1)
            if len(raw) > INDEX_LIMIT:
                raise HubError(f"{self.url}/{INDEX} is larger than {INDEX_LIMIT} bytes: not a hub index")
            return parse_index(raw, f"{self.url}/{INDEX}")
        cached = os.path.join(self.cache, INDEX)
        try:
            with _open(f"{self.url}/{INDEX}") as response:
                raw = response.read(INDEX_LIMIT + 1)
                if len(raw) <= INDEX_LIMIT and getattr(response, "length", None):
                    raise http.client.IncompleteRead(raw, response.length)  # the server promised more
        except _NETWORK_ERRORS as error:
            if os.path.isfile(cached):  # offline: the index of the last successful contact
                print(f"warning: hub {self.url} unreachable ({_reason(error)}); using the cached index",
                      file=sys.stderr)
                with self._cache_errors(), open(cached, "rb") as f:
                    return parse_index(f.read(INDEX_LIMIT + 1), cached)
            raise HubError(f"cannot reach hub {self.url} ({_reason(error)}) and nothing is cached from it: "
                           f"check the connection or the URL (--hub / {HUB_ENV})") from None
        if len(raw) > INDEX_LIMIT:
            raise HubError(f"{self.url}/{INDEX} is larger than {INDEX_LIMIT} bytes: not a hub index")
        index = parse_index(raw, f"{self.url}/{INDEX}")
        with self._cache_errors():
            make_folders(self.cache_root, self.cache_key)
            write_json(cached, index)
        return index

    def names(self):
        return sorted(self.index["models"])

    def entry(self, name):
        models = self.index["models"]
        if name not in models:
            # no model name is longer than NAME_LIMIT: a longer one (perhaps megabytes) has no close match
            close = difflib.get_close_matches(name, models, n=3, cutoff=0.4) if len(name) <= NAME_LIMIT else []
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(models))}"
            raise HubError(f"no model {shortened_repr(name)} in hub {self.url}: {shorten(hint, 200)} "
                           "(`python -m zoo list` shows them all)")
        return models[name]

    # --- files -------------------------------------------------------------------------------------

    def folder(self, name):
        """The folder that holds a model's cached files: in the hub's cache folder, or for an hf:// hub in
        the Hugging Face cache (the index's commit)."""
        entry = self.entry(name)
        if self.hf:
            return os.path.join(self.hf.snapshot, name)
        return os.path.join(self.cache, name, version_of(entry))

    def path(self, name, file_name):
        """Where a model's file is cached (whether or not it is there yet)."""
        return os.path.join(self.folder(name), check_file_name(file_name))

    def is_cached(self, name, file_name="generator.onnx"):
        return os.path.isfile(self.path(name, file_name))

    def download(self, name, files=None):
        """Cache the model's files (all, or those named) and return the folder holding them."""
        entry = self.entry(name)
        for file_name in files or entry["files"]:
            if file_name not in entry["files"]:
                raise HubError(f"{name} has no file {shortened_repr(file_name)}; it has "
                               f"{', '.join(entry['files'])}")
            self._fetch(name, file_name, entry["files"][file_name])
        return self.folder(name)

    def test_set_folder(self, name):
        """Download the model's test data (TEST_SET/input_0.pb, ..., output_0.pb); the folder holding it."""
        entry = self.entry(name)
        files = [file_name for file_name in entry["files"] if file_name.startswith(f"{TEST_SET}/")]
        if not files:
            raise HubError(f"{name} (version {version_of(entry)}) has no test data in hub {self.url}: it was "
                           "published before models came with test data")
        return os.path.join(self.download(name, files), TEST_SET)

    def savedmodel_folder(self, name):
        """Download and unpack the model's SavedModel archive; the folder that tf.saved_model.load takes."""
        entry = self.entry(name)
        if "savedmodel" not in entry:
            raise HubError(f"{name} has no SavedModel archive in hub {self.url}")
        archive = self._fetch(name, entry["savedmodel"], entry["files"][entry["savedmodel"]])
        with self._cache_errors():
            # unpacked into the hub's cache folder (beside the archive, except for an hf:// hub: the Hugging
            # Face cache holds the library's files only)
            folder = make_folders(self.cache_root, self.cache_key, name, version_of(entry))
            return extract_archive(archive, os.path.join(folder, entry["savedmodel"].removesuffix(".tar.gz")))

    @contextlib.contextmanager
    def _cache_errors(self):
        """What the file system says about the cache (a full disk, no permission) as a HubError."""
        try:
            yield
        except OSError as error:
            raise HubError(f"cannot use the cache {shorten(self.cache, 200)} ({error.strerror or error}): free "
                           f"some space, fix its permissions or choose another with --cache / {CACHE_ENV}") from None

    def _fetch(self, name, file_name, declared):
        """The cached path of one of a model's files, downloaded and verified first unless it is there."""
        if self.hf:  # in the library's cache, checked each time as a file in this hub's own
            path = self.hf.download(f"{name}/{file_name}")
            actual = sha256_of(path)
            if actual != declared["sha256"]:
                self.hf.discard(path)  # the next attempt downloads it again instead of finding it cached
                raise HubError(f"{self.url}: {name}/{file_name} has SHA-256 {actual}, the index says "
                               f"{declared['sha256']}: the file is damaged or was replaced; nothing was kept")
            return path
        with self._cache_errors():
            *subfolder, base = file_name.split("/")  # TEST_SET/NAME.pb, checked by check_index
            folder = make_folders(self.cache_root, self.cache_key, name, version_of(self.entry(name)), *subfolder)
            target = os.path.join(folder, base)
            with exclusive_lock(target + ".lock", follow_symlinks=False):
                if regular_file_stat(target) and sha256_of(target) == declared["sha256"]:
                    return target  # cached (perhaps by the process this one waited for)
                url = f"{self.url}/{urllib.parse.quote(name)}/{urllib.parse.quote(file_name)}"
                partial = target + ".part"
                regular_file_stat(partial)  # a link or a folder planted there is refused, and left alone
                try:
                    self._transfer_with_retries(url, partial, declared["size"], f"{name}/{file_name}")
                    actual = sha256_of(partial)
                    if actual != declared["sha256"]:
                        raise HubError(f"{url} has SHA-256 {actual}, the index says {declared['sha256']}: the "
                                       "file is damaged or was replaced; nothing was kept")
                except BaseException:
                    _remove(partial)
                    raise
                os.replace(partial, target)
        return target

    def _transfer_with_retries(self, url, partial, size, label):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._transfer(url, partial, size, label)
            except (*_NETWORK_ERRORS, _Incomplete) as error:
                if isinstance(error, urllib.error.HTTPError) and error.code in (403, 404, 410):
                    raise HubError(f"{url}: HTTP {error.code}: the hub does not serve this file") from None
                if isinstance(error, urllib.error.HTTPError) and 300 <= error.code < 400:
                    raise HubError(f"{url}: a redirect the hub client does not follow "
                                   f"({shorten(error.msg, 100)}): refused") from None
                if isinstance(error, _Stalled):
                    raise HubError(f"downloading {url} stalled ({error}); nothing was kept: try again later") from None
                if attempt == ATTEMPTS:
                    raise HubError(f"downloading {url} failed {ATTEMPTS} times ({_reason(error)}); nothing "
                                   "was kept: try again later") from None
                time.sleep(RETRY_PAUSE_SECONDS * attempt)

    def _transfer(self, url, partial, size, label):
        """Append to `partial` until it holds `size` bytes, resuming where an earlier attempt stopped."""
        existing = regular_file_stat(partial)
        offset = existing.st_size if existing and existing.st_size <= size else 0
        with _open(url, offset) as response:
            if offset and getattr(response, "status", 200) != 206:
                offset = 0  # the server ignored the range: start again
            with os.fdopen(open_regular_file(partial, os.O_WRONLY | os.O_CREAT), "wb") as f:
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
        """The onnxruntime wrapper (zoo.runtime.OnnxGenerator) of a hub model, downloaded if needed."""
        from zoo.runtime import OnnxGenerator

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


def _check_hub_url(url):
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: "Port out of range", "invalid literal"
    except ValueError as error:
        raise HubError(f"hub URL {shortened_repr(url)} is not a valid URL ({error})") from None
    if parts.scheme not in ("http", "https", "file"):
        raise HubError(f"hub URL {shortened_repr(url)} must start with https://, http://, file:// or hf://")
    if re.search(r"[\x00-\x20\x7f]", url) or (parts.scheme != "file" and not parts.hostname):
        raise HubError(f"hub URL {shortened_repr(url)} is not a valid URL (a host name and no spaces)")
    try:
        (parts.hostname or "").encode("idna")  # what connecting does first: labels of 1 to 63 characters
    except UnicodeError as error:
        raise HubError(f"hub URL {shortened_repr(url)} is not a valid URL ({error})") from None


def _reason(error):
    reason = getattr(error, "reason", None) or error
    return shorten(str(reason).strip() or type(error).__name__, 200)


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# --- SavedModel archives ----------------------------------------------------------------------------

def extract_archive(archive, target):
    """Unpack a .tar.gz SavedModel archive into the folder `target`; return the folder in it that holds
    saved_model.pb (the one tf.saved_model.load takes).

    Processes that unpack into the same `target` take turns (a lock file beside it), and one that finds it
    already unpacked from this very archive (a marker names the archive's SHA-256) returns at once. The
    archive is unpacked into a fresh staging folder that replaces `target` whole, and only if it holds
    nothing but regular files and folders at relative paths inside it, at most ARCHIVE_MEMBER_LIMIT of
    them and at most UNPACKED_PER_ARCHIVE_BYTE times the archive's size (checked against the index's
    declared size by the download) in all; otherwise HubError, and `target` is as it was.
    """
    folder, base = os.path.split(os.path.abspath(target))
    with exclusive_lock(target + ".lock", follow_symlinks=False):
        if os.path.islink(target):
            raise UnsafePathError(f"{target} is a symbolic link where the unpacked SavedModel belongs: refused; "
                                  "remove it")
        digest = sha256_of(archive)
        if _unpacked_from(target) == digest:
            return _savedmodel_folder(target, archive)
        staging = tempfile.mkdtemp(dir=folder, prefix=f".{base}.unpacking-")
        try:
            _unpack(archive, staging, UNPACKED_PER_ARCHIVE_BYTE * os.path.getsize(archive) + UNPACKED_ALLOWANCE)
            inside = os.path.relpath(_savedmodel_folder(staging, archive), staging)
            write_json(os.path.join(staging, UNPACKED_MARKER), {"archive_sha256": digest})
            move_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return os.path.normpath(os.path.join(target, inside))


def _unpack(archive, staging, size_limit):
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = map(_plain_copy, _checked_members(tar, archive, size_limit))
            if hasattr(tarfile, "data_filter"):  # tarfile's own checks too (Python 3.10.12+, 3.11.4+)
                tar.extractall(staging, members=members, filter="data")
            else:  # older Pythons have no filter= argument: the checks above are all there is
                tar.extractall(staging, members=members)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise HubError(f"cannot unpack {archive} ({shorten(error, 200)}): not a usable SavedModel archive; "
                       "nothing was unpacked") from None


def _checked_members(tar, archive, size_limit):
    """The archive's members, read one by one and each checked before it is unpacked (what tarfile's
    'data' filter checks, on every Python, and the limits)."""
    count = total = 0
    for member in tar:
        count, total = count + 1, total + member.size
        plain = member.isdir() or (member.isreg() and not member.issparse())
        if not plain or os.path.isabs(member.name) or ".." in member.name.split("/"):
            raise HubError(f"{archive} holds {shortened_repr(member.name)}, which is not a plain file inside the "
                           "archive folder: refused, nothing unpacked")
        if count > ARCHIVE_MEMBER_LIMIT:
            raise HubError(f"{archive} holds more than {ARCHIVE_MEMBER_LIMIT} files and folders: not a "
                           "SavedModel archive; refused, nothing unpacked")
        if total > size_limit:
            raise HubError(f"{archive} unpacks to more than {size_limit} bytes, far more than its size: not a "
                           "SavedModel archive; refused, nothing unpacked")
        yield member


def _plain_copy(member):
    """The member with the usual permissions and this user as owner, whatever the archive says."""
    member = copy.copy(member)
    member.mode = 0o755 if member.isdir() else 0o644
    member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
    return member


def _savedmodel_folder(root, archive):
    found = [folder for folder, _, files in os.walk(root) if "saved_model.pb" in files]
    if len(found) != 1:
        raise HubError(f"{archive} holds {len(found)} saved_model.pb files, not one: not a SavedModel archive")
    return found[0]


def _unpacked_from(target):
    """The SHA-256 of the archive that `target` was unpacked from; None if it is not there or unmarked."""
    try:
        with os.fdopen(open_regular_file(os.path.join(target, UNPACKED_MARKER), os.O_RDONLY)) as f:
            marker = json.load(f)
    except (OSError, ValueError, UnsafePathError):  # missing, unreadable or not ours: unpack again
        return None
    return marker.get("archive_sha256") if isinstance(marker, dict) else None
