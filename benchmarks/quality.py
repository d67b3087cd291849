#!/usr/bin/env python
"""Quality of the course's image VAEs at a fixed CPU budget, in both frameworks.

Trains the MLP and the convolutional VAE on dynamically binarized Fashion-MNIST (and MNIST
when its official training files are present) with ``vaelib.torch`` and ``vaelib.keras``
and prints one table: the test ELBO and the importance-weighted estimate of log p(x)
(k samples) in nats, with the wall time, plus the PyTorch-vs-Keras gap per model.

Both frameworks start from the same initial weights (a PyTorch initialization carried into
Keras with ``export_weights``/``import_weights``) and see the same training images, the same
budget and the same binarized test images; they differ only in their random streams (batch
order, binarization, reparameterization noise).

Default budget (the "full" budget the book reports)::

    python benchmarks/quality.py
    # MLP 10 epochs, conv 5 epochs, on 55,000 training images (5,000 held out), batch 128,
    # Adam 1e-3; test ELBO on all 10,000 test images; log p(x) with k=1000 on the first
    # 1,000 test images; seed 0

Quick run (about a minute or two on two cores)::

    python benchmarks/quality.py --smoke

Every budget flag can be changed (``--help``); the table states the budget it ran with.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from vaelib import data

FULL = dict(epochs_mlp=10, epochs_conv=5, train_size=55_000, k=1000, iwae_n=1000, test_size=10_000)
SMOKE = dict(epochs_mlp=1, epochs_conv=1, train_size=1_000, k=50, iwae_n=50, test_size=500)
VAL_SIZE = 5_000  # held out of the training split, as in the chapter (not used for training)


@dataclass
class Row:
    dataset: str
    framework: str
    model: str
    epochs: int
    train_size: int
    elbo: float
    log_px: float
    train_s: float
    eval_s: float
    seed: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help=f"tiny budget for a quick check: {SMOKE}")
    p.add_argument("--epochs-mlp", type=int, help=f"epochs of the MLP VAE (default {FULL['epochs_mlp']})")
    p.add_argument("--epochs-conv", type=int, help=f"epochs of the conv VAE (default {FULL['epochs_conv']})")
    p.add_argument("--train-size", type=int, help=f"training images (default {FULL['train_size']})")
    p.add_argument("--k", type=int, help=f"importance samples of the log p(x) estimate (default {FULL['k']})")
    p.add_argument("--iwae-n", type=int, help=f"test images for the log p(x) estimate (default {FULL['iwae_n']})")
    p.add_argument("--test-size", type=int, help=f"test images for the ELBO (default {FULL['test_size']})")
    p.add_argument("--frameworks", nargs="+", default=["torch", "keras"], choices=["torch", "keras"])
    p.add_argument("--models", nargs="+", default=["mlp", "conv"], choices=["mlp", "conv"])
    p.add_argument("--datasets", nargs="+", default=["fashion_mnist", "mnist"], choices=["fashion_mnist", "mnist"])
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of training (default 0)")
    args = p.parse_args(argv)
    base = SMOKE if args.smoke else FULL
    for key, default in base.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')}: expected a positive integer, got {getattr(args, key)}")
    args.iwae_n = min(args.iwae_n, args.test_size)
    return args


def load_official(name: str) -> tuple[np.ndarray, np.ndarray] | str:
    """(training images, binarized test images) of the official splits, or why they are missing.

    A smoke-mode carve-out (``VAELIB_SMOKE=1``) is turned into an error: the benchmark
    measures the official splits or nothing.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", data.SmokeCarveOutWarning)
            train = data.load_images(name, "train")
            test = data.load_images(name, "test")
    except (data.DataNotFoundError, data.SmokeCarveOutWarning) as err:
        return f"{type(err).__name__}: {err}"
    train, _ = data.train_val_split(train, VAL_SIZE, seed=0)
    return train.images, data.binarize(test.images, seed=2)


def backends(names: list[str]) -> dict:
    libs = {}
    if "torch" in names:
        from vaelib import torch as vt

        libs["torch"] = vt
    if "keras" in names:
        from vaelib import keras as vk

        libs["keras"] = vk
    return libs


def run(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    libs = backends(args.frameworks)
    rows: list[Row] = []
    notes: list[str] = []
    for name in args.datasets:
        loaded = load_official(name)
        if isinstance(loaded, str):
            notes.append(f"{name}: skipped, its official files are not available ({loaded})")
            continue
        train_images, test_bin = loaded
        x_train, x_test = train_images[: args.train_size], test_bin[: args.test_size]
        for arch in args.models:
            epochs = args.epochs_mlp if arch == "mlp" else args.epochs_conv
            initial = None
            for fw, vl in libs.items():
                vl.seed_everything(args.seed)
                model = vl.VAE(arch)
                if initial is None:
                    initial = vl.export_weights(model)
                else:
                    vl.import_weights(model, initial)
                t0 = time.time()
                vl.fit(model, x_train, epochs=epochs, binarize=True, seed=args.seed, verbose=False)
                t1 = time.time()
                elbo = vl.evaluate(model, x_test)["elbo"]
                log_px = vl.evaluate(model, x_test[: args.iwae_n], k=args.k)["log_px"]
                rows.append(Row(name, fw, arch, epochs, len(x_train), elbo, log_px, t1 - t0, time.time() - t1, args.seed))
                print(f"  done: {name} {fw} {arch} in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return rows, notes


def table(rows: list[Row], notes: list[str], args: argparse.Namespace) -> str:
    out = []
    if rows:
        n_test = min(args.test_size, 10_000)
        out.append(f"Test ELBO on the first {n_test} binarized test images; log p(x) estimate = IWAE bound with "
                   f"k={args.k} on the first {args.iwae_n}; nats per image (higher is better).")
        head = (f"{'dataset':13s} {'framework':9s} {'model':5s} {'epochs':>6s} {'train size':>10s} {'test ELBO':>10s} "
                f"{'log p(x)':>9s} {'train s':>8s} {'eval s':>7s} {'seed':>4s}")
        out += [head, "-" * len(head)]
        for r in rows:
            out.append(f"{r.dataset:13s} {r.framework:9s} {r.model:5s} {r.epochs:6d} {r.train_size:10d} {r.elbo:10.2f} "
                       f"{r.log_px:9.2f} {r.train_s:8.0f} {r.eval_s:7.0f} {r.seed:4d}")
        pairs = {}
        for r in rows:
            pairs.setdefault((r.dataset, r.model), {})[r.framework] = r
        gaps = [(key, p["torch"], p["keras"]) for key, p in pairs.items() if {"torch", "keras"} <= set(p)]
        if gaps:
            out.append("")
            out.append("PyTorch - Keras gap (nats):")
            for (ds, model), t, k in gaps:
                out.append(f"  {ds:13s} {model:5s} test ELBO {t.elbo - k.elbo:+6.2f}   log p(x) {t.log_px - k.log_px:+6.2f}")
    out += notes
    out.append(f"Machine: {os.cpu_count()} CPU cores, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())} at the end.")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    budget = {k: getattr(args, k) for k in FULL}
    print(f"Budget ({'smoke' if args.smoke else 'as given' if budget != FULL else 'full'}): {budget}, "
          f"batch 128, Adam 1e-3, seed {args.seed}", flush=True)
    t0 = time.time()
    rows, notes = run(args)
    print(table(rows, notes, args))
    print(f"Total wall time: {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
