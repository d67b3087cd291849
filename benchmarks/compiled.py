#!/usr/bin/env python
"""What ``fit(..., compile=True)`` and ``fit(..., precision="bfloat16")`` pay on this CPU.

For each backend, image VAE (MLP, conv) and batch size, four runs of ``vl.fit`` from the same
seed on the same data, one after the other in one process on ``THREADS`` threads: eager
float32 (the default, which ``throughput.py`` finds as fast as a bare hand-written loop),
compiled, bfloat16, and both. Each trains ``--epochs`` epochs of the first ``--train-size``
Fashion-MNIST training images, dynamically binarized, then is scored in float32 by
``vl.evaluate`` (test ELBO, analytic KL) on the first ``--test-images`` test images binarized
with seed 2.

Speed is read off the clock at every optimizer step (the beta schedule, called before each
step, stamps it): img/s is the steady rate of epoch 2's full batches, when every batch shape
(the short last one too) has been traced and compiled, and "compile s" is how much longer
epoch 1 took than as many steady steps (PyTorch's compiled graphs are reset before each run).
"speed-up" is the steady rate over the eager float32 run's; "ELBO change" the test ELBO's
difference from it (the runs draw the same noise, except under XLA, which draws its own).
The processor's bfloat16 units are listed from ``lscpu`` (AVX512_BF16 dot products, AMX
tiles): without them bfloat16 is emulated and slow.

Usage::

    python benchmarks/compiled.py [--backends torch keras] [--architectures mlp conv] [--batch-sizes 128 512]
                                  [--epochs 2] [--train-size 30000] [--test-images 1000]
    python benchmarks/compiled.py --quick   # the CI smoke run: MLP, 512 images, 2 epochs
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # vaelib, from a checkout without an install
sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers.py, when imported from the tests

from vaelib.data import binarize, load_fashion_mnist  # noqa: E402

from peers import THREADS, lscpu, machine, set_threads  # noqa: E402  (the peer benchmark's threads and machine facts)

VARIANTS = {  # name -> fit's options
    "eager float32": dict(compile=False, precision="float32"),
    "compiled float32": dict(compile=True, precision="float32"),
    "eager bfloat16": dict(compile=False, precision="bfloat16"),
    "compiled bfloat16": dict(compile=True, precision="bfloat16"),
}


class StepClock:
    """A constant beta of 1 for ``fit`` that stamps the time before every optimizer step."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def __call__(self, step: int) -> float:
        self.stamps.append(time.perf_counter())
        return 1.0


def steady_rate(stamps: list[float], batch_size: int, steps_per_epoch: int) -> tuple[float, float]:
    """(images per second over epoch 2's full batches, the extra seconds of epoch 1).

    By epoch 2 every batch shape (the short last batch too) has been traced and compiled, so
    its full batches time the steady step; epoch 1's extra time over as many steady steps is
    what tracing and compiling cost.
    """
    s = steps_per_epoch
    if s < 2 or len(stamps) < 2 * s:
        raise ValueError(f"--epochs/--train-size: expected at least 2 epochs of at least 2 steps, got {len(stamps)} "
                         f"steps of {s} per epoch")
    # A step's stamp is taken before it runs: stamps[i + 1] - stamps[i] is step i.
    step_s = (stamps[2 * s - 1] - stamps[s]) / (s - 1)  # epoch 2 without its short last batch
    return batch_size / step_s, (stamps[s] - stamps[0]) - s * step_s


def run_one(vl, architecture: str, batch_size: int, options: dict, x: np.ndarray, x_test: np.ndarray,
            epochs: int) -> dict:
    """Train one model with ``fit``'s options; its speed and its float32 test ELBO."""
    if vl.__name__.endswith("torch"):
        import torch

        torch._dynamo.reset()  # each compiled run pays its own compilation, none reuses another's graphs
    vl.seed_everything(0)
    model = vl.VAE(architecture, latent_dim=20, hidden_dim=400)
    clock = StepClock()
    vl.fit(model, x, epochs=epochs, batch_size=batch_size, beta=clock, binarize=True, seed=0, verbose=False, **options)
    rate, first_s = steady_rate(clock.stamps, batch_size, math.ceil(len(x) / batch_size))
    return dict(img_per_s=rate, first_s=first_s, elbo=vl.evaluate(model, x_test)["elbo"])


def bf16_units(fields: dict[str, str]) -> list[str]:
    """The processor's bfloat16 instructions among ``lscpu``'s flags (AVX512_BF16 dot products, AMX tiles)."""
    flags = fields.get("Flags", "").split()
    return [name for name in ("avx512_bf16", "amx_bf16") if name in flags]


def format_table(rows: list[dict]) -> str:
    lines = ["| backend | model | batch | variant | compile s | img/s | speed-up | test ELBO | ELBO change |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['architecture']} | {r['batch_size']} | {r['variant']} | {r['first_s']:.2f} "
                     f"| {r['img_per_s']:,.0f} | {r['speed_up']:.2f}x | {r['elbo']:.2f} | {r['elbo_change']:+.2f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the CI smoke run: MLP, batch 64, 512 images, 2 epochs")
    p.add_argument("--backends", nargs="+", choices=["torch", "keras"], default=["torch", "keras"])
    p.add_argument("--architectures", nargs="+", choices=["mlp", "conv"], default=["mlp", "conv"])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--epochs", type=int, default=2, help="epochs per run (at least 2: epoch 2 is timed)")
    p.add_argument("--train-size", type=int, default=30_000)
    p.add_argument("--test-images", type=int, default=1000)
    args = p.parse_args(argv)
    if args.quick:
        args.architectures, args.batch_sizes, args.epochs, args.train_size, args.test_images = ["mlp"], [64], 2, 512, 64
    for key, least in (("epochs", 2), ("train_size", 1), ("test_images", 1)):
        if getattr(args, key) < least:
            p.error(f"--{key.replace('_', '-')}: expected an integer >= {least}, got {getattr(args, key)}")
    if min(args.batch_sizes) < 1:
        p.error(f"--batch-sizes: expected positive integers, got {args.batch_sizes}")
    if "eager float32" not in args.variants:
        p.error("--variants: the speed-ups are relative to 'eager float32', which must be among them")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    x = load_fashion_mnist("train").images[: args.train_size]
    x_test = binarize(load_fashion_mnist("test").images[: args.test_images], seed=2)
    fields = lscpu()
    host = machine(fields)
    print(f"machine: {host['cpu']}; bfloat16 units: {', '.join(bf16_units(fields)) or 'none'}; {host['cores']} cores, "
          f"{THREADS} threads; torch {host['torch']}, tensorflow {host['tensorflow']}, keras {host['keras']}", flush=True)
    print(f"Fashion-MNIST: {len(x):,} training images (dynamically binarized), {args.epochs} epochs per run; "
          f"test ELBO on {len(x_test):,} test images; img/s of epoch 2", flush=True)
    rows = []
    for backend in args.backends:
        vl = importlib.import_module(f"vaelib.{backend}")
        set_threads(backend)
        for architecture in args.architectures:
            for batch_size in args.batch_sizes:
                base = None
                for variant in ["eager float32"] + [v for v in args.variants if v != "eager float32"]:
                    row = run_one(vl, architecture, batch_size, VARIANTS[variant], x, x_test, args.epochs)
                    base = base or row
                    row.update(backend=backend, architecture=architecture, batch_size=batch_size, variant=variant,
                               speed_up=row["img_per_s"] / base["img_per_s"], elbo_change=row["elbo"] - base["elbo"])
                    rows.append(row)
                    print(f"  done: {backend} {architecture} batch {batch_size} {variant}", file=sys.stderr, flush=True)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
