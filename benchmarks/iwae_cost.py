#!/usr/bin/env python
"""What the course's estimate of log p(x) costs: ``vl.iwae_bound`` on a reference model.

For each backend, ``vl.iwae_bound(model, x, k, seed=1)`` on the first ``--test-images``
Fashion-MNIST test images (binarized with seed 2, as ``peers.py`` and ``quality.py`` binarize
them), on ``THREADS`` threads, after a warm-up call on two images; the table gives the wall
time, the time per 10,000 images (the whole test set), and the mean estimate in nats and bits
per dimension, so that two checkouts (before and after a change) can be compared by running
this same script in each.

Usage::

    python benchmarks/iwae_cost.py [--backends torch keras] [--model vae_conv] [--test-images 10000] [--k 1000]
    python benchmarks/iwae_cost.py --quick   # the CI smoke run: 20 images, k = 100
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # vaelib, from a checkout without an install
sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers.py, when imported from the tests

from vaelib.metrics import bits_per_dim  # noqa: E402
from vaelib.reference import names  # noqa: E402

from peers import PIXELS, TEST_SEED, THREADS, machine, set_threads, test_images  # noqa: E402

SEED = 1  # of the importance samples
IMAGE_VAES = ("vae_", "beta_vae_", "iwae_")  # the reference models that iwae_bound scores


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", choices=["torch", "keras"], default=["torch", "keras"])
    parser.add_argument("--model", choices=[n for n in names() if n.startswith(IMAGE_VAES)], default="vae_conv")
    parser.add_argument("--test-images", type=positive_int, default=10_000)
    parser.add_argument("--k", type=positive_int, default=1000)
    parser.add_argument("--quick", action="store_true", help="20 images, k = 100 (the CI smoke run)")
    args = parser.parse_args(argv)
    if args.test_images > 10_000:
        parser.error(f"--test-images: expected at most 10000 (the test split), got {args.test_images}")
    if args.quick:
        args.test_images, args.k = 20, 100
    return args


def measure(backend: str, model_name: str, x: np.ndarray, k: int) -> dict[str, float]:
    """Seconds and mean bound of ``iwae_bound`` on ``x`` in one backend (after a warm-up call)."""
    set_threads(backend)
    vl = importlib.import_module(f"vaelib.{backend}")
    model = vl.load_reference(model_name)
    vl.iwae_bound(model, x[:2], k=k, seed=SEED)
    start = time.perf_counter()
    bound = vl.to_numpy(vl.iwae_bound(model, x, k=k, seed=SEED))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "per_10k": seconds * 10_000 / len(x), "log_px": float(np.mean(bound))}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    facts = machine()
    print(f"machine: {facts['cpu']}, {THREADS} threads; torch {facts['torch']}, tensorflow {facts['tensorflow']}, "
          f"keras {facts['keras']}", flush=True)
    x = test_images(args.test_images)
    print(f"vl.iwae_bound(load_reference({args.model!r}), first {len(x)} test images binarized with seed "
          f"{TEST_SEED}, k={args.k}, seed={SEED})\n", flush=True)
    print("| backend | model | images | k | seconds | s per 10,000 images | log p(x) nats | bits/dim |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for backend in args.backends:
        r = measure(backend, args.model, x, args.k)
        bits = bits_per_dim(-r["log_px"], PIXELS)
        print(f"| {backend} | {args.model} | {len(x):,} | {args.k} | {r['seconds']:.1f} | {r['per_10k']:.0f} "
              f"| {r['log_px']:.2f} | {bits:.4f} |", flush=True)


if __name__ == "__main__":
    main()
