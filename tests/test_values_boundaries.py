"""Arguments exactly at their documented edges: the last accepted value and the first refused
one, with the result worked out here (framework-free code)."""

from __future__ import annotations

import numpy as np
import pytest

from vaelib._arrays import to_numpy
from vaelib.data import Vocabulary, batches_by_length, binarize, pad_batch
from vaelib.data.images import ImageData, train_val_split
from vaelib.schedules import cyclical, linear


def test_a_one_step_warmup_and_a_one_step_cycle_are_valid():
    assert [linear(1)(s) for s in (0, 1, 5)] == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"^warmup_steps: expected an integer >= 1, got 0$"):
        linear(0)
    assert [cyclical(1)(s) for s in (0, 1, 2)] == [0.0, 0.0, 0.0]  # every step starts a cycle
    with pytest.raises(ValueError, match=r"^cycle_steps: expected an integer >= 1, got 0$"):
        cyclical(0)


def test_a_cycle_may_ramp_over_all_of_its_steps_but_not_over_none():
    assert [cyclical(4, ratio=1.0)(s) for s in range(5)] == [0.0, 0.25, 0.5, 0.75, 0.0]
    assert [cyclical(4, ratio=0.5, end=2.0)(s) for s in range(4)] == [0.0, 1.0, 2.0, 2.0]
    for ratio in (0.0, 1.5):
        with pytest.raises(ValueError, match=rf"^ratio: expected a number in \(0, 1\], got {ratio}$"):
            cyclical(4, ratio=ratio)


def test_batches_of_one_sentence_each():
    seqs = [np.array([5, 2]), np.array([4, 4, 2]), np.array([2])]
    batches = list(batches_by_length(seqs, 1, shuffle=False))
    assert [b.tolist() for b in batches] == [[[2]], [[5, 2]], [[4, 4, 2]]]  # by increasing length
    with pytest.raises(ValueError, match=r"^batch_size: expected a positive int, got 0$"):
        batches_by_length(seqs, 0)


def test_pad_batch_gives_int64_whatever_the_input_ints():
    out = pad_batch([np.array([3, 4], np.int32), np.array([5], np.uint8)])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[3, 4], [5, 0]])


def test_binarize_accepts_exactly_zero_and_one_and_refuses_above_one():
    x = np.array([[0.0, 1.0, 1.0, 0.0]])
    for dtype in (np.float64, np.uint8, bool):
        out = binarize(x.astype(dtype), seed=0)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, x)
    with pytest.raises(ValueError):
        binarize(np.array([0.5, 1.5]), seed=0)
    draws = binarize(np.full((200, 50), 0.3, np.float64), seed=1)
    assert set(np.unique(draws)) == {0.0, 1.0} and abs(draws.mean() - 0.3) < 4 * np.sqrt(0.21 / draws.size)


def _image_data(n):
    names = tuple(str(i) for i in range(10))
    return ImageData(np.zeros((n, 28, 28), np.float32), np.arange(n) % 10, names, "mnist", "train", "a test")


def test_a_validation_part_of_one_example_and_fractions_strictly_inside_zero_one():
    data = _image_data(10)
    train, val = train_val_split(data, 1, seed=0)
    assert len(val.images) == 1 and len(train.images) == 9
    train, val = train_val_split(data, 0.3, seed=0)
    assert len(val.images) == 3 and len(train.images) == 7
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match=rf"^val_size: expected a fraction in \(0, 1\), got {bad}$"):
            train_val_split(data, bad)


def test_a_vocabulary_of_only_the_special_tokens_is_the_smallest():
    vocab = Vocabulary.from_sentences([["a", "b"], ["a"]], max_size=4)
    assert len(vocab) == 4 and "a" not in vocab
    assert len(Vocabulary.from_sentences([["a", "b"], ["a"]], max_size=5)) == 5
    with pytest.raises(ValueError, match=r"^max_size: expected an int >= 4 \(the special tokens\) or None, got 3$"):
        Vocabulary.from_sentences([["a"]], max_size=3)


def test_decoding_refuses_the_first_id_past_the_vocabulary():
    vocab = Vocabulary.from_sentences([["a", "b"]])
    assert vocab.decode([len(vocab) - 1]) == [vocab.itos[-1]]
    with pytest.raises(ValueError, match=rf"^ids: id {len(vocab)} is outside the vocabulary of size {len(vocab)}"):
        vocab.decode([len(vocab)])


def test_vocabularies_are_equal_and_hash_alike_exactly_when_their_tokens_are():
    a, b = Vocabulary.from_sentences([["x", "y"]]), Vocabulary.from_sentences([["x", "y"]])
    c = Vocabulary.from_sentences([["x", "z"]])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != c and len({a, c}) == 2
    assert a != a.itos and not (a == "x")


def test_to_numpy_reads_any_tensor_like_through_its_methods():
    class TfLike:
        def numpy(self):
            return np.array([1.0, 2.0])

    class TorchLike:
        def __init__(self):
            self.calls = []

        def detach(self):
            self.calls.append("detach")
            return self

        def cpu(self):
            self.calls.append("cpu")
            return self

        def numpy(self):
            self.calls.append("numpy")
            return np.array([3.0])

    np.testing.assert_array_equal(to_numpy(TfLike()), [1.0, 2.0])
    torch_like = TorchLike()
    np.testing.assert_array_equal(to_numpy(torch_like), [3.0])
    assert torch_like.calls == ["detach", "cpu", "numpy"]
    plain = [1, 2]
    assert to_numpy(plain) is plain
