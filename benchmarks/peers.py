#!/usr/bin/env python
"""The course's image VAE against the VAEs readers learn from, at the same wall-clock budgets.

Contenders (our own re-implementations, written from reading the sources, not copied; each
keeps its source's architecture, optimizer, batch size, loss and training loop, see
``peers_torch.py`` and ``peers_keras.py``):

* ``pytorch-example``: the PyTorch examples' MLP VAE (784-400-20), a per-image ``Dataset``
  through a ``DataLoader``, Adam 1e-3, batches of 128, loss summed over the batch;
* ``keras-example``: the Keras examples' convolutional VAE (latent 2), a ``Model`` subclass
  with its own ``train_step`` and ``fit``, Adam 1e-3, batches of 128;
* ``tf-tutorial``: the TensorFlow CVAE tutorial (latent 2), a ``tf.function`` step over a
  ``tf.data`` pipeline, single-sample Monte Carlo ELBO, Adam 1e-4, batches of 32;
* ``vaelib``: ``vl.VAE`` trained by ``vl.fit``; by default the course's best image model,
  chapter 4's convolutional VAE in PyTorch with its recipe (``RECIPE``): batches of 256,
  bfloat16 products, Adam's step size warmed up to 2e-3 over the first 2 % of the budget and
  then decayed to 0 at its end along a cosine (``CosineOverBudget``). Architecture, backend
  and every part of the recipe are options.

Method. Every contender trains on the same data: the 60,000 Fashion-MNIST training images,
dynamically binarized (a fresh Bernoulli draw of every pixel each time an image is used,
as ``vl.fit(..., binarize=True)`` does), with its framework's global generator seeded with
``--seed`` before its model is built. It trains for a wall-clock budget: the clock starts
when its training loop (or ``fit``) is entered, after the model is built, so a framework's
set-up (optimizer, data pipeline) and tracing are paid from the budget, and training stops
after the first step that ends past the budget (``vl.fit`` takes epochs, not seconds: its
one per-step hook, the beta schedule, returns the plain ELBO's 1.0 and ends the run once the
budget is spent). Then every contender is scored by the same estimator, vaelib's
``evaluate``: its test ELBO (with the analytic KL) and the importance-weighted bound with
``--k`` samples as log p(x), both seeded. Each peer's trained encoder and decoder are put in
the network slots of a vaelib ``VAE`` (``as_vaelib_vae``), so the comparison is of models,
not of estimators; the tests check that on fixed weights and noise the adapted model's ELBO
is the peer's own loss. PyTorch models are scored by ``vaelib.torch``, TensorFlow ones by
``vaelib.keras``: twins that give the same numbers from the same weights and noise (tested),
here each with its own seeded noise. The test images are the first ``--test-images`` of the
Fashion-MNIST test split, binarized once with seed 2 (as ``quality.py`` binarizes them).

Each (contender, budget) runs in a fresh Python process, one after the other, on
``THREADS`` CPU threads, so that one framework's import, threads and memory do not weigh on
another's, and the peak resident memory (``ru_maxrss`` at the end of training, imports and
data included) is that contender's own. img/s counts the training images a contender
processed over its training seconds; "eval s" is the time of its scoring. Scoring dominates
a full run: with k = 1000 on 1,000 test images a convolutional decoder decodes a million
images (on an idle two-core AMD EPYC: about 5 minutes for each TensorFlow peer, a minute and
a half for vaelib's conv VAE, 10 seconds for the MLP), so the two default budgets take about
75 minutes in all (4,346 s on 2026-12-02).

Usage::

    python benchmarks/peers.py --budgets 120 600 --test-images 1000 --k 1000 [--out results.json]
    python benchmarks/peers.py --quick      # 3-second budgets, 64 test images, k = 10 (the CI smoke run)
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # vaelib, from a checkout without an install

from vaelib._files import atomic_path  # noqa: E402
from vaelib.data import binarize, load_fashion_mnist  # noqa: E402
from vaelib.metrics import bits_per_dim  # noqa: E402

THREADS = 2
PIXELS = 28 * 28
TEST_SEED = 2  # the binarization of the test images, as in quality.py
# name -> (the framework shown in the table, the vaelib backend that scores it)
CONTENDERS = {
    "pytorch-example": ("PyTorch", "torch"),
    "keras-example": ("Keras 3 (TF)", "keras"),
    "tf-tutorial": ("TensorFlow", "keras"),
    "vaelib": (None, None),  # set by --vaelib-backend
}
FULL = dict(budgets=[120.0, 600.0], test_images=1000, k=1000)
#: vaelib's contender: batch size, Adam's peak step size, its schedule over the budget, precision.
RECIPE = dict(batch_size=256, learning_rate=2e-3, schedule="cosine", warmup=0.02, precision="bfloat16")
QUICK = dict(budgets=[3.0], test_images=64, k=10)
COLUMNS = ("contender", "framework", "params", "budget_s", "steps", "epochs", "img_per_s", "peak_rss_mib",
           "elbo", "log_px", "bits_per_dim", "eval_s")


# -- the budget --------------------------------------------------------------------------
class Budget:
    """A wall-clock budget: ``start()`` when training starts, ``spent()`` after each step."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._start = math.nan

    def start(self) -> None:
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def spent(self) -> bool:
        return self.elapsed() >= self.seconds


class BudgetSpent(Exception):
    """Raised by :class:`StopAtBudget` to end ``vl.fit`` before the step after the budget."""


class StopAtBudget:
    """A beta schedule for ``vl.fit``: 1.0 (the ELBO) at every step until the budget is spent.

    ``fit`` calls its schedule before each step, with the number of steps taken so far, so
    ``steps`` is the number of steps taken when it stops the run.
    """

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.steps = 0

    def __call__(self, step: int) -> float:
        self.steps = step
        if step > 0 and self.budget.spent():
            raise BudgetSpent
        return 1.0


def images_seen(steps: int, n: int, batch_size: int) -> int:
    """Images in ``steps`` batches of a loop that cuts each epoch of n into batches, the last one short."""
    per_epoch = math.ceil(n / batch_size)
    epochs, rest = divmod(steps, per_epoch)
    return epochs * n + min(rest * batch_size, n)


class CosineOverBudget:
    """A learning-rate schedule for ``vl.fit`` that spans a wall-clock budget, not a step count.

    ``schedules.warmup_cosine`` needs the run's number of steps, which a time budget does not
    fix in advance; this reads the budget's clock instead: a linear rise to ``peak`` over the
    first ``warmup`` of the budget, then half a cosine down to 0 at its end.
    """

    def __init__(self, budget: Budget, peak: float, warmup: float) -> None:
        self.budget, self.peak, self.warmup = budget, peak, warmup

    def __call__(self, step: int) -> float:
        done = min(max(self.budget.elapsed() / self.budget.seconds, 0.0), 1.0) if self.budget.seconds > 0 else 1.0
        if done < self.warmup:
            return self.peak * max(done / self.warmup, 0.01)
        return self.peak * 0.5 * (1.0 + math.cos(math.pi * (done - self.warmup) / (1.0 - self.warmup)))


# -- the contenders (each run in its own worker process) ---------------------------------
def train_pytorch_example(x: np.ndarray, labels: np.ndarray, budget: Budget, args: argparse.Namespace):
    import peers_torch
    from vaelib import torch as vt

    model = peers_torch.build_example(args.seed)
    budget.start()
    steps, seen = peers_torch.train_example(model, x, labels, budget.spent)
    seconds = budget.elapsed()
    return peers_torch.example_as_vaelib_vae(model), steps, seen, seconds, vt.count_parameters(model)


def train_keras_example(x: np.ndarray, labels: np.ndarray, budget: Budget, args: argparse.Namespace):
    import peers_keras
    from vaelib import keras as vk

    model = peers_keras.build_keras_example(args.seed)
    budget.start()
    steps = peers_keras.train_keras_example(model, x, budget.spent)
    seconds = budget.elapsed()
    seen = images_seen(steps, len(x), peers_keras.KERAS_EXAMPLE["batch_size"])
    return peers_keras.keras_example_as_vaelib_vae(model), steps, seen, seconds, vk.count_parameters(model)


def train_tf_tutorial(x: np.ndarray, labels: np.ndarray, budget: Budget, args: argparse.Namespace):
    import peers_keras
    from vaelib import keras as vk

    model = peers_keras.build_tutorial(args.seed)
    budget.start()
    steps, seen = peers_keras.train_tutorial(model, x, budget.spent, args.seed)
    seconds = budget.elapsed()
    return peers_keras.tutorial_as_vaelib_vae(model), steps, seen, seconds, vk.count_parameters(model)


def train_vaelib(x: np.ndarray, labels: np.ndarray, budget: Budget, args: argparse.Namespace):
    vl = importlib.import_module(f"vaelib.{args.vaelib_backend}")
    vl.seed_everything(args.seed)
    model = vl.VAE(args.vaelib_architecture, latent_dim=args.vaelib_latent_dim, hidden_dim=args.vaelib_hidden_dim)
    schedule = StopAtBudget(budget)
    learning_rate = (CosineOverBudget(budget, args.vaelib_learning_rate, args.vaelib_warmup)
                     if args.vaelib_schedule == "cosine" else args.vaelib_learning_rate)
    budget.start()
    try:
        vl.fit(model, x, epochs=1_000_000, batch_size=args.vaelib_batch_size, learning_rate=learning_rate,
               beta=schedule, binarize=True, seed=args.seed, verbose=False, precision=args.vaelib_precision)
    except BudgetSpent:
        pass
    seconds = budget.elapsed()
    seen = images_seen(schedule.steps, len(x), args.vaelib_batch_size)
    return model, schedule.steps, seen, seconds, vl.count_parameters(model)


# Each trainer builds its contender, trains it for the budget and returns (a vaelib VAE to score,
# steps, training images seen, training seconds, trainable parameters).
TRAINERS: dict[str, Callable] = {
    "pytorch-example": train_pytorch_example,
    "keras-example": train_keras_example,
    "tf-tutorial": train_tf_tutorial,
    "vaelib": train_vaelib,
}


def set_threads(backend: str) -> None:
    """``THREADS`` compute threads for the framework this worker uses (before its first op)."""
    if backend == "torch":
        import torch

        torch.set_num_threads(THREADS)
    else:
        from vaelib.keras._backend import tf

        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(THREADS)


def backend_of(name: str, args: argparse.Namespace) -> str:
    return args.vaelib_backend if name == "vaelib" else CONTENDERS[name][1]


def framework_of(name: str, args: argparse.Namespace) -> str:
    if name == "vaelib":
        schedule = "cosine " if args.vaelib_schedule == "cosine" else ""
        precision = ", bf16" if args.vaelib_precision == "bfloat16" else ""
        return (f"vaelib.{args.vaelib_backend} ({args.vaelib_architecture}, d={args.vaelib_latent_dim}, "
                f"batch {args.vaelib_batch_size}, {schedule}lr {args.vaelib_learning_rate:g}{precision})")
    return CONTENDERS[name][0]


def test_images(n: int) -> np.ndarray:
    """The first n Fashion-MNIST test images, binarized once with a fixed seed."""
    return binarize(load_fashion_mnist("test").images[:n], seed=TEST_SEED)


def run_contender(name: str, budget_s: float, args: argparse.Namespace) -> dict[str, Any]:
    """Train one contender for one budget, then score it with vaelib's ``evaluate``: one table row."""
    backend = backend_of(name, args)
    set_threads(backend)
    train = load_fashion_mnist("train")
    x_test = test_images(args.test_images)
    vae, steps, seen, seconds, params = TRAINERS[name](train.images, train.labels, Budget(budget_s), args)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    vl = importlib.import_module(f"vaelib.{backend}")
    start = time.perf_counter()
    scores = vl.evaluate(vae, x_test, k=args.k, seed=args.seed)
    eval_s = time.perf_counter() - start
    return dict(contender=name, framework=framework_of(name, args), params=int(params), budget_s=budget_s,
                steps=steps, epochs=seen / len(train.images), images=seen, train_s=seconds,
                img_per_s=seen / seconds, peak_rss_mib=peak_rss_mib, elbo=scores["elbo"], log_px=scores["log_px"],
                bits_per_dim=float(bits_per_dim(-scores["log_px"], PIXELS)),
                test_images=len(x_test), k=args.k, seed=args.seed, eval_s=eval_s)


# -- the driver ---------------------------------------------------------------------------
def worker_command(name: str, budget_s: float, result: Path, args: argparse.Namespace) -> list[str]:
    """The command line of a worker process that runs one contender and writes its row to ``result``."""
    return [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--budgets", str(budget_s),
            "--test-images", str(args.test_images), "--k", str(args.k), "--seed", str(args.seed),
            "--vaelib-backend", args.vaelib_backend, "--vaelib-architecture", args.vaelib_architecture,
            "--vaelib-latent-dim", str(args.vaelib_latent_dim), "--vaelib-hidden-dim", str(args.vaelib_hidden_dim),
            "--vaelib-batch-size", str(args.vaelib_batch_size),
            "--vaelib-learning-rate", repr(args.vaelib_learning_rate), "--vaelib-schedule", args.vaelib_schedule,
            "--vaelib-warmup", repr(args.vaelib_warmup), "--vaelib-precision", args.vaelib_precision,
            "--worker-result", str(result)]


def run_worker(name: str, budget_s: float, args: argparse.Namespace) -> dict[str, Any]:
    """Run one contender in a fresh process and return its row."""
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), KERAS_BACKEND="tensorflow",
               TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "row.json"
        done = subprocess.run(worker_command(name, budget_s, result, args), env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"contender {name} (budget {budget_s:g} s) failed:\n{done.stderr[-3000:]}")
        return json.loads(result.read_text())


def lscpu() -> dict[str, str]:
    """The fields ``lscpu`` prints ("Model name", "Flags", ...); empty where it cannot run."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def machine(fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The CPU model, thread count and package versions (read without importing the frameworks).

    ``fields``: what :func:`lscpu` printed, when the caller has it already.
    """
    fields = lscpu() if fields is None else fields
    model = fields.get("Model name") or platform.processor() or platform.machine()
    versions = {}
    for package in ("torch", "tensorflow", "keras"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "absent"
    return dict(cpu=model, cores=os.cpu_count(), threads=THREADS, python=platform.python_version(), **versions)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    head = ("| contender | framework | params | budget s | steps | epochs | img/s | peak RSS MiB "
            "| test ELBO nats | log p(x) nats | bits/dim | eval s |")
    lines = [head, "|---|---|" + "---:|" * (len(COLUMNS) - 2)]
    for r in rows:
        lines.append(f"| {r['contender']} | {r['framework']} | {r['params']:,} | {r['budget_s']:g} | {r['steps']:,} "
                     f"| {r['epochs']:.2f} | {r['img_per_s']:,.0f} | {r['peak_rss_mib']:,.0f} | {r['elbo']:.2f} "
                     f"| {r['log_px']:.2f} | {r['bits_per_dim']:.4f} | {r['eval_s']:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"the CI smoke run: {QUICK}")
    p.add_argument("--budgets", type=float, nargs="+", help=f"wall-clock budgets in seconds (default {FULL['budgets']})")
    p.add_argument("--test-images", type=int, help=f"test images scored (default {FULL['test_images']})")
    p.add_argument("--k", type=int, help=f"importance samples of the log p(x) estimate (default {FULL['k']})")
    p.add_argument("--contenders", nargs="+", choices=list(CONTENDERS), default=list(CONTENDERS))
    p.add_argument("--seed", type=int, default=0, help="seed of every contender's initial weights and training")
    p.add_argument("--vaelib-backend", choices=["torch", "keras"], default="torch")
    p.add_argument("--vaelib-architecture", choices=["mlp", "conv"], default="conv")
    p.add_argument("--vaelib-latent-dim", type=int, default=20)
    p.add_argument("--vaelib-hidden-dim", type=int, default=400)
    # The course's best image model and its recipe (chapter 4, "A recipe for a budget").
    p.add_argument("--vaelib-batch-size", type=int, default=RECIPE["batch_size"])
    p.add_argument("--vaelib-learning-rate", type=float, default=RECIPE["learning_rate"],
                   help="Adam's step size (the peak of the cosine schedule)")
    p.add_argument("--vaelib-schedule", choices=["cosine", "constant"], default=RECIPE["schedule"],
                   help="cosine: warm up over --vaelib-warmup of the budget, then decay to 0 at its end")
    p.add_argument("--vaelib-warmup", type=float, default=RECIPE["warmup"], help="fraction of the budget, in [0, 1)")
    p.add_argument("--vaelib-precision", choices=["float32", "bfloat16"], default=RECIPE["precision"])
    p.add_argument("--out", type=Path, help="write the machine and the rows to this JSON file (atomically)")
    p.add_argument("--worker", choices=list(CONTENDERS), help=argparse.SUPPRESS)
    p.add_argument("--worker-result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for key, default in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    if min(args.budgets) <= 0:
        p.error(f"--budgets: expected positive seconds, got {args.budgets}")
    for key in ("test_images", "k", "vaelib_latent_dim", "vaelib_hidden_dim", "vaelib_batch_size"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')}: expected a positive integer, got {getattr(args, key)}")
    if not args.vaelib_learning_rate > 0:
        p.error(f"--vaelib-learning-rate: expected a positive number, got {args.vaelib_learning_rate}")
    if not 0 <= args.vaelib_warmup < 1:
        p.error(f"--vaelib-warmup: expected a fraction in [0, 1), got {args.vaelib_warmup}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:  # a worker: one contender, one budget, its row to a file
        row = run_contender(args.worker, args.budgets[0], args)
        args.worker_result.write_text(json.dumps(row))
        return 0
    host = machine()
    print(f"Fashion-MNIST train (60,000 images, dynamically binarized); test: the first {args.test_images} test images "
          f"binarized with seed {TEST_SEED}; log p(x): vaelib's IWAE bound, k={args.k}; seed {args.seed}", flush=True)
    print(f"machine: {host['cpu']}, {host['cores']} cores, {host['threads']} threads per contender; python "
          f"{host['python']}, torch {host['torch']}, tensorflow {host['tensorflow']}, keras {host['keras']}", flush=True)
    start, rows = time.perf_counter(), []
    for budget_s in args.budgets:
        for name in args.contenders:
            rows.append(run_worker(name, budget_s, args))
            print(f"  done: {name}, {budget_s:g} s budget", file=sys.stderr, flush=True)
    print(format_table(rows))
    print(f"total wall time: {time.perf_counter() - start:.0f} s")
    if args.out is not None:
        with atomic_path(args.out) as tmp:
            settings = {key: value for key, value in vars(args).items() if not key.startswith("worker")}
            tmp.write_text(json.dumps(dict(machine=host, settings=settings, rows=rows), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
