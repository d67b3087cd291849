"""benchmarks/peers.py: the peers' architectures, the one estimator for all, and the quick run.

The parameter counts are computed here by hand from the sources' layer sizes; the
adapter tests recover the noise each peer drew from its own sample and check that vaelib's
estimator, given the same weights and noise, returns the peer's own loss.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import peers  # noqa: E402


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def conv(kernel: int, c_in: int, c_out: int) -> int:  # also a transposed convolution
    return kernel * kernel * c_in * c_out + c_out


# The sources' layer sizes, layer by layer.
PYTORCH_EXAMPLE = dense(784, 400) + 2 * dense(400, 20) + dense(20, 400) + dense(400, 784)
KERAS_EXAMPLE_ENCODER = conv(3, 1, 32) + conv(3, 32, 64) + dense(7 * 7 * 64, 16) + 2 * dense(16, 2)
KERAS_EXAMPLE_DECODER = dense(2, 7 * 7 * 64) + conv(3, 64, 64) + conv(3, 64, 32) + conv(3, 32, 1)
# "valid" stride-2 3x3 convolutions: 28 -> 13 -> 6
TF_TUTORIAL_ENCODER = conv(3, 1, 32) + conv(3, 32, 64) + dense(6 * 6 * 64, 2 + 2)
TF_TUTORIAL_DECODER = dense(2, 7 * 7 * 32) + conv(3, 32, 64) + conv(3, 64, 32) + conv(3, 32, 1)
PARAMS = {
    "pytorch-example": PYTORCH_EXAMPLE,
    "keras-example": KERAS_EXAMPLE_ENCODER + KERAS_EXAMPLE_DECODER,
    "tf-tutorial": TF_TUTORIAL_ENCODER + TF_TUTORIAL_DECODER,
}


@pytest.fixture(scope="module")
def test_x() -> np.ndarray:
    """Eight binarized test images, as the benchmark scores them."""
    return peers.test_images(8)


def count(model) -> int:
    """Trainable parameters, by the backend's vaelib count_parameters."""
    from vaelib import keras as vk
    from vaelib import torch as vt

    return (vt if hasattr(model, "named_parameters") else vk).count_parameters(model)


def layer_summary(model) -> list[tuple]:
    """(kind, width, kernel, strides, padding, activation) of each Keras layer with weights or a shape change."""
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        width = config.get("filters", config.get("units"))
        kernel = config.get("kernel_size")
        rows.append((type(layer).__name__, width, kernel and tuple(kernel), config.get("strides") and tuple(config["strides"]),
                     config.get("padding"), config.get("activation")))
    return rows


# -- architectures ------------------------------------------------------------------------
def test_pytorch_example_architecture() -> None:
    import peers_torch
    import torch

    model = peers_torch.ExampleVAE()
    assert count(model) == PYTORCH_EXAMPLE == 652_824
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")}
    assert shapes == {"fc1.weight": (400, 784), "fc21.weight": (20, 400), "fc22.weight": (20, 400),
                      "fc3.weight": (400, 20), "fc4.weight": (784, 400)}
    recon, mu, logvar = model(torch.rand(5, 1, 28, 28))
    assert recon.shape == (5, 784) and mu.shape == logvar.shape == (5, 20)
    assert 0 < float(recon.detach().min()) and float(recon.detach().max()) < 1  # sigmoid pixels


def test_keras_example_architecture() -> None:
    import peers_keras

    model = peers_keras.build_keras_example(seed=0)
    assert count(model.encoder) == KERAS_EXAMPLE_ENCODER == 69_076
    assert count(model.decoder) == KERAS_EXAMPLE_DECODER == 65_089
    assert count(model) == PARAMS["keras-example"]
    assert layer_summary(model.encoder)[1:5] == [
        ("Conv2D", 32, (3, 3), (2, 2), "same", "relu"), ("Conv2D", 64, (3, 3), (2, 2), "same", "relu"),
        ("Flatten", None, None, None, None, None), ("Dense", 16, None, None, None, "relu"),
    ]
    assert layer_summary(model.decoder)[1:] == [
        ("Dense", 7 * 7 * 64, None, None, None, "relu"), ("Reshape", None, None, None, None, None),
        ("Conv2DTranspose", 64, (3, 3), (2, 2), "same", "relu"), ("Conv2DTranspose", 32, (3, 3), (2, 2), "same", "relu"),
        ("Conv2DTranspose", 1, (3, 3), (1, 1), "same", "linear"), ("Activation", None, None, None, None, "sigmoid"),
    ]
    z_mean, z_log_var, z = model.encoder(np.zeros((3, 28, 28, 1), "float32"))
    assert z_mean.shape == z_log_var.shape == z.shape == (3, 2)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)  # Keras's default Adam


def test_tf_tutorial_architecture() -> None:
    import peers_keras

    model = peers_keras.TutorialCVAE(latent_dim=2)
    assert count(model.encoder) == TF_TUTORIAL_ENCODER == 28_036
    assert count(model.decoder) == TF_TUTORIAL_DECODER == 41_953
    assert layer_summary(model.encoder)[:2] == [("Conv2D", 32, (3, 3), (2, 2), "valid", "relu"),
                                                ("Conv2D", 64, (3, 3), (2, 2), "valid", "relu")]
    assert layer_summary(model.decoder)[-1] == ("Conv2DTranspose", 1, (3, 3), (1, 1), "same", "linear")  # logits
    mean, logvar = model.encode(np.zeros((3, 28, 28, 1), "float32"))
    assert mean.shape == logvar.shape == (3, 2)
    assert model.decode(mean).shape == (3, 28, 28, 1)


# -- one estimator for all ----------------------------------------------------------------
def noise_of(z, mu, logvar) -> np.ndarray:
    """The standard normal draw behind a reparameterized sample z = mu + exp(logvar / 2) * eps."""
    z, mu, logvar = (np.asarray(t, dtype=np.float64) for t in (z, mu, logvar))
    return ((z - mu) * np.exp(-0.5 * logvar)).astype("float32")


def sharpen(dense_layer, factor: float = 30.0) -> None:
    """Scale a Keras decoder's first kernel: at its initial scale the decoder barely depends on z,
    so a test would pass with the wrong noise as well as with the right one."""
    dense_layer.kernel.assign(dense_layer.kernel * factor)


def assert_noise_matters(value_at_eps: float, value_at_other: float, rel: float = 1e-4) -> None:
    """The value depends on the noise well beyond the tolerance of the comparisons above."""
    assert abs(value_at_other - value_at_eps) > rel * abs(value_at_eps)


def spy_on_reparameterize(model) -> dict:
    """Record the (mean, logvar, z) of the model's next reparameterization, leaving its draw alone."""
    seen = {}
    draw = model.reparameterize

    def recording(mean, logvar):
        seen.update(mu=mean, logvar=logvar, z=draw(mean, logvar))
        return seen["z"]

    model.reparameterize = recording
    return seen


def test_pytorch_example_adapter_gives_its_loss(test_x: np.ndarray) -> None:
    import peers_torch
    import torch

    torch.manual_seed(3)
    model = peers_torch.ExampleVAE()
    seen = spy_on_reparameterize(model)
    x = torch.as_tensor(test_x)
    with torch.no_grad():
        recon, mu, logvar = model(x)
        own_loss = float(peers_torch.example_loss(recon, x, mu, logvar))  # summed over the batch
        eps = noise_of(seen["z"], seen["mu"], seen["logvar"])
        vae = peers_torch.example_as_vaelib_vae(model)
        terms = vae.elbo(test_x, eps=eps)
        assert_noise_matters(float(terms.elbo.sum()), float(vae.elbo(test_x, eps=-eps).elbo.sum()))
    assert -float(terms.elbo.sum()) == pytest.approx(own_loss, rel=1e-6)
    assert own_loss / len(x) > 400  # an untrained model: the check is not of two zeros


def test_keras_example_adapter_gives_its_loss(test_x: np.ndarray) -> None:
    import peers_keras

    model = peers_keras.build_keras_example(seed=3)
    sharpen(model.decoder.layers[1])
    own = model.losses_of(test_x[..., None])
    eps = noise_of(own["z"], own["z_mean"], own["z_log_var"])
    vae = peers_keras.keras_example_as_vaelib_vae(model)
    terms = vae.elbo(test_x, eps=eps)
    assert_noise_matters(float(np.sum(terms.elbo)), float(np.sum(vae.elbo(test_x, eps=-eps).elbo)))
    assert -float(np.mean(terms.log_likelihood)) == pytest.approx(float(own["reconstruction"]), rel=1e-6)
    assert float(np.mean(terms.kl)) == pytest.approx(float(own["kl"]), rel=1e-5, abs=1e-6)
    assert -float(np.mean(terms.elbo)) == pytest.approx(float(own["total"]), rel=1e-6)
    assert float(own["total"]) > 400


def test_tf_tutorial_adapter_gives_its_single_sample_elbo(test_x: np.ndarray) -> None:
    """The tutorial's Monte Carlo ELBO is vaelib's importance-weighted bound with k = 1 on the same noise."""
    import peers_keras
    from vaelib import keras as vk

    vk.seed_everything(3)
    model = peers_keras.TutorialCVAE(latent_dim=2)
    sharpen(model.decoder.layers[0])
    seen = spy_on_reparameterize(model)
    own_loss = float(peers_keras.compute_loss(model, test_x[..., None]))
    eps = noise_of(seen["z"], seen["mu"], seen["logvar"])
    vae = peers_keras.tutorial_as_vaelib_vae(model)
    bound = vk.iwae_bound(vae, test_x, k=1, eps=eps[None])
    assert_noise_matters(float(np.sum(bound)), float(np.sum(vk.iwae_bound(vae, test_x, k=1, eps=-eps[None]))))
    assert -float(np.mean(bound)) == pytest.approx(own_loss, rel=1e-6)
    assert own_loss > 400


def test_vaelib_keras_adapter_matches_the_torch_one_on_the_same_networks(test_x: np.ndarray) -> None:
    """The two adapters, fed the PyTorch example's weights in both frameworks, give the same bound."""
    import peers_keras
    import peers_torch
    import torch
    from vaelib import keras as vk
    from vaelib import torch as vt
    from vaelib.keras._backend import keras

    ops = keras.ops
    torch.manual_seed(4)
    model = peers_torch.ExampleVAE()
    w = {name: p.detach().numpy() for name, p in model.named_parameters()}

    def affine(h, layer):
        return h @ w[f"{layer}.weight"].T + w[f"{layer}.bias"]

    def encode(x):
        h = np.maximum(affine(np.reshape(x, (-1, 784)), "fc1"), 0)
        return affine(h, "fc21"), affine(h, "fc22")

    def decode(z):
        return np.reshape(affine(np.maximum(affine(z, "fc3"), 0), "fc4"), (-1, 28, 28))

    eps = np.random.default_rng(0).standard_normal((5, len(test_x), 20)).astype("float32")
    in_keras = peers_keras.as_vaelib_vae(lambda x: tuple(map(ops.convert_to_tensor, encode(vk.to_numpy(x)))),
                                         lambda z: ops.convert_to_tensor(decode(vk.to_numpy(z))), 20)
    from_keras = vk.to_numpy(vk.iwae_bound(in_keras, test_x, k=5, eps=eps))
    from_torch = vt.to_numpy(vt.iwae_bound(peers_torch.example_as_vaelib_vae(model), test_x, k=5, eps=eps))
    np.testing.assert_allclose(from_keras, from_torch, rtol=1e-5)


# -- the budget -----------------------------------------------------------------------------
def test_images_seen_counts_the_short_last_batch() -> None:
    assert peers.images_seen(468, 60_000, 128) == 468 * 128
    assert peers.images_seen(469, 60_000, 128) == 60_000  # the epoch's last batch holds 96
    assert peers.images_seen(470, 60_000, 128) == 60_128
    assert peers.images_seen(1875 * 2, 60_000, 32) == 120_000


def test_stop_at_budget_takes_a_step_then_stops_when_the_time_is_up() -> None:
    schedule = peers.StopAtBudget(peers.Budget(0.0))
    schedule.budget.start()
    assert schedule(0) == 1.0  # the first step always runs, as in the peers' loops
    with pytest.raises(peers.BudgetSpent):
        schedule(1)
    assert schedule.steps == 1
    patient = peers.StopAtBudget(peers.Budget(3600.0))
    patient.budget.start()
    assert [patient(s) for s in range(5)] == [1.0] * 5


class ClockBudget(peers.Budget):
    """A budget whose clock is set by hand."""

    now = 0.0

    def elapsed(self) -> float:
        return self.now


def test_cosine_over_budget_warms_up_then_decays_to_zero_at_the_end_of_the_clock() -> None:
    budget = ClockBudget(100.0)
    lr = peers.CosineOverBudget(budget, peak=2e-3, warmup=0.1)
    values = {}
    for now in (0.0, 5.0, 10.0, 55.0, 100.0, 250.0):
        budget.now = now
        values[now] = lr(step=123)  # the clock decides, not the step
    assert values[0.0] == pytest.approx(2e-5)  # 1 % of the peak: the first step is not wasted
    assert values[5.0] == pytest.approx(1e-3) and values[10.0] == pytest.approx(2e-3)
    assert values[55.0] == pytest.approx(1e-3)  # half-way through the decay: half the peak
    assert values[100.0] == pytest.approx(0.0, abs=1e-12) and values[250.0] == pytest.approx(0.0, abs=1e-12)
    assert peers.CosineOverBudget(peers.Budget(0.0), 1e-3, 0.0)(0) == pytest.approx(0.0, abs=1e-12)


def test_the_vaelib_contender_runs_the_recipe_by_default() -> None:
    args = peers.parse_args([])
    assert (args.vaelib_batch_size, args.vaelib_learning_rate, args.vaelib_schedule, args.vaelib_warmup,
            args.vaelib_precision) == (256, 2e-3, "cosine", 0.02, "bfloat16")
    assert peers.framework_of("vaelib", args) == "vaelib.torch (conv, d=20, batch 256, cosine lr 0.002, bf16)"
    plain = peers.parse_args(["--vaelib-schedule", "constant", "--vaelib-precision", "float32", "--vaelib-batch-size", "128"])
    assert peers.framework_of("vaelib", plain) == "vaelib.torch (conv, d=20, batch 128, lr 0.002)"
    # One recipe: the benchmark's contender is trained as the shipped reference model vae_conv was.
    sys.path.insert(0, str(ROOT / "book" / "_tools"))
    import train_reference

    reference_fit = train_reference.SPEC_BY_NAME["vae_conv"].fit
    assert reference_fit == {"batch_size": peers.RECIPE["batch_size"], "learning_rate": peers.RECIPE["learning_rate"],
                             "schedule": "warmup_cosine", "warmup": peers.RECIPE["warmup"],
                             "precision": peers.RECIPE["precision"]}
    command = peers.worker_command("vaelib", 120.0, Path("row.json"), args)
    in_worker = peers.parse_args(command[command.index("--budgets"):command.index("--worker-result")])
    assert vars(in_worker) == {**vars(args), "budgets": [120.0]}  # the worker gets every setting, and its budget


class StepBudget(peers.Budget):
    """A budget spent at the ``steps``-th look: a loop that looks after each step takes exactly ``steps``."""

    def __init__(self, steps: int) -> None:
        super().__init__(seconds=0.0)
        self.looks, self.steps = 0, steps

    def spent(self) -> bool:
        self.looks += 1
        return self.looks >= self.steps


@pytest.mark.parametrize("name", list(peers.CONTENDERS))
def test_each_loop_stops_after_the_step_that_spends_the_budget(name: str, fashion_train) -> None:
    """Every trainer takes steps until its budget is spent, then stops (a 300-image set: epochs turn over)."""
    x, labels = fashion_train.images[:300], fashion_train.labels[:300]
    args = peers.parse_args(["--vaelib-architecture", "mlp"])
    vae, steps, seen, seconds, params = peers.TRAINERS[name](x, labels, StepBudget(4), args)
    assert steps == 4
    # batches of 128: 128 + 128 + 44, then a new epoch; of 256 (vaelib's recipe): 256 + 44, twice
    assert seen == {"pytorch-example": 300 + 128, "keras-example": 300 + 128, "tf-tutorial": 4 * 32, "vaelib": 600}[name]
    assert seconds > 0 and params == PARAMS.get(name, PYTORCH_EXAMPLE)  # vaelib's MLP has the example's size
    mu, logvar = vae.encode(peers.test_images(2))  # the trained peer, through vaelib's public method
    assert tuple(mu.shape) == tuple(logvar.shape) == (2, vae.latent_dim)


def test_pytorch_dataset_draws_each_image_afresh_at_every_read() -> None:
    import peers_torch

    data = peers_torch.BinarizedImages(np.full((1, 28, 28), 0.25, np.float32), np.array([7]))
    (first, label), (second, _) = data[0], data[0]
    assert first.shape == (1, 28, 28) and int(label) == 7
    assert set(np.unique(first.numpy())) <= {0.0, 1.0} and not np.array_equal(first.numpy(), second.numpy())
    assert float(first.mean()) == pytest.approx(0.25, abs=0.06)  # 784 pixels: 4 standard deviations


def test_tutorial_pipeline_draws_fresh_binary_images_in_every_epoch() -> None:
    import peers_keras

    dataset = peers_keras.tutorial_dataset(np.full((40, 28, 28), 0.25, np.float32), seed=0)
    epochs = [[batch.numpy() for batch in dataset] for _ in range(2)]
    assert [len(b) for b in epochs[0]] == [32, 8] and epochs[0][0].shape == (32, 28, 28, 1)
    assert not np.array_equal(epochs[0][0], epochs[1][0])
    assert np.concatenate(epochs[0]).mean() == pytest.approx(0.25, abs=0.01)


def test_keras_example_fit_shuffles_every_epoch_anew() -> None:
    """Seeded weights, and still a new order per epoch (with a global seed, Keras's fit repeats one)."""
    import peers_keras
    from vaelib.keras._backend import keras, tf

    class Probe(keras.Model):
        """Records which images (by grey level) each step saw."""

        def __init__(self) -> None:
            super().__init__()
            self.seen = keras.Variable(np.zeros(8, np.float32), trainable=False)

        def train_step(self, data):
            self.seen.assign(data[:, 0, 0, 0] * 16)
            return {"seen": tf.reduce_sum(data)}

    keras.utils.set_random_seed(0)  # as build_keras_example seeds the weights
    probe = Probe()
    probe.compile(optimizer="adam")
    orders = []

    def out_of_time() -> bool:  # called after each step (one epoch of 8 images)
        orders.append(tuple(probe.seen.numpy().astype(int)))
        return len(orders) == 4

    images = np.repeat(np.arange(8, dtype=np.float32) / 16, 28 * 28).reshape(8, 28, 28)
    assert peers_keras.train_keras_example(probe, images, out_of_time) == 4
    assert all(sorted(order) == list(range(8)) for order in orders)
    assert len(set(orders)) > 1


def test_bad_options_get_one_line_errors(capsys: pytest.CaptureFixture) -> None:
    for argv, name in ((["--budgets", "0"], "--budgets"), (["--k", "0"], "--k"), (["--test-images", "-1"], "--test-images"),
                       (["--vaelib-warmup", "1"], "--vaelib-warmup"), (["--vaelib-warmup", "-0.1"], "--vaelib-warmup"),
                       (["--vaelib-schedule", "linear"], "--vaelib-schedule"),
                       (["--vaelib-precision", "float16"], "--vaelib-precision")):
        with pytest.raises(SystemExit):
            peers.parse_args(argv)
        assert name in capsys.readouterr().err


# -- the quick run ---------------------------------------------------------------------------
def test_quick_run_prints_and_writes_a_sane_table(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=240, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = {row["contender"]: row for row in result["rows"]}
    assert list(rows) == list(peers.CONTENDERS)
    assert result["machine"]["threads"] == 2 and result["machine"]["torch"] in done.stdout
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(rows) and all(line.count("|") == len(peers.COLUMNS) + 1 for line in table)
    for name, row in rows.items():
        assert set(peers.COLUMNS) <= set(row)
        assert row["budget_s"] == peers.QUICK["budgets"][0] and row["test_images"] == 64 and row["k"] == 10
        assert row["train_s"] >= row["budget_s"]  # it stops only once the budget is spent
        assert row["steps"] >= 1 and row["images"] >= row["steps"]
        assert row["epochs"] == pytest.approx(row["images"] / 60_000)
        assert row["img_per_s"] == pytest.approx(row["images"] / row["train_s"])
        assert 100 < row["peak_rss_mib"] < 16_000
        assert all(math.isfinite(row[key]) for key in ("elbo", "log_px", "bits_per_dim"))
        assert row["elbo"] < 0 and row["log_px"] < 0
        # The k = 10 bound is above the ELBO in expectation; 64 images leave about a nat of noise.
        assert row["log_px"] > row["elbo"] - 1.0, name
        assert row["bits_per_dim"] == pytest.approx(-row["log_px"] / (784 * math.log(2)))
        if name in PARAMS:
            assert row["params"] == PARAMS[name], name
    assert rows["vaelib"]["framework"].startswith("vaelib.torch (conv, d=20, batch 256, cosine")
