"""Beyond the vanilla VAE (PyTorch): a conditional VAE and the importance-weighted autoencoder.

The beta-VAE needs no class of its own: it is :class:`~vaelib.torch.VAE` trained with
``fit(..., beta=...)``. Layer names follow ``vaelib.torch.models``, so ``export_weights`` and
``import_weights`` carry these models to and from their ``vaelib.keras`` twins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Union

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from vaelib._checks import check_beta, check_positive_int
from vaelib._docs import shared_doc
from vaelib._fit import prepare_conditional_fit
from vaelib._labels import check_labels
from vaelib._types import ELBOTerms, History
from vaelib.schedules import Schedule
from vaelib.torch.kernels import gaussian_kl, reparameterize
from vaelib.torch.models import PIXELS, VAE, ConvEncoder, MLPEncoder, _ImageModel, _NETWORKS
from vaelib.torch.train import run_epochs
from vaelib.torch.utils import as_tensor, float_tensor, seed_everything, to_numpy, validate_images

__all__ = ["ConditionalVAE", "IWAE", "fit_conditional"]


# ----------------------------------------------------------------------------------------
# Conditional VAE
# ----------------------------------------------------------------------------------------

class _ConditionalMLPEncoder(MLPEncoder):
    """The MLP encoder reading the pixels and the one-hot label side by side."""

    def __init__(self, latent_dim: int, hidden_dim: int, num_classes: int) -> None:
        super().__init__(latent_dim, hidden_dim)
        self.hidden = nn.Linear(PIXELS + num_classes, hidden_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.hidden(torch.cat([x.flatten(1), y], dim=1)))
        return self.mu(h), self.logvar(h)


class _ConditionalConvEncoder(ConvEncoder):
    """The conv encoder; the one-hot label joins the flattened feature map before the dense layer."""

    def __init__(self, latent_dim: int, hidden_dim: int, num_classes: int) -> None:
        super().__init__(latent_dim, hidden_dim)
        self.hidden = nn.Linear(self.hidden.in_features + num_classes, hidden_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.conv2(F.relu(self.conv1(x.unsqueeze(1)))))
        h = torch.cat([h.permute(0, 2, 3, 1).flatten(1), y], dim=1)  # channels-last, as Keras
        h = F.relu(self.hidden(h))
        return self.mu(h), self.logvar(h)


_CONDITIONAL_ENCODERS = {"mlp": _ConditionalMLPEncoder, "conv": _ConditionalConvEncoder}


@dataclass(frozen=True)
class _LabelledBatch:
    """Images and their labels; ``len`` is the batch size, as the shared training loop expects."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)

    def __iter__(self) -> Iterator[torch.Tensor]:
        return iter((self.x, self.y))


@shared_doc("torch")
class ConditionalVAE(_ImageModel):

    def __init__(
        self,
        num_classes: int = 10,
        architecture: str = "mlp",
        latent_dim: int = 20,
        hidden_dim: int = 400,
        likelihood: str = "bernoulli",
    ) -> None:
        num_classes = check_positive_int("num_classes", num_classes)
        super().__init__(architecture, latent_dim, hidden_dim, likelihood, {"num_classes": num_classes})
        self.num_classes = num_classes
        # Same layer names as the VAE's; only the widths that see the label grow.
        self.encoder = _CONDITIONAL_ENCODERS[architecture](latent_dim, hidden_dim, num_classes)
        self.decoder = _NETWORKS[architecture][1](latent_dim + num_classes, hidden_dim)
        self._add_likelihood_and_place()

    # -- labels ------------------------------------------------------------------------
    def one_hot(self, y: Any, batch: int | None = None, name: str = "y") -> torch.Tensor:
        """Validated labels (n,) as a float one-hot tensor (n, num_classes) on the model's device."""
        labels = check_labels(name, to_numpy(y), self.num_classes, batch)
        return self._one_hot(torch.as_tensor(labels, device=self.device))

    def _one_hot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y.long(), self.num_classes).float()

    # -- the model -------------------------------------------------------------------
    def encode(self, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters ``(mu, logvar)`` of q(z | x, y), each (B, latent_dim)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return self.encoder(as_tensor(x, self.device), self.one_hot(y, len(x)))

    def decode(self, z: Any, y: Any) -> torch.Tensor:
        """Decoder output for latents z (B, latent_dim) and labels y (B,)."""
        z = self._latent(z)
        return self.decoder(torch.cat([z, self.one_hot(y, z.shape[0])], dim=1))

    def _conditional_terms(self, x: torch.Tensor, y_hot: torch.Tensor, beta: float,
                           eps: torch.Tensor | None = None) -> ELBOTerms:
        mu, logvar = self.encoder(x, y_hot)
        if eps is None:
            eps = torch.randn_like(mu)
        z = reparameterize(mu, logvar, eps)
        log_lik = self.log_likelihood(x, self.decoder(torch.cat([z, y_hot], dim=1)))
        kl = gaussian_kl(mu, logvar)
        return ELBOTerms.weighted(log_lik, kl, beta)

    @shared_doc("torch")
    def elbo(self, x: Any, y: Any, beta: float = 1.0, eps: Any = None) -> ELBOTerms:
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        y_hot = self.one_hot(y, len(x))
        x = as_tensor(x, self.device)
        beta = check_beta(beta, schedule_ok=False)
        return self._conditional_terms(x, y_hot, beta, self._check_eps(eps, x.shape[0]))

    def loss_terms(self, batch: Any, beta: float) -> dict[str, torch.Tensor]:
        """Batch means for training from a pair ``(x, y)`` of image and label tensors.

        Unvalidated on purpose: :func:`fit_conditional` checks the whole data set once.
        """
        x, y = batch
        terms = self._conditional_terms(x, self._one_hot(y), beta)
        return {"loss": -terms.elbo.mean(), "log_likelihood": terms.log_likelihood.mean(), "kl": terms.kl.mean()}

    def forward(self, x: Any, y: Any) -> torch.Tensor:
        """Decoder output at the posterior mean (a deterministic reconstruction)."""
        y_hot = self.one_hot(y, len(x))
        mu, _ = self.encoder(as_tensor(x, self.device), y_hot)
        return self.decoder(torch.cat([mu, y_hot], dim=1))

    # -- NumPy conveniences for notebooks -------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: Any, y: Any) -> np.ndarray:
        """Pixel means E[x | z = mu(x, y), y] as a NumPy array (B, 28, 28)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return to_numpy(self.pixel_means(self(x, y)))

    @shared_doc("torch")
    @torch.no_grad()
    def sample(self, labels: Any, seed: int | None = None) -> np.ndarray:
        y_hot = self.one_hot(labels, name="labels")
        z = self._prior_draw(len(y_hot), seed)
        return to_numpy(self.pixel_means(self.decoder(torch.cat([z, y_hot], dim=1))))

    @torch.no_grad()
    def decode_means(self, z: Any, y: Any) -> np.ndarray:
        """Pixel means for given latents and labels, as NumPy."""
        return to_numpy(self.pixel_means(self.decode(z, y)))


@shared_doc("torch")
def fit_conditional(
    model: ConditionalVAE,
    x_train: Any,
    y_train: Any,
    x_val: Any = None,
    y_val: Any = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: Union[float, Schedule] = 1e-3,
    beta: Union[float, Schedule] = 1.0,
    binarize: bool = False,
    seed: int | None = None,
    verbose: bool = True,
) -> History:
    labels, val_labels = prepare_conditional_fit(
        model, x_train, y_train, x_val, y_val, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        beta=beta, verbose=verbose, binarize=binarize, seed=seed, validate_images=validate_images, to_numpy=to_numpy,
        seed_everything=seed_everything)
    device = model.device
    data, targets = as_tensor(x_train, device), torch.as_tensor(labels, device=device)
    n = len(data)

    def train_batches() -> Iterable[_LabelledBatch]:
        order = torch.randperm(n, device=device)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb = data[idx]
            yield _LabelledBatch(torch.bernoulli(xb) if binarize else xb, targets[idx])

    val_batches = None
    if x_val is not None:
        val, val_targets = as_tensor(x_val, device), torch.as_tensor(val_labels, device=device)

        def val_batches() -> Iterable[_LabelledBatch]:
            return (_LabelledBatch(val[s : s + 1000], val_targets[s : s + 1000]) for s in range(0, len(val), 1000))

    return run_epochs(
        model, train_batches, val_batches, epochs=epochs, learning_rate=learning_rate, beta=beta,
        steps_per_epoch=math.ceil(n / batch_size), verbose=verbose,
    )


# ----------------------------------------------------------------------------------------
# Importance-weighted autoencoder
# ----------------------------------------------------------------------------------------

@shared_doc("torch")
class IWAE(VAE):

    def __init__(
        self,
        architecture: str = "mlp",
        latent_dim: int = 20,
        hidden_dim: int = 400,
        likelihood: str = "bernoulli",
        k: int = 5,
    ) -> None:
        k = check_positive_int("k", k)
        super().__init__(architecture, latent_dim, hidden_dim, likelihood)
        self.k = k
        self.config = {**self.config, "k": k}

    def _iwae_terms(self, x: torch.Tensor, beta: float, eps: torch.Tensor | None = None) -> tuple[torch.Tensor, ELBOTerms]:
        """The k-sample bound (B,) and the ELBO terms of the first sample, for logging."""
        if self.k == 1:  # the ELBO itself, with its closed-form KL: the same bound, less noise
            terms = self.elbo_terms(x, beta, None if eps is None else eps[0])
            return terms.elbo, terms
        mu, logvar = self.encoder(x)
        if eps is None:
            eps = torch.randn(self.k, *mu.shape, device=mu.device)
        z = reparameterize(mu, logvar, eps)  # (k, B, D)
        k = self.k
        log_lik = self._log_likelihood_of_samples(x, z)
        # log p(z) - log q(z|x); with z - mu = sigma * eps the 2*pi terms cancel.
        log_ratio = 0.5 * (logvar + eps.pow(2) - z.pow(2)).sum(-1)
        bound = torch.logsumexp(log_lik + beta * log_ratio, dim=0) - math.log(k)
        kl = gaussian_kl(mu, logvar)
        return bound, ELBOTerms.weighted(log_lik[0], kl, beta)

    def objective(self, x: Any, beta: float = 1.0, eps: Any = None) -> torch.Tensor:
        """The per-example k-sample importance-weighted bound that training maximises, in nats.

        Parameters
        ----------
        x : array_like, shape (B, 28, 28)
            Images.
        beta : float
            Weight of ``log p(z) - log q(z|x)`` inside each log-weight (1: the IWAE bound).
        eps : array_like, shape (k, B, latent_dim), optional
            The noise of the k samples; drawn when omitted.

        Returns
        -------
        Tensor, shape (B,)
            Differentiable (use ``iwae_bound`` for large-k evaluation without gradients).
        """
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        x = as_tensor(x, self.device)
        if eps is not None:
            eps = float_tensor("eps", eps, self.device, shape=(self.k, x.shape[0], self.latent_dim), dtype=torch.float32)
        return self._iwae_terms(x, check_beta(beta, schedule_ok=False), eps)[0]

    def loss_terms(self, x: torch.Tensor, beta: float) -> dict[str, torch.Tensor]:
        """``loss`` = minus the batch-mean IWAE bound; ``log_likelihood`` and ``kl`` of one sample, for logging."""
        bound, terms = self._iwae_terms(x, beta)
        return {"loss": -bound.mean(), "log_likelihood": terms.log_likelihood.mean(), "kl": terms.kl.mean()}
