"""Find a data file, verify it, and download it when no verified copy exists.

Search order (course spec): an explicit ``data_dir``; ``$VAELIB_DATA``; the user cache;
the system data directory; then a download from the official URL, falling back to the
mirror, into the cache. Every file is verified before use. A file that fails
verification is refused if the user or the system put it there, and deleted and
fetched again if it sits in our cache (we wrote it, so it is ours to replace). The cache
owns only what lies inside it once every symlink is resolved: a link that leads out of it
is the user's, never deleted or written through.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import time
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vaelib._files import atomic_path, stream_digest
from vaelib.data._errors import DataIntegrityError, DataNotFoundError, DataWarning
from vaelib.data._registry import RemoteFile

__all__ = ["LocatedFile", "locate", "cache_root", "system_root", "verify", "SYSTEM_DATA_ROOT"]

#: Where Debian's ``dataset-*`` packages install data; ``$VAELIB_SYSTEM_DATA`` overrides it.
SYSTEM_DATA_ROOT = "/usr/share/datasets"
#: Seconds to wait for a connection or for the next bytes of a download; short, so that
#: an offline machine fails fast instead of hanging a notebook.
TIMEOUT = 10.0
#: Seconds one file's download may take in all: a server that trickles bytes just fast
#: enough to beat TIMEOUT must not hang a notebook for hours.
DEADLINE = 600.0
_CHUNK = 1 << 20

# Verified files, keyed by (path, inode, size, mtime, expected md5): repeated loads of an
# unchanged file skip re-hashing it. Replacing or rewriting a file changes the key (a
# same-size in-place edit within one kernel clock tick, ~4 ms, would not; accepted).
_VERIFIED: dict[tuple[str, int, int, int, str], str] = {}


@dataclass(frozen=True)
class LocatedFile:
    """A verified data file: its path, where it was found and how it was checked."""

    path: Path
    origin: str  # "data_dir", "VAELIB_DATA", "cache", "system data dir" or "downloaded from <url>"
    check: str  # "md5" or "SHA-256 of decompressed content"


def cache_root() -> Path:
    """Return the user cache directory: ``$VAELIB_CACHE``, else ``$XDG_CACHE_HOME/vaelib``,
    else ``~/.cache/vaelib``."""
    explicit = os.environ.get("VAELIB_CACHE", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "vaelib"


def system_root() -> Path:
    """Return the system data directory: ``$VAELIB_SYSTEM_DATA`` or :data:`SYSTEM_DATA_ROOT`."""
    return Path(os.environ.get("VAELIB_SYSTEM_DATA", "").strip() or SYSTEM_DATA_ROOT)


def _owned_by_cache(path: Path) -> bool:
    """Whether ``path`` lies inside the cache once every symlink on the way is resolved.

    The cache root may itself be a link (a cache moved to another disk); a folder or file
    inside it that links elsewhere is the user's and not ours to delete or overwrite.
    """
    try:
        path.resolve().relative_to(cache_root().resolve())
    except ValueError:
        return False
    return True


def _candidates(f: RemoteFile, data_dir: str | os.PathLike[str] | None) -> list[tuple[Path, str]]:
    """Every place to look for ``f``, in search order, with a label for messages."""
    places: list[tuple[Path, str]] = []
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        places += [(root / f.dataset / f.filename, "data_dir"), (root / f.filename, "data_dir")]
    env = os.environ.get("VAELIB_DATA", "").strip()
    if env:
        places.append((Path(env).expanduser() / f.dataset / f.filename, "VAELIB_DATA"))
    places.append((cache_root() / f.dataset / f.filename, "cache"))
    places.append((system_root() / f.dataset / f.filename, "system data dir"))
    return places


def _md5(stream: BinaryIO) -> str:
    return stream_digest(stream, "md5")


def _content_sha256(path: Path) -> str | None:
    """SHA-256 of a gzip file's decompressed content, or None if it does not decompress."""
    try:
        with gzip.open(path, "rb") as stream:
            return stream_digest(stream, "sha256")
    except (OSError, EOFError, zlib.error):  # truncated or not gzip at all
        return None


def verify(path: Path, f: RemoteFile, md5: str | None = None) -> tuple[str | None, str]:
    """Check ``path`` against ``f``'s checksums.

    Parameters
    ----------
    path : pathlib.Path
        The file to check.
    f : RemoteFile
        What it should be.
    md5 : str, optional
        The file's md5 if already known (computed while downloading).

    Returns
    -------
    (check, md5) : tuple
        ``check`` names the checksum that matched, or is None when none did; ``md5`` is
        the file's md5 (for error messages).
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, f.md5)
    if key in _VERIFIED:
        return _VERIFIED[key], f.md5
    if md5 is None:
        with open(path, "rb") as stream:
            md5 = _md5(stream)
    check = None
    if md5 == f.md5:
        check = "md5"
    elif f.content_sha256 and f.filename.endswith(".gz") and _content_sha256(path) == f.content_sha256:
        check = "SHA-256 of decompressed content"
    if check:
        _VERIFIED[key] = check
    return check, md5


def _expected(f: RemoteFile) -> str:
    text = f"md5 {f.md5}"
    if f.content_sha256:
        text += f" (or SHA-256 {f.content_sha256} of the decompressed content)"
    return text


def _one_line(err: BaseException) -> str:
    """An exception as one short line (urllib's reasons can span lines)."""
    return " ".join(f"{type(err).__name__}: {err}".split())


def _open_url(url: str):  # noqa: ANN202 - an http.client.HTTPResponse
    """Open ``url`` for streaming; a seam that tests replace to simulate being offline."""
    request = urllib.request.Request(url, headers={"User-Agent": "vaelib"})
    return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310 - fixed http(s) URLs


def _download(url: str, f: RemoteFile, dest: Path) -> str:
    """Download ``url`` to ``dest`` atomically and verify it; return the matching check.

    The bytes stream into a hidden temporary file beside ``dest``; only a verified file
    is renamed onto ``dest`` (``os.replace`` is atomic on one file system). On any
    failure, including Ctrl-C, the temporary file is removed, so a reader never finds a
    half-written file under the real name.
    """
    with atomic_path(dest) as tmp:
        digest = hashlib.md5(usedforsecurity=False)
        started = time.monotonic()
        with open(tmp, "wb") as out, _open_url(url) as response:
            expected_size = response.headers.get("Content-Length")
            size = 0
            while chunk := response.read1(_CHUNK):  # read1: whatever has arrived, so the deadline is checked often
                if time.monotonic() - started > DEADLINE:
                    raise OSError(f"download exceeded the overall deadline of {DEADLINE:g} s after {size} bytes")
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        if expected_size is not None and size != int(expected_size):
            raise OSError(f"incomplete download: got {size} of {expected_size} bytes")
        check, md5 = verify(tmp, f, md5=digest.hexdigest())
        if check is None:
            raise OSError(f"downloaded file failed verification: md5 {md5}, expected {_expected(f)}")
    return check


def _discard_bad_cache_file(path: Path, f: RemoteFile, md5: str) -> None:
    """Delete a cached file that failed verification, if it is ours; warn either way.

    A truncated or corrupted file we wrote is replaced, not fatal. One that a link makes the
    user's, or that cannot be deleted (a read-only cache), is left alone, and the search
    goes on to the next location.
    """
    if not _owned_by_cache(path):
        action = f"it links out of the cache (to {path.resolve()}), so it is left alone"
    else:
        try:
            path.unlink(missing_ok=True)
            action = "deleted it, fetching it again"
        except OSError as err:
            action = f"could not delete it ({_one_line(err)}); trying the next location"
    warnings.warn(
        f"vaelib.data: cached {f.filename} at {path} failed verification (md5 {md5}); {action}",
        DataWarning,
        stacklevel=4,
    )


def _where_to_put(f: RemoteFile) -> str:
    env = os.environ.get("VAELIB_DATA", "").strip()
    cache = cache_root() / f.dataset
    if env:
        return f"put it in {Path(env) / f.dataset}/ (VAELIB_DATA) or {cache}/"
    return f"put it in {cache}/ or in <dir>/{f.dataset}/ and set VAELIB_DATA=<dir>"


def locate(f: RemoteFile, data_dir: str | os.PathLike[str] | None = None, download: bool = True) -> LocatedFile:
    """Return a verified local copy of ``f``, downloading it into the cache if needed.

    Parameters
    ----------
    f : RemoteFile
        The file wanted.
    data_dir : path-like, optional
        Looked in first, as ``<data_dir>/<dataset>/<file>`` and ``<data_dir>/<file>``.
    download : bool
        Download when no verified local copy exists.

    Returns
    -------
    LocatedFile

    Raises
    ------
    DataIntegrityError
        A copy in ``data_dir``, ``$VAELIB_DATA`` or the system directory fails verification.
    DataNotFoundError
        No copy anywhere, and the download was disabled or failed.
    """
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        warnings.warn(
            f"vaelib.data: data_dir {Path(data_dir).expanduser()} does not exist or is not a folder; "
            "looking in the other places",
            DataWarning,
            stacklevel=3,
        )
    searched = []
    for path, origin in _candidates(f, data_dir):
        searched.append(str(path.parent))
        if not path.is_file():
            continue
        check, md5 = verify(path, f)
        if check:
            return LocatedFile(path, origin, check)
        if origin != "cache":
            raise DataIntegrityError(
                f"vaelib.data: refusing {f.filename} at {path} ({origin}): its md5 is {md5}, "
                f"expected {_expected(f)}; the file is altered or incomplete, replace it with {f.url}"
            )
        _discard_bad_cache_file(path, f, md5)

    where = ", ".join(dict.fromkeys(searched))
    if not download:
        raise DataNotFoundError(
            f"vaelib.data: {f.filename} not found (searched {where}) and download=False; "
            f"download it from {f.url} and {_where_to_put(f)}"
        )
    dest = cache_root() / f.dataset / f.filename
    if not _owned_by_cache(dest):
        raise DataNotFoundError(
            f"vaelib.data: {f.filename} not found (searched {where}); not downloading it into {dest.parent}, "
            f"which links out of the cache to {dest.parent.resolve()}: download it from {f.url} and put it there yourself"
        )
    failures = []
    for url in (f.url, f.mirror):
        try:
            check = _download(url, f, dest)
        except (OSError, http.client.HTTPException, ValueError) as err:  # HTTP, DNS, timeouts, bad data
            failures.append(f"{url}: {_one_line(err)}")
            continue
        return LocatedFile(dest, f"downloaded from {url}", check)
    raise DataNotFoundError(
        f"vaelib.data: {f.filename} not found (searched {where}) and could not be downloaded "
        f"({'; '.join(failures)}); download it from {f.url} and {_where_to_put(f)}"
    )
