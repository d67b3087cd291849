"""Framework-free helpers against values worked out here: word choice in decoding, checkpoint
formats told from their bytes, file checksums."""

from __future__ import annotations

import hashlib
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from vaelib._checkpoints import check_kind, checkpoint_format, wrong_format_error
from vaelib._files import file_sha256
from vaelib._text import decode_loop

PAD, BOS, EOS, UNK = 0, 1, 2, 3
MODEL = SimpleNamespace(pad_id=PAD, bos_id=BOS, eos_id=EOS, unk_id=UNK)


def _table_step(tables: np.ndarray):
    """A decoder whose logits for row i depend only on row i's previous word: tables[i, prev]."""
    calls = []

    def step(tokens: np.ndarray) -> np.ndarray:
        calls.append(tokens.copy())
        return tables[np.arange(len(tokens)), tokens]

    return step, calls


def _greedy_tables() -> np.ndarray:
    t = np.zeros((2, 6, 6))
    # Row 0: after <bos>, <pad> and <bos> score highest (never generated), then <unk>, then 4;
    # 4 -> 5 -> <eos>.
    t[0, BOS] = [10, 9.5, 0, 9, 8, 1]
    t[0, 4, 5] = t[0, 5, EOS] = 1
    # Row 1: <bos> -> 5 -> 4 -> 4 -> <eos>.
    t[1, BOS, 5] = t[1, 5, 4] = 1
    t[1, 4] = [0, 0, 0.5, 0, 1, 0]
    return t


def test_greedy_decoding_picks_the_best_allowed_word_and_pads_after_eos():
    step, calls = _table_step(_greedy_tables())
    out = decode_loop(step, MODEL, 2, 6, allow_unk=False)
    np.testing.assert_array_equal(out, [[4, 5, EOS, PAD, PAD, PAD], [5, 4, 4, 4, 4, 4]])
    assert out.dtype == np.int64
    assert len(calls) == 6  # row 1 never ends: max_length steps
    np.testing.assert_array_equal(calls[0], [BOS, BOS])
    np.testing.assert_array_equal(calls[3], [EOS, 4])  # each row is fed its previous word
    np.testing.assert_array_equal(calls[4], [PAD, 4])  # and a finished row <pad>


def test_unk_is_allowed_by_default_and_the_loop_stops_when_every_row_has_ended():
    tables = _greedy_tables()
    tables[1, 4] = [0, 0, 2, 0, 1, 0]  # row 1 now ends: <bos> -> 5 -> 4 -> <eos>
    tables[0, UNK, 4] = 1
    step, calls = _table_step(tables)
    out = decode_loop(step, MODEL, 2, 8)
    np.testing.assert_array_equal(out, [[UNK, 4, 5, EOS, PAD, PAD, PAD, PAD], [5, 4, EOS, PAD, PAD, PAD, PAD, PAD]])
    assert len(calls) == 4  # stopped after the step where the last row produced <eos>


def test_decoding_checks_max_length():
    step, _ = _table_step(_greedy_tables())
    with pytest.raises(ValueError, match=r"^max_length: expected an integer >= 1, got 0"):
        decode_loop(step, MODEL, 2, 0)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_sampled_words_follow_the_tempered_softmax_over_allowed_words(temperature):
    n, logits = 6000, np.array([3.0, 2.0, 0.0, 1.0, 400.0, 400.5, 399.0])  # large: no overflow allowed
    step = lambda tokens: np.tile(logits, (len(tokens), 1))  # noqa: E731
    words = decode_loop(step, MODEL, n, 1, temperature=temperature, rng=np.random.default_rng(0))[:, 0]
    allowed = np.array([EOS, UNK, 4, 5, 6])
    scaled = logits[allowed] / temperature
    p = np.exp(scaled - scaled.max())
    p /= p.sum()
    freq = np.array([(words == w).mean() for w in allowed])
    assert set(np.unique(words)) <= set(allowed)  # never <pad> or <bos>
    np.testing.assert_allclose(freq, p, atol=4 * np.sqrt(0.25 / n))


def test_sampling_is_the_inverse_cdf_of_the_rngs_uniform_draws():
    logits = np.array([[0.0, 0.0, 1.0, 0.5, 2.0], [0.0, 0.0, 3.0, -1.0, 0.0]])
    step = lambda tokens: logits  # noqa: E731
    out = decode_loop(step, MODEL, 2, 1, temperature=1.0, rng=np.random.default_rng(3))[:, 0]
    u = np.random.default_rng(3).random(2)
    p = np.exp(logits)
    p[:, [PAD, BOS]] = 0
    cdf = np.cumsum(p / p.sum(1, keepdims=True), axis=1)
    np.testing.assert_array_equal(out, [np.searchsorted(cdf[i], u[i], side="right") for i in range(2)])


# -- checkpoint formats --------------------------------------------------------------------
def _zip(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return path


@pytest.mark.parametrize("names, expected", [
    (["config.json", "model.weights.h5", "metadata.json"], "keras"),
    (["config.json"], None),
    (["model.weights.h5"], None),
    (["CONFIG.JSON", "MODEL.WEIGHTS.H5"], None),
    (["archive/data.pkl", "archive/data/0", "archive/version"], "torch"),
    (["data.pkl"], None),  # torch.save puts its entries in one folder
    (["archive/DATA.PKL"], None),
    (["archive/data.pkl.bak"], None),
])
def test_a_checkpoint_format_is_told_from_the_zip_entries(tmp_path, names, expected):
    assert checkpoint_format(_zip(tmp_path / "file", names)) == expected


def test_files_that_are_no_zip_have_no_checkpoint_format(tmp_path):
    (tmp_path / "text").write_text("not a zip")
    assert checkpoint_format(tmp_path / "text") is None
    assert checkpoint_format(tmp_path / "absent") is None


def test_the_refusals_name_the_file_and_what_it_is():
    assert str(wrong_format_error("m.pt", "keras", "torch")) == (
        "path: m.pt is a vaelib.torch checkpoint (.pt); load it with vaelib.torch.load_checkpoint, "
        "or carry the weights across with export_weights and import_weights")
    assert str(wrong_format_error("m.keras", "torch", "keras")).startswith(
        "path: m.keras is a vaelib.keras checkpoint (.keras); load it with vaelib.keras.load_checkpoint")
    assert str(wrong_format_error("f", "torch", None)) == "path: f is not a vaelib.torch checkpoint"
    empty = wrong_format_error("f", "keras", None, "an empty file")
    assert str(empty) == "path: f is not a vaelib.keras checkpoint (an empty file)"
    assert check_kind("f", 3, int) == 3 and check_kind("f", 3, None) == 3
    with pytest.raises(ValueError, match=r"^\w+: f holds a int, expected a str$"):  # named by the argument
        check_kind("f", 3, str)


def test_file_sha256_is_hashlibs_over_several_blocks(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (5 << 19) + 17, dtype=np.uint8).tobytes()  # 2.5 MiB + 17
    (tmp_path / "blob").write_bytes(data)
    assert file_sha256(tmp_path / "blob") == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(tmp_path / "blob")) == hashlib.sha256(data).hexdigest()
