"""Values and messages that mutation testing found unchecked in the framework-free modules
(vaelib.metrics, vaelib.data): each expected value is computed here, independently.

The network is cut off in every test (support.go_offline via the real_data_offline fixture).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest
from support import SHARED
from test_data_images import idx

from vaelib import metrics
from vaelib.data import DataNotFoundError, ImageData, SmokeCarveOutWarning, binarize, train_val_split
from vaelib.data import load_fashion_mnist, load_images, load_mnist
from vaelib.data import _carve, _fetch, _registry
from vaelib.data.batching import batches_by_length, pad_batch
from vaelib.data.images import parse_idx, read_idx
from vaelib.data.ptb import Vocabulary, load_ptb, load_ptb_corpus

pytestmark = pytest.mark.usefixtures("real_data_offline")
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv("VAELIB_SMOKE", "1")


@pytest.fixture
def only_data_dir(monkeypatch, tmp_path):
    """No $VAELIB_DATA and an empty system folder: files are found only through data_dir."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("VAELIB_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("VAELIB_SYSTEM_DATA", str(tmp_path / "empty"))


# --- vaelib.metrics ----------------------------------------------------------------------


def test_posterior_check_counts_examples_not_latent_dimensions():
    # Five examples of a one-dimensional latent are valid; one example of three is not.
    np.testing.assert_allclose(metrics.active_unit_variances(np.arange(5.0)[:, None]), [np.var(np.arange(5.0))])
    with pytest.raises(ValueError, match=r"^mu: expected shape \(examples >= 2, latent_dim\), got \(1, 3\)$"):
        metrics.active_unit_variances(np.zeros((1, 3)))
    with pytest.raises(ValueError) as err:
        metrics.active_unit_variances(np.array([[0.0, np.nan], [1.0, 2.0]]))
    assert str(err.value) == "mu: contains NaN values"
    with pytest.raises(ValueError) as err:
        metrics.active_units(np.zeros((3, 2)), threshold=-1)
    assert str(err.value) == "threshold: expected a non-negative number, got -1"


def test_log_mean_exp_peaks_per_row_and_keeps_the_other_axes():
    # Rows 1000 nats apart: a single global peak would underflow the second row to -inf.
    a = np.array([[0.0, math.log(3.0)], [-1000.0, -1000.0 + math.log(3.0)]])
    np.testing.assert_allclose(metrics.log_mean_exp(a, axis=1), [math.log(2.0), -1000.0 + math.log(2.0)], rtol=1e-12)
    # float32 input is computed in float64: log(mean(exp([0, 1e-4]))) has digits float32 lacks
    lme = metrics.log_mean_exp(np.array([0.0, 1e-4], np.float32))
    assert lme.dtype == np.float64 and lme == pytest.approx(np.logaddexp(0.0, float(np.float32(1e-4))) - math.log(2.0), rel=1e-12)
    out = metrics.log_mean_exp(np.zeros((3, 1)), axis=0)
    assert out.shape == (1,) and out[0] == 0.0


def test_bits_per_dim_of_one_dimension_and_its_types():
    assert metrics.bits_per_dim(math.log(2.0), 1) == pytest.approx(1.0, rel=1e-15)
    assert type(metrics.bits_per_dim(2.0, 1)) is float
    out = metrics.bits_per_dim(np.array([math.log(4.0)], dtype=np.float32), 1)
    assert out.dtype == np.float64 and out[0] == np.float64(np.float32(math.log(4.0))) / math.log(2.0)
    assert metrics.bits_per_dim(np.array([1.0], dtype=np.longdouble), 1).dtype == np.float64


def _mutual_information_by_hand(mu, logvar, seed):
    """The estimator of metrics.mutual_information written out with loops, same draws."""
    n, d = mu.shape
    std = np.exp(0.5 * logvar)
    z = mu + std * np.random.default_rng(seed).standard_normal(mu.shape)

    def log_q(zi, j):  # log N(zi; mu_j, diag(std_j^2))
        return sum(-0.5 * math.log(2 * math.pi * std[j, k] ** 2) - 0.5 * ((zi[k] - mu[j, k]) / std[j, k]) ** 2
                   for k in range(d))

    own = np.mean([log_q(z[i], i) for i in range(n)])
    agg = np.mean([np.logaddexp.reduce([log_q(z[i], j) for j in range(n)]) - math.log(n) for i in range(n)])
    return own - agg


def test_mutual_information_against_the_estimator_written_out():
    rng = np.random.default_rng(5)
    mu, logvar = rng.normal(size=(7, 2)), rng.normal(scale=0.5, size=(7, 2))
    for seed in (0, 3):
        assert metrics.mutual_information(mu, logvar, seed=seed) == pytest.approx(
            _mutual_information_by_hand(mu, logvar, seed), rel=1e-10, abs=1e-12
        )
    # float32 posteriors are computed in float64, to the same precision
    mu32, logvar32 = mu.astype(np.float32), logvar.astype(np.float32)
    assert metrics.mutual_information(mu32, logvar32, seed=1) == pytest.approx(
        _mutual_information_by_hand(mu32.astype(np.float64), logvar32.astype(np.float64), 1), rel=1e-10, abs=1e-12
    )
    variances = metrics.active_unit_variances(mu32)
    assert variances.dtype == np.float64
    np.testing.assert_allclose(variances, np.var(mu32.astype(np.float64), axis=0), rtol=1e-13)
    # seed defaults to 0, so the default is reproducible
    assert metrics.mutual_information(mu, logvar) == metrics.mutual_information(mu, logvar, seed=0)


# --- vaelib.data.images ----------------------------------------------------------------


@pytest.mark.parametrize(
    "buf, message",
    [
        (b"\x00\x00\x08", "IDX data: not an IDX file (magic number 3 bytes only, expected 0000 + type code + ndim)"),
        (b"\x00\x01\x08\x01" + bytes(5), "IDX data: not an IDX file (magic number 00010801, expected 0000 + type code + ndim)"),
        (b"\x01\x00\x08\x01" + bytes(5), "IDX data: not an IDX file (magic number 01000801, expected 0000 + type code + ndim)"),
        (b"\x00\x00\x08\x01\x00\x00", "IDX data: IDX header announces 1 dimensions but the file ends after 6 bytes"),
        (b"\x00\x00\x07\x00", "IDX data: not an IDX file (magic number 00000700, expected 0000 + type code + ndim)"),
        (b"\x00\x00\x08\x00", "IDX data: IDX header says shape () (1 data bytes) but the file holds 0 data bytes"),
    ],
    ids=["three-bytes", "second-byte", "first-byte", "header-cut", "four-bytes-bad-type", "four-bytes-no-data"],
)
def test_parse_idx_default_name_and_each_magic_byte(buf, message):
    with pytest.raises(ValueError) as err:
        parse_idx(buf)
    assert str(err.value) == message


def test_parse_idx_accepts_the_smallest_files():
    # ndim 0: a 4-byte header and one value; ndim 1 of length 0: the header alone.
    np.testing.assert_array_equal(parse_idx(b"\x00\x00\x08\x00\x07"), np.array(7, np.uint8))
    assert parse_idx(idx(np.zeros(0, np.uint8))).shape == (0,)
    np.testing.assert_array_equal(parse_idx(idx(np.array([3, 4], np.uint8))), [3, 4])


def test_read_idx_names_the_file_in_its_errors(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(idx(np.arange(3, dtype=np.uint8))[:-1])
    with pytest.raises(ValueError) as err:
        read_idx(path)
    assert str(err.value) == f"{path}: IDX header says shape (3,) (3 data bytes) but the file holds 2 data bytes"


def _fake_mnist_test(tmp_path, monkeypatch, images: np.ndarray, labels: np.ndarray):
    files = []
    for name, arr in (("i.gz", images), ("l.gz", labels)):
        body = gzip.compress(idx(arr))
        (tmp_path / name).write_bytes(body)
        md5 = hashlib.md5(body).hexdigest()
        files.append(_registry.RemoteFile("mnist", name, md5, None, "http://x/" + name, "http://y/" + name))
    monkeypatch.setitem(_registry.DATASETS, "mnist", _registry.Dataset("mnist", "MNIST", {"train": (), "test": tuple(files)}))


def test_label_file_errors_name_counts_and_range(tmp_path, monkeypatch):
    _fake_mnist_test(tmp_path, monkeypatch, np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8))
    with pytest.raises(ValueError) as err:
        load_mnist("test", data_dir=tmp_path)
    assert str(err.value) == f"{tmp_path / 'l.gz'}: (2,) labels for 3 images in {tmp_path / 'i.gz'}"
    _fake_mnist_test(tmp_path, monkeypatch, np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 2], np.uint8))
    with pytest.raises(ValueError) as err:
        load_mnist("test", data_dir=tmp_path)
    assert str(err.value) == f"{tmp_path / 'l.gz'}: label 10 outside 0..9"
    # label 9, the last class, is accepted
    _fake_mnist_test(tmp_path, monkeypatch, np.full((2, 28, 28), 255, np.uint8), np.array([9, 0], np.uint8))
    data = load_mnist("test", data_dir=tmp_path)
    assert data.labels.tolist() == [9, 0] and data.images.min() == 1.0


def test_defaults_are_fashion_mnist_train_with_download(monkeypatch, tmp_path):
    # No system copy: the message of the failed search names the default data set, split and
    # the download it tried (full mode, offline).
    monkeypatch.setenv("VAELIB_SYSTEM_DATA", str(tmp_path / "nowhere"))
    cache = _fetch.cache_root() / "fashion-mnist"
    urls = [_registry.split_files("fashion-mnist", "train")[0].url, _registry.split_files("fashion-mnist", "train")[0].mirror]
    expected = (
        f"vaelib.data: train-images-idx3-ubyte.gz not found (searched {SHARED}/fashion-mnist, {cache}, "
        f"{tmp_path / 'nowhere'}/fashion-mnist) and could not be downloaded "
        f"({urls[0]}: URLError: <urlopen error network disabled in tests ({urls[0]})>; "
        f"{urls[1]}: URLError: <urlopen error network disabled in tests ({urls[1]})>); "
        f"download it from {urls[0]} and put it in {SHARED}/fashion-mnist/ (VAELIB_DATA) or {cache}/"
    )
    for load in (load_images, load_fashion_mnist):
        with pytest.raises(DataNotFoundError) as err:
            load()
        assert str(err.value) == expected
    with pytest.raises(DataNotFoundError) as err:  # download=False: no download tried
        load_fashion_mnist(download=False)
    assert "could not be downloaded" not in str(err.value) and "train-images-idx3-ubyte.gz not found" in str(err.value)
    for load in (load_mnist, load_ptb):  # their training files are not on disk either
        with pytest.raises(DataNotFoundError):
            load()


def test_data_dir_reaches_the_file_search(only_data_dir, smoke):
    fashion = load_fashion_mnist("test", data_dir="/usr/share/datasets")
    assert len(fashion) == 10000 and "/usr/share/datasets" in fashion.source
    with pytest.warns(SmokeCarveOutWarning):
        mnist = load_mnist("test", data_dir=SHARED)  # carved from the test split found in data_dir
    assert len(mnist) == 2000
    with pytest.warns(SmokeCarveOutWarning):
        corpus = load_ptb_corpus(data_dir=SHARED)
    assert len(corpus.valid) > 0 and len(corpus.test) == 3761


def test_binarize_compares_float32_draws_strictly():
    images = np.array([0.0, 1.0, 0.25, 0.5, 0.75] * 200, dtype=np.float32)
    draws = np.random.default_rng(4).random(images.shape, dtype=np.float32)
    np.testing.assert_array_equal(binarize(images, seed=4), (draws < images).astype(np.float32))
    # A pixel equal to its draw stays off (strict comparison), and a pixel of 0 is never on.
    assert binarize(draws, seed=4).max() == 0.0
    # float64 pixels are rounded to float32 first: a hair above each draw rounds back onto it
    assert binarize(draws.astype(np.float64) + 1e-12, seed=4).max() == 0.0
    assert binarize(np.zeros(10**5, np.float32), seed=0).max() == 0.0


def test_train_val_split_default_seed_and_source_notes():
    data = ImageData(np.zeros((10, 28, 28), np.float32), np.arange(10), ("a",), "toy", "train", "src")
    train, val = train_val_split(data, 3)
    perm = np.random.default_rng(0).permutation(10)
    assert val.labels.tolist() == sorted(perm[:3].tolist()) and train.labels.tolist() == sorted(perm[3:].tolist())
    assert train.source == "src; train_val_split(val_size=3, seed=0): train part 7 of 10"
    assert val.source == "src; train_val_split(val_size=3, seed=0): validation part 3 of 10"


# --- vaelib.data.batching ---------------------------------------------------------------


def test_pad_batch_is_int64_for_a_numpy_pad_id():
    out = pad_batch([np.array([1, 2]), np.array([3])], pad_id=np.int32(7))
    assert out.dtype == np.int64 and out.tolist() == [[1, 2], [3, 7]]


def test_batches_by_length_keeps_ties_in_order_and_shuffles():
    seqs = [np.full(1 + (i % 2), i + 1) for i in range(200)]  # two lengths, many ties
    rows = np.concatenate([b[:, 0] for b in batches_by_length(seqs, batch_size=200, shuffle=False)]) - 1
    assert rows.tolist() == list(range(0, 200, 2)) + list(range(1, 200, 2))
    shuffled = np.concatenate([b[:, 0] for b in batches_by_length(seqs, batch_size=200, shuffle=True, seed=0)]) - 1
    assert sorted(shuffled.tolist()) == list(range(200)) and shuffled.tolist() != rows.tolist()


# --- vaelib.data.ptb --------------------------------------------------------------------


def test_vocabulary_messages_and_hash():
    with pytest.raises(ValueError) as err:
        Vocabulary(["a", "b", "c", "d", "e"])
    assert str(err.value) == f"itos: expected to start with {SPECIALS}, got ['a', 'b', 'c', 'd']"
    with pytest.raises(TypeError) as err:
        Vocabulary([*SPECIALS, 5])
    assert str(err.value) == "itos: expected str tokens"
    with pytest.raises(ValueError):
        Vocabulary.from_sentences([["a"]], max_size=5.0)
    one, same, other = Vocabulary([*SPECIALS, "a"]), Vocabulary([*SPECIALS, "a"]), Vocabulary([*SPECIALS, "b"])
    assert hash(one) == hash(same) and hash(one) != hash(other)
    assert len({one, same, other}) == 2


def test_carve_missing_train_true_carves_in_full_mode():
    with pytest.warns(SmokeCarveOutWarning):
        corpus = load_ptb_corpus(carve_missing_train=True, max_length=1)
    assert len(corpus.train) > 0 and all(len(s) <= 2 for s in corpus.train)  # one word and <eos>
    assert "; train: dropped" in corpus.source
    with pytest.raises(DataNotFoundError):
        load_ptb_corpus(carve_missing_train=False)
    with pytest.raises(ValueError) as err:
        load_ptb_corpus(carve_missing_train="yes")
    assert str(err.value) == "carve_missing_train: expected True, False or None, got 'yes'"


def test_smoke_test_split_alone_is_not_carved(smoke):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_ptb("test")) == 3761


# --- vaelib.data._fetch and _carve ------------------------------------------------------


OPEN_URL = _fetch._open_url  # kept before go_offline replaces it in every test
TOY = _registry.RemoteFile("toy", "x.bin", hashlib.md5(b"good").hexdigest(), None, "http://x/x.bin", "http://y/x.bin")


def test_open_url_sends_the_user_agent_and_the_timeout(monkeypatch):
    seen = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: seen.append((request, timeout)) or "ok")
    assert OPEN_URL("http://example.invalid/f") == "ok"
    (request, timeout), = seen
    assert request.header_items() == [("User-agent", "vaelib")] and timeout == 10.0 == _fetch.TIMEOUT


def test_data_dir_file_origin_and_search_without_vaelib_data(monkeypatch, tmp_path):
    (tmp_path / "x.bin").write_bytes(b"good")
    found = _fetch.locate(TOY, data_dir=tmp_path, download=False)
    assert (found.path, found.origin) == (tmp_path / "x.bin", "data_dir")
    monkeypatch.delenv("VAELIB_DATA")
    with pytest.raises(DataNotFoundError) as err:
        _fetch.locate(TOY, download=False)
    assert f"(searched {_fetch.cache_root() / 'toy'}, {_fetch.system_root() / 'toy'})" in str(err.value)


def test_bad_cache_file_warning_names_file_md5_and_action():
    bad = _fetch.cache_root() / "toy" / "x.bin"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"bad")
    with pytest.warns(_fetch.DataWarning) as caught, pytest.raises(DataNotFoundError):
        _fetch.locate(TOY, download=False)
    (w,) = caught
    assert str(w.message) == (
        f"vaelib.data: cached x.bin at {bad} failed verification (md5 {hashlib.md5(b'bad').hexdigest()}); "
        "deleted it, fetching it again"
    )
    assert not bad.exists()


def test_carve_out_names_an_unusual_source_and_rejects_other_splits():
    carve = _carve.CarveOut("Toy", "train", ("a.txt",), "extra", 10, 0.8, "items")
    assert carve.message() == (
        "vaelib.data: Toy train split (a.txt) is not available offline; training on the first 8 of the "
        "10 extra items, using as extra on the other 2"
    )
    with pytest.raises(ValueError) as err:
        carve.part("test")
    assert str(err.value) == "split: 'test' is not part of the Toy carve-out"


# --- the download flag reaches every file search (a fake server, files of toy data sets) ---


class _Response(io.BytesIO):
    def __init__(self, body: bytes):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body))}


def _toy(dataset: str, name: str, body: bytes, served: dict, where=None) -> _registry.RemoteFile:
    """A registry entry for ``body``, served by the fake server, and written to ``where`` if given."""
    if where is not None:
        (where / name).write_bytes(body)
    f = _registry.RemoteFile(dataset, name, hashlib.md5(body).hexdigest(), None, f"http://x/{name}", f"http://y/{name}")
    served[f.url] = body
    return f


@pytest.fixture
def fake_server(monkeypatch, only_data_dir):
    served: dict[str, bytes] = {}

    def open_url(url):
        if url not in served:
            raise urllib.error.URLError(f"not served ({url})")
        return _Response(served[url])

    monkeypatch.setattr(_fetch, "_open_url", open_url)
    return served


def _toy_mnist(monkeypatch, served, n=5, train_served=True):
    gz = {k: gzip.compress(idx(a)) for k, a in
          {"i": np.zeros((n, 28, 28), np.uint8), "l": np.arange(n, dtype=np.uint8) % 10}.items()}
    train = tuple(_toy("mnist", f"tr-{k}.gz", gz[k], served) for k in "il")
    test = tuple(_toy("mnist", f"te-{k}.gz", gz[k], served) for k in "il")
    if not train_served:
        for f in train:
            del served[f.url]
    monkeypatch.setitem(_registry.DATASETS, "mnist", _registry.Dataset("mnist", "MNIST", {"train": train, "test": test}))


def test_image_loaders_pass_download_on(monkeypatch, fake_server, smoke):
    _toy_mnist(monkeypatch, fake_server)
    # download=False: nothing on disk, so no training files and no test split to carve from
    with pytest.raises(DataNotFoundError, match="tr-i.gz not found|te-i.gz not found"):
        load_mnist("train", download=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # downloadable: no carve-out
        assert len(load_mnist("train")) == 5


def test_image_test_split_is_downloaded_for_a_carve_out_and_not_without_download(monkeypatch, fake_server, smoke):
    _toy_mnist(monkeypatch, fake_server, train_served=False)
    with pytest.raises(DataNotFoundError):
        load_mnist("test", download=False)
    with pytest.warns(SmokeCarveOutWarning):
        assert len(load_mnist("test")) == 1


def _toy_ptb(monkeypatch, served, where=None, serve_train=True):
    train = _toy("ptb", "ptb.train.txt", b"a b c\nd e\n", served, where=where)
    if not serve_train:
        del served[train.url]
    valid = _toy("ptb", "ptb.valid.txt", b"a\nb\nc\nd\ne\n", served)
    test = _toy("ptb", "ptb.test.txt", b"e d\n", served)
    splits = {"train": (train,), "valid": (valid,), "test": (test,)}
    monkeypatch.setitem(_registry.DATASETS, "ptb", _registry.Dataset("ptb", "PTB", splits))


def test_ptb_corpus_downloads_every_split(monkeypatch, fake_server):
    _toy_ptb(monkeypatch, fake_server)
    with pytest.raises(DataNotFoundError):
        load_ptb("test", download=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # downloadable: no carve-out even when allowed
        corpus = load_ptb_corpus(carve_missing_train=True)
    assert [len(corpus.train), len(corpus.valid), len(corpus.test)] == [2, 5, 1]


def test_ptb_train_in_data_dir_is_found_before_any_carve_out(monkeypatch, fake_server, tmp_path, smoke):
    _toy_ptb(monkeypatch, fake_server, tmp_path, serve_train=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corpus = load_ptb_corpus(data_dir=tmp_path, carve_missing_train=True)
    assert len(corpus.train) == 2
    (tmp_path / "ptb.train.txt").unlink()
    fake_server["http://x/ptb.train.txt"] = b"a b c\nd e\n"
    with pytest.warns(SmokeCarveOutWarning):  # download=False: carved although the server has it
        assert len(load_ptb("train", download=False)) == 4

