#!/usr/bin/env python
"""Chapter 5 benchmark: RNN language model vs sentence VAE with tricks, at one fixed budget,
in both frameworks.

Prints one table row per (framework, model): test NLL per sentence (exact for the language
model, an importance-weighted estimate for the VAE), KL, perplexity, active units and wall
time of training and evaluation. Uses the official PTB training split when it can be found
(or downloaded); otherwise, like the notebooks' smoke mode, it trains on the first part of the
validation split, and the table's header says so.

    python benchmarks/text.py                      # the default budget (a few minutes on 2 cores)
    python benchmarks/text.py --frameworks torch --epochs 5 --train-size 10000
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np


def load_data(max_length: int) -> tuple[object, str]:
    """The PTB corpus and a label saying which data it is (full or the smoke carve-out)."""
    from vaelib.data import DataNotFoundError, load_ptb_corpus

    if os.environ.get("VAELIB_SMOKE", "") not in ("1", "true", "yes", "on"):
        try:
            return load_ptb_corpus(max_length=max_length), "official PTB splits"
        except DataNotFoundError as err:
            print(f"full PTB not available ({err}); falling back to the smoke-mode carve-out")
    os.environ["VAELIB_SMOKE"] = "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = load_ptb_corpus(max_length=max_length)
    return corpus, "SMOKE CARVE-OUT: train/valid carved from ptb.valid.txt, test = ptb.test.txt"


def run(framework: str, corpus: object, args: argparse.Namespace) -> list[dict]:
    if framework == "torch":
        from vaelib import torch as vl
    else:
        from vaelib import keras as vl
    from vaelib import schedules

    vocab_size = min(len(corpus.vocab), args.vocab_cap)

    def cap(seqs):
        return [np.where(s < vocab_size, s, corpus.vocab.unk_id) for s in seqs]

    train, valid, test = cap(corpus.train[: args.train_size]), cap(corpus.valid), cap(corpus.test[: args.test_size])
    rows = []
    for name in ("language model", "VAE + tricks"):
        vl.seed_everything(0)
        if name == "language model":
            model, tricks = vl.RNNLanguageModel(vocab_size, args.embed_dim, args.hidden_dim), {}
        else:
            model = vl.SentenceVAE(vocab_size, args.embed_dim, args.hidden_dim, args.latent_dim)
            tricks = dict(beta=schedules.linear(args.warmup_steps), word_dropout=args.word_dropout,
                          free_bits=args.free_bits)
        start = time.perf_counter()
        history = vl.fit_text(model, train, valid, epochs=args.epochs, batch_size=args.batch_size,
                              learning_rate=args.learning_rate, seed=0, verbose=False, **tricks)
        trained = time.perf_counter()
        result = vl.evaluate_text(model, test, k=args.k)
        rows.append(dict(framework=framework, model=name, steps=history.steps, train_s=trained - start,
                         eval_s=time.perf_counter() - trained, **result))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", default=["torch", "keras"], choices=["torch", "keras"])
    parser.add_argument("--max-length", type=int, default=30)
    parser.add_argument("--vocab-cap", type=int, default=2_000)
    parser.add_argument("--train-size", type=int, default=2_000)
    parser.add_argument("--test-size", type=int, default=300)
    parser.add_argument("--embed-dim", type=int, default=32)
    parser.add_argument("--hidden-dim", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--warmup-steps", type=int, default=80)
    parser.add_argument("--word-dropout", type=float, default=0.5)
    parser.add_argument("--free-bits", type=float, default=0.25)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    corpus, label = load_data(args.max_length)
    rows = [row for fw in args.frameworks for row in run(fw, corpus, args)]
    budget = (f"{min(args.train_size, len(corpus.train))} training sentences <= {args.max_length} words, "
              f"{args.epochs} epochs of batch {args.batch_size}, vocabulary capped at {args.vocab_cap}, "
              f"embed {args.embed_dim}, hidden {args.hidden_dim}, latent {args.latent_dim}; "
              f"tricks: linear KL warm-up {args.warmup_steps} steps, word dropout {args.word_dropout}, "
              f"free bits {args.free_bits}/dim; test: {rows[0]['sentences']} sentences, k={args.k}")
    print(f"data: {label}")
    print(f"budget: {budget}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'framework':9s} {'model':15s} {'steps':>5s} {'NLL':>8s} {'KL':>6s} {'PPL':>7s} {'active':>6s} "
          f"{'train s':>8s} {'eval s':>7s}")
    for r in rows:
        print(f"{r['framework']:9s} {r['model']:15s} {r['steps']:5d} {r['nll']:8.2f} {r['kl']:6.2f} "
              f"{r['perplexity']:7.1f} {r['active_units']:6d} {r['train_s']:8.1f} {r['eval_s']:7.1f}")


if __name__ == "__main__":
    main()
