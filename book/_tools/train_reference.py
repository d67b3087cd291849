#!/usr/bin/env python
"""Train the course's reference models and write their weights and manifest.

Usage (from any directory)::

    python book/_tools/train_reference.py                  # every model, full budgets, into vaelib/reference_models/
    python book/_tools/train_reference.py --only vae_2d    # some models; the other manifest entries stay
    python book/_tools/train_reference.py --quick          # tiny budgets, into a new temporary folder

Every model whose figures or numbers a chapter discusses is trained here once, in PyTorch
(the faster backend on a CPU), at a budget that reaches or nears convergence. Each model's
weights are written in the framework-neutral layout of ``export_weights`` (one ``.npz`` that
both backends load), in half precision unless the model is tiny; its evaluation is then
computed from the stored file, so the manifest's numbers are those of the shipped weights.
``--quick`` never touches the committed files: it writes to a temporary folder (or ``--out``)
and CI runs it. Files are written atomically, the manifest last.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import fcntl
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import vaelib  # noqa: E402
from vaelib import data, reference, schedules  # noqa: E402
from vaelib._files import atomic_path, file_sha256  # noqa: E402

VAL_BINARIZE_SEED = 1


@dataclass
class Spec:
    """One reference model: what it is, how it is built and trained, and its budgets."""

    name: str
    description: str
    chapters: tuple[int, ...]
    cls: str
    config: dict[str, Any]
    kind: str  # "vae" (binarized), "gaussian", "autoencoder", "linear_autoencoder", "conditional", "text"
    epochs: int
    quick_epochs: int = 1
    fit: dict[str, Any] = field(default_factory=dict)
    storage: str = "float16"
    seed: int = 0


MLP = {"architecture": "mlp", "latent_dim": 20, "hidden_dim": 400, "likelihood": "bernoulli"}
TEXT = {"embed_dim": 64, "hidden_dim": 128}
TEXT_FIT = {"batch_size": 32, "learning_rate": 3e-3}
WARMUP_STEPS = 300

SPECS = [
    Spec("vae_2d", "MLP VAE 784-400-2, Bernoulli pixels", (4,), "VAE", {**MLP, "latent_dim": 2}, "vae", 60),
    Spec("vae_mlp", "MLP VAE 784-400-20, Bernoulli pixels (also the beta = 1 model of chapter 6)", (4, 6), "VAE",
         MLP, "vae", 40),
    Spec("vae_gaussian", "MLP VAE 784-400-20, Gaussian pixels with one learned sigma (sigma-VAE), gray levels",
         (4,), "VAE", {**MLP, "likelihood": "gaussian"}, "gaussian", 30),
    *[Spec(f"ae_d{d}", f"autoencoder 784-256-{d}-256-784, sigmoid output, BCE loss", (1,), "Autoencoder",
           {"latent_dim": d}, "autoencoder", 15) for d in (2, 8, 16, 32)],
    Spec("ae_denoising", "denoising autoencoder 784-256-16-256-784, Gaussian input noise of std 0.5", (1,), "Autoencoder",
         {"latent_dim": 16, "noise_std": 0.5}, "autoencoder", 15),
    Spec("ae_linear", "linear autoencoder 784-6-784 on centred images, squared error", (1,), "Autoencoder",
         {"latent_dim": 6, "linear": True}, "linear_autoencoder", 100, storage="float32", seed=1),
    *[Spec(f"beta_vae_{str(b).replace('.', 'p')}", f"MLP VAE 784-400-20 trained with beta = {b}", (6,), "VAE", MLP,
           "vae", 40, fit={"beta": b}) for b in (0.5, 2.0, 4.0, 16.0)],
    Spec("cvae", "conditional MLP VAE 784-400-20 (one-hot class at encoder and decoder)", (6,), "ConditionalVAE",
         {"num_classes": 10, **MLP}, "conditional", 20),
    Spec("iwae_k5", "IWAE, MLP 784-400-20, trained on the k = 5 bound", (6,), "IWAE", {**MLP, "k": 5}, "vae", 15),
    # The LM and the plain VAE overfit the few thousand carved-out sentences after 6 epochs
    # (validation NLL at its minimum); word dropout keeps the tricks model improving to 10.
    Spec("text_lm", "GRU language model (embed 64, hidden 128)", (5,), "RNNLanguageModel", TEXT, "text", 6,
         fit=TEXT_FIT),
    Spec("text_vae", "sentence VAE (GRU encoder and decoder, latent 16), no tricks", (5,), "SentenceVAE",
         {**TEXT, "latent_dim": 16}, "text", 6, fit=TEXT_FIT),
    Spec("text_vae_tricks", "sentence VAE, latent 16, with KL annealing (linear, 300 steps), word dropout 0.5 "
         "and free bits 0.25", (5,), "SentenceVAE", {**TEXT, "latent_dim": 16}, "text", 10,
         fit={**TEXT_FIT, "word_dropout": 0.5, "free_bits": 0.25, "beta": "linear"}),
    # The course's best image model (chapter 4's recipe, benchmarks/peers.py's contender): batches
    # of 256 in bfloat16 products, Adam's step size warmed up over 2 % of the steps to 2e-3 and then
    # decayed to 0 along a cosine.
    Spec("vae_conv", "convolutional VAE (32 and 64 channels, dense 400), latent 20, Bernoulli pixels, trained with "
         "the course's recipe (batch 256, bfloat16, warm-up and cosine decay of the learning rate)", (4,), "VAE",
         {**MLP, "architecture": "conv"}, "vae", 100,
         fit={"batch_size": 256, "learning_rate": 2e-3, "schedule": "warmup_cosine", "warmup": 0.02,
              "precision": "bfloat16"}),
]
SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass
class Budget:
    quick: bool
    train_size: int | None = None
    test_size: int | None = None
    text_train: int | None = None
    text_test: int | None = None
    k: int = 1000
    n_log_px: int = 1000
    check: dict[str, int] = field(default_factory=lambda: {"n": 500, "k": 100, "n_log_px": 20, "text_n": 200, "text_k": 5})

    @classmethod
    def make(cls, quick: bool) -> "Budget":
        if quick:
            return cls(True, 1_000, 300, 300, 100, 10, 20, {"n": 100, "k": 10, "n_log_px": 10, "text_n": 50, "text_k": 3})
        return cls(False)


# -- data -----------------------------------------------------------------------------------
class Data:
    """The data every model of one kind sees, loaded once."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._images: dict[str, Any] | None = None
        self._text: dict[str, Any] | None = None

    def images(self) -> dict[str, Any]:
        if self._images is None:
            full = data.load_fashion_mnist("train")
            test = data.load_fashion_mnist("test")
            train, val = data.train_val_split(full, 5_000, seed=0)
            n, m = self.budget.train_size, self.budget.test_size
            x_train = train.images[:n]
            pixel_mean = x_train.reshape(len(x_train), -1).mean(0).reshape(28, 28).astype(np.float32)
            self._images = dict(
                x_train=x_train, y_train=train.labels[:n], x_val_gray=val.images,
                x_val=data.binarize(val.images, seed=VAL_BINARIZE_SEED), y_val=val.labels,
                x_test=data.binarize(test.images[:m], seed=reference.TEST_BINARIZE_SEED), x_test_gray=test.images[:m],
                y_test=test.labels[:m], pixel_mean=pixel_mean,
                provenance=(f"Fashion-MNIST: training = data.train_val_split(train, 5,000, seed=0) -> {len(x_train):,} "
                            f"training and 5,000 validation images (validation binarized with seed {VAL_BINARIZE_SEED}); "
                            f"test = the first {len(test.images[:m]):,} official test images, binarized with "
                            f"data.binarize(seed={reference.TEST_BINARIZE_SEED}) for Bernoulli models; files: {full.source}"),
            )
        return self._images

    def text(self) -> dict[str, Any]:
        if self._text is None:
            corpus = data.load_ptb_corpus(max_length=30, carve_missing_train=True)
            itos = list(corpus.vocab.itos[:10_000])
            v = len(itos)

            def cap(seqs: list[np.ndarray]) -> list[np.ndarray]:
                return [np.where(s < v, s, corpus.vocab.unk_id) for s in seqs]

            self._text = dict(
                train=cap(corpus.train[: self.budget.text_train]), valid=cap(corpus.valid),
                test=cap(corpus.test[: self.budget.text_test]), itos=itos,
                provenance=f"Penn Treebank (Mikolov et al.), sentences of at most 30 words; {corpus.source}",
                carved="carve-out" in corpus.source,
            )
        return self._text


# -- training -------------------------------------------------------------------------------
def _train(vl: Any, spec: Spec, model: Any, d: Data, epochs: int) -> Any:
    kw = dict(spec.fit)
    if spec.kind == "text":
        t = d.text()
        if kw.pop("beta", None) == "linear":
            kw["beta"] = schedules.linear(WARMUP_STEPS)
        return vl.fit_text(model, t["train"], t["valid"], epochs=epochs, seed=spec.seed, verbose=False, **kw)
    im = d.images()
    if kw.pop("schedule", None) == "warmup_cosine":
        total = epochs * math.ceil(len(im["x_train"]) / kw.get("batch_size", 128))
        kw["learning_rate"] = schedules.warmup_cosine(total, kw["learning_rate"], int(kw.pop("warmup") * total))
    if spec.kind == "conditional":
        return vl.fit_conditional(model, im["x_train"], im["y_train"], im["x_val"], im["y_val"], epochs=epochs,
                                  binarize=True, seed=spec.seed, verbose=False, **kw)
    if spec.kind == "vae":
        return vl.fit(model, im["x_train"], im["x_val"], epochs=epochs, binarize=True, seed=spec.seed, verbose=False, **kw)
    if spec.kind == "linear_autoencoder":
        x_lin = im["x_train"][:20_000] - im["pixel_mean"]
        return vl.fit(model, x_lin, epochs=epochs, seed=spec.seed, verbose=False, **kw)
    # gray-level models: the Gaussian VAE and the nonlinear autoencoders
    return vl.fit(model, im["x_train"], im["x_val_gray"], epochs=epochs, seed=spec.seed, verbose=False, **kw)


def _evaluate(vl: Any, spec: Spec, model: Any, d: Data, budget: Budget) -> dict[str, Any]:
    c = budget.check
    labels = None
    if spec.kind == "text":
        test = d.text()["test"]
        ev = {**vl.evaluate_text(model, test, k=10, seed=0), "k": 10}
        params = {"sentences": c["text_n"], "k": c["text_k"], "seed": 0}
    elif spec.kind in ("autoencoder", "linear_autoencoder"):
        im = d.images()
        test = im["x_test_gray"] if spec.kind == "autoencoder" else im["x_test_gray"] - im["pixel_mean"]
        sq = float(((test - model.reconstruct(test)) ** 2).reshape(len(test), -1).sum(1).mean())
        ev = {"reconstruction": float(model.reconstruction_error(test).mean()), "squared_error": sq, "n": len(test)}
        params = {"n": c["n"]}
    else:
        im = d.images()
        labels = im["y_test"] if spec.kind == "conditional" else None
        test = im["x_test_gray"] if spec.kind == "gaussian" else im["x_test"]
        ev = reference.image_evaluation(vl, model, test, k=budget.k, n_log_px=budget.n_log_px, labels=labels)
        params = {"n": c["n"], "k": c["k"], "n_log_px": c["n_log_px"]}
        if spec.kind == "gaussian":
            ev["sigma"] = float(np.exp(vl.to_numpy(model.log_sigma)))
    ev["check"] = reference.check_values(vl, spec.cls, model, test, params, labels)
    ev["check_params"] = params
    return ev


def _history(hist: Any) -> dict[str, list[float]]:
    return {key: [round(float(v), 4) for v in values] for key, values in hist.items()}


def _machine() -> dict[str, Any]:
    model_name = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model_name = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                          model_name)
    except OSError:
        pass
    import torch

    device = ("GPU " + torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else f"CPU ({model_name}, {os.cpu_count()} cores)")
    return {"cpu": model_name, "cores": os.cpu_count(), "device": device, "platform": platform.platform()}


def _versions() -> dict[str, str]:
    import torch

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "vaelib": vaelib.__version__}


def train_one(spec: Spec, d: Data, budget: Budget, out: Path, machine: dict[str, Any]) -> dict[str, Any]:
    """Train, store and evaluate one model; return its manifest entry."""
    from vaelib import torch as vl

    config = {"vocab_size": len(d.text()["itos"]), **spec.config} if spec.kind == "text" else spec.config
    vl.seed_everything(0)
    model = getattr(vl, spec.cls)(**config)
    epochs = spec.quick_epochs if budget.quick else spec.epochs
    start = time.perf_counter()
    hist = _train(vl, spec, model, d, epochs)
    seconds = time.perf_counter() - start
    arrays = {key: value.astype(spec.storage) for key, value in vl.export_weights(model).items()}
    path = out / f"{spec.name}.npz"
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    entry: dict[str, Any] = {
        "description": spec.description, "chapters": list(spec.chapters), "class": spec.cls, "config": config,
        "file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size, "storage": spec.storage,
        "parameters": int(vl.count_parameters(model)),
        "training": {"framework": "vaelib.torch", "epochs": epochs, "steps": getattr(hist, "steps", None), "seed": spec.seed,
                     "optimizer": "Adam", "batch_size": spec.fit.get("batch_size", 128),
                     "learning_rate": spec.fit.get("learning_rate", 1e-3),
                     **{k: v for k, v in spec.fit.items() if k not in ("batch_size", "learning_rate")},
                     **({"warmup_steps": WARMUP_STEPS} if spec.fit.get("beta") == "linear" else {}),
                     "seconds": round(seconds, 1), "device": machine["device"],
                     "date": _dt.date.today().isoformat(), "budget": "quick" if budget.quick else "full"},
        "history": _history(hist),
    }
    if spec.kind == "text":
        t = d.text()
        entry["vocabulary"] = t["itos"]
        entry["data"] = {"provenance": t["provenance"], "carve_out": t["carved"], "train_sentences": len(t["train"]),
                         "valid_sentences": len(t["valid"]), "test_sentences": len(t["test"])}
    else:
        entry["data"] = {"provenance": d.images()["provenance"], "carve_out": False}
    # Evaluate what a reader loads: the stored (possibly half-precision) weights, through a
    # scratch manifest beside them.
    scratch = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=out))
    try:
        os.link(path, scratch / path.name)
        (scratch / reference.MANIFEST_NAME).write_text(json.dumps({"models": {spec.name: entry}}))
        loaded = reference.build(vl, spec.name, scratch)
    finally:
        for f in scratch.iterdir():
            f.unlink()
        scratch.rmdir()
    eval_start = time.perf_counter()
    entry["evaluation"] = _evaluate(vl, spec, loaded, d, budget)
    entry["evaluation"]["seconds"] = round(time.perf_counter() - eval_start, 1)
    return entry


@contextlib.contextmanager
def _locked(out: Path):
    """Hold an exclusive lock on the folder's manifest: several runs may train into one folder."""
    with open(out / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _write_manifest_entry(out: Path, name: str, entry: dict[str, Any], machine: dict[str, Any], budget: Budget) -> Path:
    """Merge one entry into ``out/manifest.json`` (atomically, under the lock) and return ``out``."""
    path = out / reference.MANIFEST_NAME
    with _locked(out):
        current = json.loads(path.read_text()) if path.is_file() else {"models": {}}
        current["models"][name] = entry
        current.update(
            format=1,
            about=("Reference models of the VAE course, trained by book/_tools/train_reference.py; weights in the "
                   "framework-neutral layout of export_weights, loaded by vl.load_reference(name) in either backend."),
            machine=machine, versions=_versions(), budget="quick" if budget.quick else "full",
        )
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, into a temporary folder")
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: the package's, or a temporary one)")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: PyTorch's choice)")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or [s.name for s in SPECS]
    unknown = sorted(set(names) - set(SPEC_BY_NAME))
    if unknown:
        parser.error(f"--only: unknown model(s) {unknown}; known: {', '.join(SPEC_BY_NAME)}")
    if args.out is not None:
        out = args.out
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="vaelib-reference-quick-"))
    else:
        out = reference.REFERENCE_DIR
    if args.quick and out.resolve() == reference.REFERENCE_DIR.resolve():
        parser.error("--quick: refusing to write tiny-budget models over the committed reference models")
    out.mkdir(parents=True, exist_ok=True)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    budget = Budget.make(args.quick)
    d = Data(budget)
    machine = _machine()
    print(f"reference models -> {out} ({'quick' if args.quick else 'full'} budgets, on {machine['device']})", flush=True)
    for name in names:
        spec = SPEC_BY_NAME[name]
        entry = train_one(spec, d, budget, out, machine)
        _write_manifest_entry(out, name, entry, machine, budget)
        ev = entry["evaluation"]
        shown = {k: round(v, 2) for k, v in ev.items() if isinstance(v, float) and k != "seconds"}
        print(f"{name}: {entry['training']['epochs']} epochs in {entry['training']['seconds']:.0f} s, "
              f"{entry['bytes'] / 1e6:.2f} MB; {shown}", flush=True)
    print(f"done: {out / reference.MANIFEST_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
