"""Hubs kept in a Hugging Face model repo, `hf://ORG/REPO[@REVISION]`: the transport, through huggingface_hub.

The repo is laid out as any hub folder (`python -m export hf-layout` writes one): index.json at its root and
one folder per model. The library does the transfers, with its cache (HF_HOME, HF_HUB_CACHE), its revisions
(a branch, a tag or a commit; `main` by default), its offline mode (HF_HUB_OFFLINE=1), its endpoint
(HF_ENDPOINT) and its deadlines and retries. zoo.hub.Hub checks what comes back as it checks any hub's files:
the index with check_index, and every file's SHA-256 against the index before each use; it asks for no file
that the checked index does not name.

huggingface_hub is the optional extra `[hf]`: it is imported only when an hf:// hub is used.
"""

import os
import re

from zoo.errors import ZooError, shorten, shortened_repr

INSTALL_HINT = "pip install 'gan-zoo[hf]'"
# huggingface_hub's rules for an owner or a repo name (validate_repo_id): word characters, '.', '-', at most 96
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
# a revision becomes a path in the library's cache (refs/REVISION): git-like names only, which may hold '/'
# (refs/pr/1) but never '..', a leading '/' or characters beyond these
_REVISION = r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*"
_URL = re.compile(rf"hf://(?P<repo>{_REPO_PART}/{_REPO_PART})(?:@(?P<revision>{_REVISION}))?")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
REVISION_LIMIT = 200


class HfError(ZooError, RuntimeError):
    """An hf:// hub that cannot be used: a bad URL, no huggingface_hub, or a repo, revision or file that cannot
    be had; the message says why and what to do."""


def parse_url(url):
    """(repo_id, revision or None) of an hf:// hub URL, else HfError."""
    match = _URL.fullmatch(url)
    if (not match or "--" in match["repo"] or ".." in match["repo"]
            or ".." in (match["revision"] or "") or len(match["revision"] or "") > REVISION_LIMIT):
        raise HfError(f"hub URL {shortened_repr(url)} is not a Hugging Face hub: expected hf://ORG/REPO or "
                      "hf://ORG/REPO@REVISION (letters, digits, '.', '_' and '-'; a revision may hold '/')")
    return match["repo"], match["revision"]


class HfRepo:
    """One revision of a Hugging Face model repo, its files in the library's cache.

    The hub's index is fetched first (pin), from the revision named, and fixes the commit it came from: every
    other file is fetched from that commit, so a branch that moves on meanwhile cannot mix two versions of the
    hub, and a file already cached for it is used without asking the server again.
    """

    def __init__(self, url):
        self.url = url
        self.repo_id, self.revision = parse_url(url)
        try:
            import huggingface_hub.constants
            import huggingface_hub.errors
        except ImportError as error:
            raise HfError(f"hub {url} needs the huggingface_hub library, which is not installed ({error}): "
                          f"{INSTALL_HINT}") from None
        self._library = huggingface_hub
        self.snapshot = self.commit = None  # the cached folder of the pinned commit, and the commit

    def pin(self, filename):
        """The path of `filename`, a file at the repo's root (the index), from the revision named; fixes the
        commit that download() then fetches from."""
        path = self._download(filename, self.revision)
        self.snapshot = os.path.dirname(path)  # the library caches a file as snapshots/COMMIT/PATH
        commit = os.path.basename(self.snapshot)
        self.commit = commit if _COMMIT.match(commit) else self.revision
        return path

    def download(self, filename):
        """The path of a file of the pinned commit in the library's cache, downloaded first unless there."""
        return self._download(filename, self.commit)

    @staticmethod
    def discard(path):
        """Remove a cached file and the blob it links to (a damaged download: the next attempt fetches it
        again instead of finding it in the cache)."""
        for damaged in {path, os.path.realpath(path)}:
            os.unlink(damaged)

    def _download(self, filename, revision):
        library = self._library
        try:
            return library.hf_hub_download(self.repo_id, filename, revision=revision)
        except library.errors.RevisionNotFoundError:
            raise HfError(f"{self.url}: the repo has no revision {shortened_repr(revision)}") from None
        except library.errors.RepositoryNotFoundError:
            raise HfError(f"{self.url}: no such model repo on {library.constants.ENDPOINT}, or it is private "
                          "(log in with `hf auth login`)") from None
        except library.errors.LocalEntryNotFoundError as error:
            if library.constants.HF_HUB_OFFLINE:
                raise HfError(f"{self.url}: {filename} is not in the Hugging Face cache, and HF_HUB_OFFLINE is set: "
                              "unset it to download") from None
            raise HfError(f"{self.url}: cannot reach {library.constants.ENDPOINT} "
                          f"({shorten(error.__cause__ or error, 150)}) and {filename} is not in the Hugging Face "
                          "cache: check the connection (or HF_ENDPOINT)") from None
        except library.errors.EntryNotFoundError:  # after LocalEntryNotFoundError, a subclass: not in the repo
            raise HfError(f"{self.url}: the repo has no file {filename}: not a gan-zoo hub, or not the "
                          "revision that holds it") from None
        except (library.errors.HfHubHTTPError, OSError, ValueError) as error:
            raise HfError(f"{self.url}: cannot download {filename} ({shorten(error, 200)})") from None
