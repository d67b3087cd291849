"""Training throughput of the reference MLP VAE (784-400-20, batch 128) on Fashion-MNIST.

Side by side in one run, on 2 CPU threads:

* ``vaelib.torch.fit`` against a bare hand-written PyTorch loop over in-memory tensors;
* ``vaelib.keras.fit`` against a bare ``Model.fit`` with a minimal custom ``train_step``.

The bare loops compute the same loss with the same networks and optimizer and nothing
else (no validation, no NaN check, no metric bookkeeping): the practical ceiling on this
CPU. Each contender trains for ``--epochs`` epochs per run, as ``fit`` is used (its set-up,
such as checking the data once, is paid once per run). Runs alternate (bare, vaelib, bare,
vaelib, ...), and the ratio is the median over the pairs of adjacent runs of their speed
ratio. On the shared 2-core machines the course is built on, the speed of a run is not one
number: runs of the same code land near one of two speeds (for Keras about 11,000 or about
18,000 img/s) for reasons outside the program, so a ratio of two medians, or of two fastest
runs, can swing by 30 % from one invocation to the next; the median of the pairs' ratios
moves by a few percent. The table gives each contender's median speed, the median paired
ratio and the range of the pairs' ratios. Bar: each median paired ratio >= 0.95.

Usage: ``python benchmarks/throughput.py [--epochs 1] [--repeats 9] [--train-size 60000] [--frameworks torch keras]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import vaelib.keras  # noqa: F401  (selects Keras's TensorFlow backend and imports TensorFlow quietly)
from vaelib.data import load_fashion_mnist

THREADS = 2
BATCH = 128


# -- PyTorch ----------------------------------------------------------------------------
def bare_torch_runner(x: np.ndarray):
    """A hand-written VAE and loop: nn.Linear layers, Adam, random batches of a tensor."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    enc, mu_l, lv_l = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
    dec_h, dec_o = nn.Linear(20, 400), nn.Linear(400, 784)
    params = [p for m in (enc, mu_l, lv_l, dec_h, dec_o) for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-8)
    data = torch.as_tensor(x).flatten(1)

    def run(epochs: int) -> None:
        for _ in range(epochs):
            order = torch.randperm(len(data))
            for start in range(0, len(data), BATCH):
                xb = data[order[start : start + BATCH]]
                h = F.relu(enc(xb))
                mu, logvar = mu_l(h), lv_l(h)
                z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
                logits = dec_o(F.relu(dec_h(z)))
                rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="none").sum(1)
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
                loss = (rec + kl).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

    return run


def vaelib_torch_runner(x: np.ndarray):
    from vaelib import torch as vl

    vl.seed_everything(0)
    model = vl.VAE("mlp", latent_dim=20, hidden_dim=400)
    return lambda epochs: vl.fit(model, x, epochs=epochs, batch_size=BATCH, verbose=False)


# -- Keras ------------------------------------------------------------------------------
def bare_keras_runner(x: np.ndarray):
    """A minimal Keras VAE: a Model with a custom train_step that tracks only the loss."""
    import keras
    import tensorflow as tf

    ops = keras.ops

    class BareVAE(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.enc = keras.layers.Dense(400, activation="relu")
            self.mu = keras.layers.Dense(20)
            self.logvar = keras.layers.Dense(20)
            self.dec_h = keras.layers.Dense(400, activation="relu")
            self.dec_o = keras.layers.Dense(784)
            self.noise = keras.random.SeedGenerator(0)
            self.tracker = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.tracker]

        def build(self, input_shape):
            for layer, n_in in ((self.enc, 784), (self.mu, 400), (self.logvar, 400), (self.dec_h, 20), (self.dec_o, 400)):
                layer.build((None, n_in))

        def call(self, xb):
            h = self.enc(ops.reshape(xb, (-1, 784)))
            return self.mu(h), self.logvar(h)

        def train_step(self, xb):
            xb = ops.reshape(xb, (-1, 784))
            with tf.GradientTape() as tape:
                mu, logvar = self(xb)
                z = mu + ops.exp(0.5 * logvar) * keras.random.normal(ops.shape(mu), seed=self.noise)
                logits = self.dec_o(self.dec_h(z))
                rec = ops.sum(ops.softplus(logits) - xb * logits, axis=1)
                kl = 0.5 * ops.sum(ops.square(mu) + ops.exp(logvar) - 1 - logvar, axis=1)
                loss = ops.mean(rec + kl)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply(grads, self.trainable_weights)
            self.tracker.update_state(loss)
            return {"loss": self.tracker.result()}

    keras.utils.set_random_seed(0)
    model = BareVAE()
    model.build((None, 784))  # create every weight before fit
    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-8), jit_compile=False)
    return lambda epochs: model.fit(x, epochs=epochs, batch_size=BATCH, shuffle=True, verbose=0)


def vaelib_keras_runner(x: np.ndarray):
    from vaelib import keras as vl

    vl.seed_everything(0)
    model = vl.VAE("mlp", latent_dim=20, hidden_dim=400)
    return lambda epochs: vl.fit(model, x, epochs=epochs, batch_size=BATCH, verbose=False)


def time_runs(contenders: dict[str, callable], epochs: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per epoch of each contender's runs, interleaved, after a one-epoch warm-up each."""
    for run in contenders.values():
        run(1)  # warm-up: graph tracing, allocator, caches
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run(epochs)
            times[name].append((time.perf_counter() - start) / epochs)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per contender (medians reported)")
    parser.add_argument("--train-size", type=int, default=60000, help="training images (Fashion-MNIST train)")
    parser.add_argument("--frameworks", nargs="+", default=["torch", "keras"], choices=["torch", "keras"],
                        help="which comparisons to run (default both)")
    args = parser.parse_args()

    import torch
    import tensorflow as tf

    torch.set_num_threads(THREADS)
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)

    x = load_fashion_mnist("train").images[: args.train_size]
    print(f"MLP VAE 784-400-20, batch {BATCH}, Fashion-MNIST train ({len(x):,} images), "
          f"{THREADS} CPU threads; {args.repeats} interleaved runs of {args.epochs} epoch(s) per contender after a warm-up")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"python {platform.python_version()}, torch {torch.__version__}, tensorflow {tf.__version__}")
    rows = []
    comparisons = {
        "torch": ("PyTorch", bare_torch_runner, vaelib_torch_runner),
        "keras": ("Keras", bare_keras_runner, vaelib_keras_runner),
    }
    for framework, bare, lib in (comparisons[name] for name in args.frameworks):
        times = time_runs({"bare": bare(x), "vaelib": lib(x)}, args.epochs, args.repeats)
        rate = {name: len(x) / statistics.median(t) for name, t in times.items()}
        ratios = [b / v for b, v in zip(times["bare"], times["vaelib"])]  # speed ratio of each pair
        rows.append((framework, rate["bare"], rate["vaelib"], statistics.median(ratios), min(ratios), max(ratios)))

    print("\n| framework | bare loop, median run (img/s) | vaelib, median run (img/s) "
          "| ratio vaelib/bare, median of pairs | range of the pairs' ratios | bar >= 0.95 |")
    print("|---|---:|---:|---:|:---:|:---:|")
    for framework, bare_rate, lib_rate, paired, low, high in rows:
        print(f"| {framework} | {bare_rate:,.0f} | {lib_rate:,.0f} | {paired:.3f} | {low:.2f} to {high:.2f} "
              f"| {'yes' if paired >= 0.95 else 'NO'} |")


if __name__ == "__main__":
    main()
