"""The course's reference models: trained once, shipped with the package, loaded by name.

Framework-free. Every model whose figures or numbers a chapter discusses was trained by
``book/_tools/train_reference.py`` at a budget that reaches or nears convergence. Its weights
are stored once, in the framework-neutral layout of ``export_weights`` (one ``.npz`` file
serves both backends), and ``manifest.json`` records for each model its configuration, data,
budget, seed, machine, package versions, the SHA-256 of its weight file and its evaluation.

Backends load a model with ``vl.load_reference(name)``; this module reads and verifies what
they load, and evaluates image models with NumPy noise, so that both backends compute the
same numbers from the same weights.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

import numpy as np

from vaelib import metrics
from vaelib._checks import check_path
from vaelib._files import file_sha256

__all__ = [
    "REFERENCE_DIR",
    "ReferenceModelError",
    "reference_dir",
    "manifest",
    "names",
    "info",
    "weights",
    "vocabulary",
    "build",
    "evaluation_noise",
    "image_evaluation",
    "summary",
    "comparison",
    "check_matches",
    "verify",
    "check_values",
    "TEST_BINARIZE_SEED",
    "loader",
]

REFERENCE_DIR = Path(__file__).with_name("reference_models")
"""Where the shipped reference models live (installed with the package)."""
MANIFEST_NAME = "manifest.json"
ENV_DIR = "VAELIB_REFERENCE_DIR"
TEST_BINARIZE_SEED = 2
"""The image models' test set: ``data.binarize(test.images, seed=TEST_BINARIZE_SEED)`` (chapter 4's)."""


class ReferenceModelError(ValueError):
    """A reference model is unknown, missing, or its file does not match the manifest."""


def reference_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The folder to read: ``directory``, else ``$VAELIB_REFERENCE_DIR``, else the shipped one."""
    if directory is not None:
        return check_path("directory", directory)
    env = os.environ.get(ENV_DIR, "").strip()
    return Path(env).expanduser() if env else REFERENCE_DIR


def manifest(directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The whole manifest (``{"models": {name: entry}, ...}``) of a reference folder."""
    path = reference_dir(directory) / MANIFEST_NAME
    if not path.is_file():
        raise ReferenceModelError(f"directory: no reference manifest at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReferenceModelError(f"directory: {path} is not a readable reference manifest ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ReferenceModelError(f"directory: {path} has no 'models' table")
    return data


def names(directory: str | os.PathLike[str] | None = None) -> list[str]:
    """The names of the reference models, sorted."""
    return sorted(manifest(directory)["models"])


def info(name: str, directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The manifest entry of one model; an unknown name lists the known ones."""
    models = manifest(directory)["models"]
    if not isinstance(name, str) or name not in models:
        raise ReferenceModelError(f"name: unknown reference model {name!r}; known: {', '.join(sorted(models))}")
    return models[name]


def weights(name: str, directory: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """The verified weights of one model, as float32 arrays in the canonical layout.

    The file's SHA-256 must equal the manifest's: a missing, truncated or altered file is
    refused with one line naming it.
    """
    entry = info(name, directory)
    path = reference_dir(directory) / entry["file"]
    if not path.is_file():
        raise ReferenceModelError(f"name: the weight file of {name!r} is missing: {path}")
    got = file_sha256(path)
    if got != entry["sha256"]:
        raise ReferenceModelError(
            f"name: {path} does not match the manifest (sha256 {got[:12]}..., expected {entry['sha256'][:12]}...): "
            "the file is corrupt or was altered"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: np.asarray(archive[key], dtype=np.float32) for key in archive.files}
    except (OSError, ValueError) as err:  # a matching hash makes this unlikely, but say so in one line
        raise ReferenceModelError(f"name: {path} is not a readable weight archive ({err})") from None


def vocabulary(name: str, directory: str | os.PathLike[str] | None = None) -> Any:
    """The vocabulary a text reference model was trained with (a ``vaelib.data.Vocabulary``)."""
    from vaelib.data import Vocabulary

    entry = info(name, directory)
    if "vocabulary" not in entry:
        raise ReferenceModelError(f"name: {name!r} is not a text model and has no vocabulary")
    return Vocabulary(entry["vocabulary"])


def build(backend: ModuleType, name: str, directory: str | os.PathLike[str] | None = None) -> Any:
    """Build the model ``name`` in ``backend`` (``vaelib.torch`` or ``vaelib.keras``) with its weights.

    The backends' ``load_reference`` call this; the model comes back in evaluation mode,
    with its name as ``model.reference_name`` and its folder as ``model.reference_dir``
    (``info(model.reference_name, model.reference_dir)`` is its entry).
    """
    entry = info(name, directory)
    cls = getattr(backend, entry["class"], None)
    if not isinstance(cls, type):
        raise ReferenceModelError(f"name: {name!r} needs vaelib class {entry['class']!r}, which {backend.__name__} lacks")
    arrays = weights(name, directory)
    model = cls(**entry["config"])
    backend.import_weights(model, arrays)
    if hasattr(model, "eval"):
        model.eval()
    model.reference_name = name
    model.reference_dir = str(reference_dir(directory))
    return model


def evaluation_noise(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """Standard-normal float32 noise from NumPy, the same in both backends for the same seed."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def image_evaluation(
    backend: ModuleType,
    model: Any,
    x: np.ndarray,
    *,
    k: int = 1000,
    n_log_px: int = 1000,
    batch_size: int = 500,
    iwae_batch: int = 50,
    seed: int = 0,
    labels: np.ndarray | None = None,
) -> dict[str, float]:
    """Test ELBO, its terms, log p(x) (IWAE bound, k samples) and active units, in nats.

    The noise comes from NumPy with fixed seeds, so both backends give the same numbers from
    the same weights (to float32 precision), and a second evaluation repeats the first.

    Parameters
    ----------
    backend : module
        ``vaelib.torch`` or ``vaelib.keras``.
    model : VAE, IWAE or ConditionalVAE
    x : ndarray, shape (N, 28, 28)
        Test images (binarized for a Bernoulli model).
    k, n_log_px : int
        Importance samples, and how many of the first images get the log p(x) estimate
        (0: none).
    batch_size, iwae_batch : int
        Images per pass for the ELBO and for the IWAE bound.
    seed : int
        Seed of the noise.
    labels : ndarray, optional
        Class labels, for a conditional model.

    Returns
    -------
    dict
        ``elbo``, ``log_likelihood``, ``kl`` (means over all of x), ``log_px`` and
        ``log_px_elbo`` (the ELBO on the same first images), ``active_units``, ``n_elbo``,
        ``n_log_px``, ``k``.
    """
    conditional = labels is not None
    d = model.latent_dim
    sums = np.zeros(3)
    mus = []
    for i, start in enumerate(range(0, len(x), batch_size)):
        xb = x[start : start + batch_size]
        eps = evaluation_noise(seed * 100_003 + i, (len(xb), d))
        if conditional:
            yb = labels[start : start + batch_size]
            terms = model.elbo(xb, yb, eps=eps)
            mu = model.encode(xb, yb)[0]
        else:
            terms = model.elbo(xb, eps=eps)
            mu = model.encode(xb)[0]
        sums += [float(np.sum(backend.to_numpy(t).astype(np.float64))) for t in terms]
        mus.append(backend.to_numpy(mu))
    elbo, log_lik, kl = (sums / len(x)).tolist()
    result: dict[str, float] = {"elbo": elbo, "log_likelihood": log_lik, "kl": kl,
                                "active_units": metrics.active_units(np.concatenate(mus)), "n_elbo": len(x)}
    n_iw = min(n_log_px, len(x))
    if n_iw > 0 and not conditional:
        bounds, first = [], []
        for i, start in enumerate(range(0, n_iw, iwae_batch)):
            xb = x[start : min(start + iwae_batch, n_iw)]
            eps = evaluation_noise(seed * 100_003 + 50_000 + i, (k, len(xb), d))
            bounds.append(backend.to_numpy(backend.iwae_bound(model, xb, k, eps=eps)).astype(np.float64))
            first.append(backend.to_numpy(model.elbo(xb, eps=eps[0]).elbo).astype(np.float64))
        result.update(log_px=float(np.concatenate(bounds).mean()), log_px_elbo=float(np.concatenate(first).mean()),
                      n_log_px=n_iw, k=k)
    return result


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def _budget(entry: Mapping[str, Any]) -> str:
    training = entry["training"]
    unit = "epochs" if training.get("epochs", 0) != 1 else "epoch"
    seconds = training["seconds"]
    took = f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
    return f"{training['epochs']} {unit}, {took} on {training['device']}"


def summary(name: str, directory: str | os.PathLike[str] | None = None) -> str:
    """A few lines on one reference model: what it is, its budget and its stored evaluation.

    The numbers are the manifest's, so a notebook cell that prints this is the same in both
    frameworks and is output-checked by nbval.
    """
    entry = info(name, directory)
    ev = entry["evaluation"]
    lines = [f"reference model {name!r}: {entry['description']}",
             f"  trained: {_budget(entry)} ({entry['training']['framework']}, seed {entry['training']['seed']})"]
    if "log_px" in ev:
        lines.append(f"  test ELBO {_fmt(ev['elbo'])} nats (log-likelihood {_fmt(ev['log_likelihood'])}, KL {_fmt(ev['kl'])}) "
                     f"on {ev['n_elbo']:,} test images")
        lines.append(f"  log p(x) >= {_fmt(ev['log_px'])} nats (IWAE bound, k={ev['k']:,}, first {ev['n_log_px']:,} "
                     f"test images; their ELBO {_fmt(ev['log_px_elbo'])})")
        lines.append(f"  active units: {ev['active_units']} of {entry['config']['latent_dim']}")
    elif "elbo" in ev:
        lines.append(f"  test ELBO {_fmt(ev['elbo'])} nats (log-likelihood {_fmt(ev['log_likelihood'])}, KL {_fmt(ev['kl'])}) "
                     f"on {ev['n_elbo']:,} test images; active units {ev['active_units']} of {entry['config']['latent_dim']}")
    elif "nll" in ev:
        lines.append(f"  test NLL {_fmt(ev['nll'])} nats per sentence, KL {_fmt(ev['kl'])}, perplexity {ev['perplexity']:.1f}, "
                     f"active units {ev['active_units']} ({ev['sentences']:,} sentences, {ev['tokens']:,} tokens)")
    elif "reconstruction" in ev:
        lines.append(f"  test reconstruction loss {_fmt(ev['reconstruction'])} (BCE summed over pixels), "
                     f"squared error {_fmt(ev['squared_error'])} per image, on {ev['n']:,} test images")
    return "\n".join(lines)


def comparison(name: str, metric: str, yours: float, your_budget: str, reference_value: float | None = None,
               directory: str | os.PathLike[str] | None = None, higher_is_better: bool = True,
               unit: str = "nats") -> str:
    """One line comparing a reader's own model with the reference model on one metric.

    Parameters
    ----------
    name : str
        The reference model.
    metric : str
        A key of its manifest evaluation (``"elbo"``, ``"log_px"``, ``"nll"``, ...).
    yours : float
        The reader's model's value.
    your_budget : str
        How the reader's model was trained, e.g. ``"1 epoch on 1,000 images"``.
    reference_value : float, optional
        The reference's value on the same data as ``yours`` (default: the manifest's).
    higher_is_better : bool
        False for losses (NLL, reconstruction error).
    unit : str
        What the numbers are in (``"nats"``; e.g. ``""`` for a squared error).

    Returns
    -------
    str
        E.g. ``"test ELBO: your model (1 epoch) -260.10 nats; reference (60 epochs, 3 min
        on CPU ...) -236.20 nats: the reference is 23.90 nats better"``.
    """
    entry = info(name, directory)
    ref = float(entry["evaluation"][metric] if reference_value is None else reference_value)
    gap = (ref - yours) if higher_is_better else (yours - ref)
    label = {"elbo": "test ELBO", "log_px": "log p(x)", "nll": "test NLL", "reconstruction": "reconstruction loss",
             "squared_error": "squared error"}.get(metric, metric)
    units = f" {unit}" if unit else ""
    verdict = (f"the reference is {abs(gap):.2f}{units} {'better' if gap > 0 else 'worse'}" if abs(gap) >= 0.005
               else "the two are equal")
    return f"{label}: your model ({your_budget}) {yours:.2f}{units}; reference ({_budget(entry)}) {ref:.2f}{units}: {verdict}"


def check_matches(name: str, recomputed: Mapping[str, float], atol: float = 0.02,
                  directory: str | os.PathLike[str] | None = None) -> None:
    """Raise unless numbers recomputed from the stored weights equal the manifest's check values."""
    stored = info(name, directory)["evaluation"]["check"]
    for key, value in stored.items():
        if key not in recomputed:
            raise ReferenceModelError(f"recomputed: lacks {key!r}")
        if not abs(float(recomputed[key]) - float(value)) <= atol:
            raise ReferenceModelError(
                f"recomputed[{key!r}] = {recomputed[key]:.4f} differs from the manifest's {value:.4f} by more than {atol}"
            )


def verify(backend: ModuleType, model: Any, inputs: Any, labels: Any = None, atol: float = 0.02) -> dict[str, float]:
    """Recompute a loaded reference model's check values in ``backend`` and compare with the manifest.

    Notebooks call this next to the cell that prints the manifest's numbers, so a page can
    only show numbers that its own framework reproduces from the shipped weights.

    Parameters
    ----------
    backend : module
        ``vaelib.torch`` or ``vaelib.keras``.
    model
        A model from ``load_reference``.
    inputs
        The reference's test data, at least as many examples as the check uses: for image
        VAEs the binarized test images (``data.binarize(test.images, seed=2)``; gray levels
        for the Gaussian VAE), for autoencoders the gray-level test images (centred by the
        training mean for the linear one), for text models the test sentences as ids of the
        model's vocabulary.
    labels
        The test labels, for the conditional VAE.
    atol : float
        Largest difference allowed, in nats (float32 rounding and the backend differ).

    Returns
    -------
    dict
        The recomputed values.
    """
    name = getattr(model, "reference_name", None)
    if name is None:
        raise ReferenceModelError("model: expected a model from load_reference (it has no reference_name)")
    directory = getattr(model, "reference_dir", None)
    entry = info(name, directory)
    got = check_values(backend, entry["class"], model, inputs, entry["evaluation"]["check_params"], labels)
    check_matches(name, got, atol=atol, directory=directory)
    return got


def check_values(backend: ModuleType, class_name: str, model: Any, inputs: Any, params: Mapping[str, int],
                 labels: Any = None) -> dict[str, float]:
    """The manifest's quick "check" numbers of a model, computed on the first test examples.

    ``train_reference.py`` stores them (with ``params`` as ``check_params``) and :func:`verify`
    recomputes them, both through this one function, so the two cannot drift apart.
    ``inputs`` and ``labels`` are as for :func:`verify`; ``params`` holds ``n`` (and ``k``,
    ``n_log_px`` for image VAEs) or, for text models, ``sentences``, ``k`` and ``seed``.
    """
    if class_name in ("SentenceVAE", "RNNLanguageModel"):
        got = backend.evaluate_text(model, list(inputs)[: params["sentences"]], k=params["k"], seed=params["seed"])
        return {key: got[key] for key in ("nll", "kl", "perplexity")}
    n = params["n"]
    if class_name == "Autoencoder":
        return {"reconstruction": float(np.mean(model.reconstruction_error(inputs[:n])))}
    got = image_evaluation(backend, model, inputs[:n], k=params["k"], n_log_px=params["n_log_px"],
                           labels=None if labels is None else labels[:n])
    return {key: got[key] for key in ("elbo", "kl", "log_px") if key in got}


def loader(module_name: str) -> Callable[..., Any]:
    """The ``load_reference`` function of one backend, to live in ``module_name``.

    ``module_name`` is ``"vaelib.torch.reference"`` or ``"vaelib.keras.reference"``; the
    models are built from that backend's package.
    """
    backend_name = module_name.rsplit(".", 1)[0]

    def load_reference(name: str, directory: str | os.PathLike[str] | None = None) -> Any:
        """A reference model of the course, with the weights it was trained to.

        Parameters
        ----------
        name : str
            A name from :func:`vaelib.reference.names` (e.g. ``"vae_mlp"``); an unknown name
            gets an error that lists the known ones.
        directory : str or path-like, optional
            A folder of reference models (default: ``$VAELIB_REFERENCE_DIR``, else the ones
            that ship with the package).

        Returns
        -------
        model
            The model, built from its manifest entry, in evaluation mode, with its name as
            ``model.reference_name``. Its weight file is verified against the manifest's
            SHA-256 first: a corrupt or altered file is refused with one line naming it. Both
            backends load the same file.
        """
        import importlib

        return build(importlib.import_module(backend_name), name, directory)

    load_reference.__module__ = module_name
    load_reference.__qualname__ = "load_reference"
    return load_reference
