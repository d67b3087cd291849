"""Framework-free pieces: KL and learning-rate schedules, collapse metrics, execution modes."""

import math

import numpy as np
import pytest

from vaelib import budget, is_quick, is_smoke, mode
from vaelib import metrics
from vaelib.metrics import active_unit_variances, active_units, log_mean_exp, mutual_information
from vaelib.schedules import (as_learning_rate_schedule, as_schedule, constant, cyclical, learning_rate_at, linear,
                              logistic, warmup_cosine)


def test_schedule_values():
    assert [linear(4)(s) for s in (0, 1, 2, 4, 100)] == [0.0, 0.25, 0.5, 1.0, 1.0]
    assert linear(10, start=0.5, end=1.5)(5) == pytest.approx(1.0)
    assert logistic(midpoint=100, steepness=0.1)(100) == pytest.approx(0.5)
    assert logistic(midpoint=100, steepness=0.1)(0) == pytest.approx(1 / (1 + math.exp(10)))
    assert logistic(midpoint=0, steepness=1.0)(10**6) == 1.0  # no overflow far past the midpoint
    assert [cyclical(10, ratio=0.5)(s) for s in (0, 2, 5, 9, 10, 12)] == [0.0, 0.4, 1.0, 1.0, 0.0, 0.4]
    assert constant(0.3)(123) == 0.3 and as_schedule(2.0)(5) == 2.0
    schedule = linear(3)
    assert as_schedule(schedule) is schedule


def test_warmup_cosine_rises_then_falls_to_its_end():
    lr = warmup_cosine(total_steps=104, peak=2e-3, warmup_steps=4, end=1e-4)
    # warm-up: (step + 1) / (warmup + 1) of the peak, so step 0 already moves the weights
    assert [lr(s) for s in range(4)] == pytest.approx([4e-4, 8e-4, 1.2e-3, 1.6e-3])
    assert lr(4) == pytest.approx(2e-3)  # the peak, where the cosine starts
    assert lr(54) == pytest.approx(1e-4 + 0.5 * 1.9e-3)  # half way down the 100 decay steps
    assert lr(4 + 25) == pytest.approx(1e-4 + 1.9e-3 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert lr(104) == pytest.approx(1e-4) and lr(10**6) == pytest.approx(1e-4)  # then it stays at the end
    values = [lr(s) for s in range(4, 105)]
    assert all(b <= a for a, b in zip(values, values[1:]))  # never rises after the warm-up
    assert warmup_cosine(10, peak=1.0)(0) == 1.0  # no warm-up: the peak at once
    assert as_learning_rate_schedule(1e-3)(7) == 1e-3
    assert as_learning_rate_schedule(np.float32(0.5))(0) == 0.5
    assert as_learning_rate_schedule(lr) is lr
    assert learning_rate_at(lambda step: np.float32(0.25), 0) == 0.25 and learning_rate_at(lambda step: 0, 0) == 0.0


@pytest.mark.parametrize("make,message", [
    (lambda: linear(0), r"warmup_steps: expected an integer >= 1, got 0"),
    (lambda: logistic(10, steepness=0), r"steepness: expected a positive number, got 0"),
    (lambda: cyclical(10, ratio=1.5), r"ratio: expected a number in \(0, 1\], got 1.5"),
    (lambda: linear(5)(-1), r"step: expected a non-negative integer, got -1"),
    (lambda: warmup_cosine(0), r"total_steps: expected an integer >= 1, got 0"),
    (lambda: warmup_cosine(10.0), r"total_steps: expected an integer >= 1, got 10.0"),
    (lambda: warmup_cosine(True), r"total_steps: expected an integer >= 1, got True"),
    (lambda: warmup_cosine(10, warmup_steps=10), r"warmup_steps: expected an integer in \[0, total_steps\) = \[0, 10\), got 10"),
    (lambda: warmup_cosine(10, warmup_steps=-1), r"warmup_steps: expected an integer in \[0, total_steps\) = \[0, 10\), got -1"),
    (lambda: warmup_cosine(10, warmup_steps=2.5), r"warmup_steps: expected an integer in .*, got 2.5"),
    (lambda: warmup_cosine(10, peak=0.0), r"peak: expected a positive number, got 0.0"),
    (lambda: warmup_cosine(10, peak=float("nan")), r"peak: expected a positive number, got nan"),
    (lambda: warmup_cosine(10, peak=1e-3, end=-1e-4), r"end: expected a non-negative number, got -0.0001"),
    (lambda: warmup_cosine(10, peak=1e-3, end=2e-3), r"end: expected a number <= peak \(0.001\), got 0.002"),
    (lambda: warmup_cosine(10)(-1), r"step: expected a non-negative integer, got -1"),
    (lambda: as_learning_rate_schedule(0.0), r"learning_rate: expected a positive number or a schedule, got 0.0"),
    (lambda: as_learning_rate_schedule("1e-3"), r"learning_rate: expected a positive number or a schedule, got '1e-3'"),
    (lambda: learning_rate_at(lambda step: -1.0, 3), r"learning_rate: expected the schedule to give a non-negative number, "
                                                      r"got -1.0 at step 3"),
])
def test_bad_schedules(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_active_units_counts_dimensions_whose_mean_varies():
    rng = np.random.default_rng(0)
    mu = np.c_[rng.normal(size=(500, 3)), 0.01 * rng.normal(size=(500, 2))]  # 3 active, 2 collapsed
    assert active_units(mu) == 3
    np.testing.assert_allclose(active_unit_variances(mu)[:3], 1.0, atol=0.15)
    with pytest.raises(ValueError, match=r"mu: expected shape \(examples >= 2, latent_dim\), got \(5,\)"):
        active_units(np.zeros(5))


def test_mutual_information_matches_the_gaussian_closed_form():
    # x ~ N(0, s2 I), q(z|x) = N(x, v I): q(z) = N(0, (s2 + v) I), I(x; z) = D/2 log(1 + s2/v).
    rng = np.random.default_rng(0)
    s2, v, d = 1.0, 0.25, 2
    mu = rng.normal(scale=math.sqrt(s2), size=(4000, d))
    estimate = mutual_information(mu, np.full_like(mu, math.log(v)), seed=1)
    assert estimate == pytest.approx(d / 2 * math.log(1 + s2 / v), abs=0.05)
    assert mutual_information(np.zeros((100, 3)), np.zeros((100, 3))) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"logvar: expected the shape of mu \(100, 3\), got \(100, 2\)"):
        mutual_information(np.zeros((100, 3)), np.zeros((100, 2)))


def test_log_mean_exp_is_stable():
    assert log_mean_exp(np.array([1000.0, 1000.0])) == pytest.approx(1000.0)
    assert log_mean_exp(np.array([0.0, math.log(3.0)])) == pytest.approx(math.log(2.0))


@pytest.mark.parametrize("variable", ["VAELIB_QUICK", "VAELIB_SMOKE"])
def test_budget_follows_the_mode(monkeypatch, capsys, variable):
    for name in ("VAELIB_QUICK", "VAELIB_SMOKE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "1")
    assert is_quick() and is_smoke() and mode() == "quick"
    assert budget(full=dict(epochs=10), quick=dict(epochs=1)).epochs == 1
    assert capsys.readouterr().out == "Mode: quick (short training runs). Budget: epochs=1\n"
    monkeypatch.setenv(variable, "0")
    assert budget(full=dict(epochs=10), quick=dict(epochs=1), verbose=False).epochs == 10
    monkeypatch.delenv(variable)
    assert mode() == "full" and not is_quick()
    assert budget(full=dict(epochs=10), quick=dict(epochs=1)).epochs == 10
    assert capsys.readouterr().out == "Mode: full (set VAELIB_QUICK=1 for short training runs). Budget: epochs=10\n"
    with pytest.raises(ValueError, match=r"budget: full and quick must have the same keys, they differ in \['k'\]"):
        budget(full=dict(epochs=1, k=5), quick=dict(epochs=1))


def test_bits_per_dim_converts_summed_nats():
    # A uniform distribution over 256 grey levels codes every pixel in exactly 8 bits.
    assert metrics.bits_per_dim(-784 * np.log(256), 784) == pytest.approx(-8.0, rel=1e-12)
    # One fair coin per pixel: 1 bit per dimension; arrays convert element-wise.
    values = metrics.bits_per_dim(np.array([784 * np.log(2), 2 * 784 * np.log(2)]), 784)
    np.testing.assert_allclose(values, [1.0, 2.0], rtol=1e-12)
    assert isinstance(metrics.bits_per_dim(np.float32(-100.0), np.int64(784)), float)


@pytest.mark.parametrize("num_dims", [0, -784, 2.5, "784", True, None])
def test_bits_per_dim_rejects_bad_dimension_counts(num_dims):
    with pytest.raises(ValueError, match=r"^num_dims: expected a positive integer, got "):
        metrics.bits_per_dim(-100.0, num_dims)
