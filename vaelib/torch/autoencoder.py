"""The deterministic autoencoder of chapter 1 (PyTorch), mirrored by ``vaelib.keras.autoencoder``.

One class covers the chapter: a nonlinear MLP autoencoder, its linear special case (which
learns the PCA subspace), and a denoising variant that corrupts its training inputs.
Layer names follow the canonical weight layout (``encoder.hidden``, ``encoder.out``,
``decoder.hidden``, ``decoder.out``), so :func:`export_weights` / :func:`import_weights`
carry weights to and from the Keras twin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vaelib._checks import AE_LOSSES, autoencoder_config, check_noise_std, check_optional_seed, check_positive_int
from vaelib.torch.utils import as_tensor, default_device, float_tensor, to_numpy, validate_images

__all__ = ["Autoencoder", "corrupt"]

PIXELS = 28 * 28


class _Coder(nn.Module):
    """A dense map with an optional ReLU hidden layer (``hidden`` then ``out``)."""

    def __init__(self, n_in: int, n_out: int, hidden_dim: int | None) -> None:
        super().__init__()
        if hidden_dim is not None:
            self.hidden = nn.Linear(n_in, hidden_dim)
            n_in = hidden_dim
        self.out = nn.Linear(n_in, n_out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "hidden"):
            h = F.relu(self.hidden(h))
        return self.out(h)


class Autoencoder(nn.Module):
    """A deterministic autoencoder for 28x28 images: x -> z = f(x) -> x_hat = g(z).

    Parameters
    ----------
    latent_dim : int
        Size of the code z (the bottleneck).
    hidden_dim : int
        Width of the ReLU hidden layer of the encoder and of the decoder (unused when linear).
    linear : bool
        No hidden layers and no nonlinearity: ``z = W_e x + b_e``, ``x_hat = W_d z + b_d``.
        With the squared error this autoencoder learns the PCA subspace (chapter 1).
    loss : {"bce", "mse"}, optional
        Reconstruction loss, summed over pixels: binary cross-entropy on the decoder's logits
        (pixels in [0, 1]) or squared error on the decoder's outputs. Default: ``"mse"``
        when ``linear`` (a sigmoid output would not be linear), else ``"bce"``.
    noise_std : float
        Denoising autoencoder when > 0: in training mode ``loss_terms`` encodes
        :func:`corrupt` (x, noise_std) and scores the reconstruction against the clean x.

    Examples
    --------
    >>> from vaelib import torch as vl
    >>> model = vl.Autoencoder(latent_dim=16)
    >>> history = vl.fit(model, x_train, x_val, epochs=5)
    >>> x_hat = model.reconstruct(x_val[:8])            # NumPy (8, 28, 28)
    """

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dim: int = 256,
        linear: bool = False,
        loss: str | None = None,
        noise_std: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = autoencoder_config(latent_dim, hidden_dim, linear, loss, noise_std)
        loss = self.config["loss"]
        self.latent_dim = self.config["latent_dim"]
        self.loss_type = loss  # not "loss": keras.Model uses that name
        self.noise_std = self.config["noise_std"]
        # What fit() reads to decide whether pixels must lie in [0, 1].
        self.likelihood = AE_LOSSES[loss]
        hidden = None if linear else self.config["hidden_dim"]
        self.encoder = _Coder(PIXELS, self.latent_dim, hidden)
        self.decoder = _Coder(self.latent_dim, PIXELS, hidden)
        self.to(default_device())

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device

    # -- the model -------------------------------------------------------------------
    def encode(self, x: Any) -> torch.Tensor:
        """Codes z = f(x), shape (B, latent_dim)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return self.encoder(as_tensor(x, self.device).flatten(1))

    def decode(self, z: Any) -> torch.Tensor:
        """Decoder output g(z), shape (B, 28, 28): logits for ``"bce"``, pixels for ``"mse"``."""
        z = float_tensor("z", z, self.device, shape=(None, self.latent_dim), nonempty=True, dtype=torch.float32)
        return self.decoder(z).view(-1, 28, 28)

    def pixel_means(self, decoded: torch.Tensor) -> torch.Tensor:
        """Images from the decoder's output (a sigmoid for ``"bce"``)."""
        return torch.sigmoid(decoded) if self.loss_type == "bce" else decoded

    def reconstruction_loss(self, x: torch.Tensor, decoded: torch.Tensor) -> torch.Tensor:
        """Per-example reconstruction loss, summed over the 784 pixels, shape (B,).

        For ``"bce"`` this is -log p(x | z) of a Bernoulli decoder, in nats.
        """
        x = x.flatten(1)
        decoded = decoded.flatten(1)
        if self.loss_type == "bce":
            return F.binary_cross_entropy_with_logits(decoded, x, reduction="none").sum(1)
        return (decoded - x).square().sum(1)

    def forward(self, x: Any) -> torch.Tensor:
        """Decoder output for the code of x (logits for ``"bce"``)."""
        return self.decode(self.encode(x))

    def loss_terms(self, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
        """Batch means for :func:`fit`: ``"loss"`` (to minimise) and ``"reconstruction"``.

        ``beta`` is accepted for the training contract and ignored (there is no KL term).
        In training mode with ``noise_std > 0`` the encoder sees corrupted inputs and the
        loss compares with the clean ones. Unvalidated: ``fit`` checks the data once.
        """
        del beta
        inputs = _add_noise(x, self.noise_std, None) if self.training and self.noise_std > 0 else x
        decoded = self.decoder(self.encoder(inputs.flatten(1)))
        rec = self.reconstruction_loss(x, decoded).mean()
        return {"loss": rec, "reconstruction": rec}

    # -- NumPy conveniences for notebooks -------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: Any) -> np.ndarray:
        """Reconstructed images g(f(x)) as NumPy (B, 28, 28) (pixel means for ``"bce"``)."""
        return to_numpy(self.pixel_means(self(x)))

    @torch.no_grad()
    def reconstruction_error(self, x: Any, batch_size: int = 2000) -> np.ndarray:
        """Per-example reconstruction loss of clean inputs (no corruption), as NumPy (B,)."""
        validate_images("x", x, unit_range=self.loss_type == "bce")
        batch_size = check_positive_int("batch_size", batch_size)
        x = as_tensor(x, self.device)
        parts = [self.reconstruction_loss(xb, self.decode(self.encoder(xb.flatten(1)))) for xb in x.split(batch_size)]
        return to_numpy(torch.cat(parts))

    @torch.no_grad()
    def decode_means(self, z: Any) -> np.ndarray:
        """Images decoded from given codes, as NumPy (B, 28, 28)."""
        return to_numpy(self.pixel_means(self.decode(z)))


def corrupt(x: Any, noise_std: float, seed: int | None = None) -> torch.Tensor:
    """Add Gaussian noise to images and clip back to [0, 1] (the denoising corruption).

    Parameters
    ----------
    x : array_like or torch.Tensor, shape (B, 28, 28)
        Clean images in [0, 1].
    noise_std : float
        Standard deviation of the added noise (>= 0).
    seed : int, optional
        Seed of a private generator, for a reproducible corruption; else the global one.

    Returns
    -------
    torch.Tensor
        Noisy images, same shape, values in [0, 1].
    """
    validate_images("x", x)
    noise_std = check_noise_std(noise_std)
    seed = check_optional_seed(seed)
    device = x.device if isinstance(x, torch.Tensor) else default_device()
    x = as_tensor(x, device)
    gen = None if seed is None else torch.Generator(device=device).manual_seed(seed)
    return _add_noise(x, noise_std, gen)


def _add_noise(x: torch.Tensor, noise_std: float, gen: torch.Generator | None) -> torch.Tensor:
    """The corruption itself, unchecked (training calls it on every batch)."""
    if noise_std == 0:
        return x
    noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    return (x + noise_std * noise).clamp(0.0, 1.0)
