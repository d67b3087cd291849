"""Encoders, decoders and the image VAE (PyTorch).

The layer names here are the names of the canonical weight layout (see ``weights.py``),
shared with ``vaelib.keras.models``, so weights carry across frameworks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from vaelib._checks import check_beta, check_optional_seed, check_positive_int, image_model_config, network_sizes
from vaelib._docs import shared_doc
from vaelib._types import ELBOTerms
from vaelib.torch.kernels import bernoulli_log_likelihood, gaussian_kl, gaussian_log_likelihood, reparameterize
from vaelib.torch.utils import as_tensor, default_device, float_tensor, to_numpy, validate_images

__all__ = ["MLPEncoder", "MLPDecoder", "ConvEncoder", "ConvDecoder", "VAE", "ELBOTerms"]

PIXELS = 28 * 28
_CONV_CHANNELS = (32, 64)  # 28x28 -> 14x14x32 -> 7x7x64


class MLPEncoder(nn.Module):
    """x (B, 28, 28) -> hidden ReLU layer -> (mu, logvar), each (B, latent_dim)."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400) -> None:
        super().__init__()
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        self.hidden = nn.Linear(PIXELS, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.hidden(x.flatten(1)))
        return self.mu(h), self.logvar(h)


class MLPDecoder(nn.Module):
    """z (B, latent_dim) -> hidden ReLU layer -> one output per pixel, (B, 28, 28)."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400) -> None:
        super().__init__()
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        self.hidden = nn.Linear(latent_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, PIXELS)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(z))).view(-1, 28, 28)


class ConvEncoder(nn.Module):
    """Two stride-2 convolutions (28 -> 14 -> 7), a dense ReLU layer, then (mu, logvar)."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400) -> None:
        super().__init__()
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        c1, c2 = _CONV_CHANNELS
        self.conv1 = nn.Conv2d(1, c1, kernel_size=4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=4, stride=2, padding=1)
        self.hidden = nn.Linear(7 * 7 * c2, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.conv1(x.unsqueeze(1)))
        h = F.relu(self.conv2(h))
        # Flatten channels-last, as Keras does, so the dense weights mean the same in both.
        h = F.relu(self.hidden(h.permute(0, 2, 3, 1).flatten(1)))
        return self.mu(h), self.logvar(h)


class ConvDecoder(nn.Module):
    """Dense layers up to a 7x7x64 map, then two stride-2 transposed convolutions to 28x28."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400) -> None:
        super().__init__()
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        c1, c2 = _CONV_CHANNELS
        self.hidden = nn.Linear(latent_dim, hidden_dim)
        self.project = nn.Linear(hidden_dim, 7 * 7 * c2)
        self.deconv1 = nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1)
        self.deconv2 = nn.ConvTranspose2d(c1, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.project(F.relu(self.hidden(z), inplace=True)), inplace=True)
        h = h.view(-1, 7, 7, _CONV_CHANNELS[1]).permute(0, 3, 1, 2)  # channels-last order, as Keras
        h = F.relu(self.deconv1(h), inplace=True)
        if torch.is_grad_enabled():
            return self.deconv2(h).squeeze(1)
        # Without autograd the last layer runs about 3x faster as a matrix product (the library's
        # transposed convolution to one channel is memory-bound on CPUs); with it, slower.
        return _upsample_by_matmul(h.permute(0, 2, 3, 1), self.deconv2).squeeze(-1)


def _upsample_by_matmul(h: torch.Tensor, layer: nn.ConvTranspose2d) -> torch.Tensor:
    """``layer`` (kernel 4, stride 2, padding 1) applied to channels-last ``h`` (B, H, W, C_in).

    Each input pixel spreads a 4x4 patch of outputs, one row of ``h @ W``; the patch of input row
    i and kernel row ``kh = 2 * dh + ph`` lands on output row ``2 * (i + dh) + ph - 1``, so four
    shifted sums (over dh and dw) place all patches. Returns (B, 2H, 2W, C_out), channels-last.
    """
    b, rows, cols, c_in = h.shape
    c_out = layer.out_channels
    weight = layer.weight.permute(0, 2, 3, 1).reshape(c_in, 16 * c_out)  # (C_in, kh, kw, C_out)
    patches = (h.reshape(-1, c_in) @ weight).view(b, rows, cols, 2, 2, 2, 2, c_out)
    out = h.new_zeros(b, rows + 1, 2, cols + 1, 2, c_out, dtype=torch.float32)
    for dh in (0, 1):
        for dw in (0, 1):
            out[:, dh : dh + rows, :, dw : dw + cols] += patches[:, :, :, dh, :, dw].transpose(2, 3)
    return out.view(b, 2 * rows + 2, 2 * cols + 2, c_out)[:, 1:-1, 1:-1] + layer.bias


_NETWORKS = {"mlp": (MLPEncoder, MLPDecoder), "conv": (ConvEncoder, ConvDecoder)}


class _ImageModel(nn.Module):
    """The parts every image VAE here shares, whatever its networks read.

    The checked configuration, the pixel likelihood (with the Gaussian's learned
    ``log_sigma``), the device, prior draws and the noise check. :class:`VAE` and
    :class:`~vaelib.torch.ConditionalVAE` are built on it side by side, each with its own
    ``encode``/``decode``/``elbo`` (the conditional ones also take the labels), so neither
    overrides the other's methods with another signature.
    """

    def __init__(self, architecture: str, latent_dim: int, hidden_dim: int, likelihood: str,
                 leading_config: dict[str, int] | None = None) -> None:
        super().__init__()
        self.config = image_model_config(architecture, latent_dim, hidden_dim, likelihood, leading_config)
        self.latent_dim = latent_dim
        self.likelihood = likelihood

    def _add_likelihood_and_place(self) -> None:
        """After the networks: the Gaussian's ``log_sigma`` (registered last), then to the device."""
        if self.likelihood == "gaussian":
            self.log_sigma = nn.Parameter(torch.zeros(()))
        self.to(default_device())

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return next(self.parameters()).device

    def log_likelihood(self, x: torch.Tensor, decoded: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per example, given the decoder's output for z."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, decoded)
        return gaussian_log_likelihood(x, decoded, self.log_sigma)

    def pixel_means(self, decoded: torch.Tensor) -> torch.Tensor:
        """E[x | z] from the decoder's output."""
        return torch.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    def _prior_draw(self, n: int, seed: int | None) -> torch.Tensor:
        """n draws z ~ N(0, I), from a private generator (seeded, or fresh entropy)."""
        seed = check_optional_seed(seed)
        gen = torch.Generator(device=self.device)
        if seed is not None:
            gen.manual_seed(seed)
        else:
            gen.seed()
        return torch.randn(n, self.latent_dim, generator=gen, device=self.device)

    def _latent(self, z: Any, name: str = "z") -> torch.Tensor:
        """Latent codes as a float32 tensor (B, latent_dim) on the model's device, finite, B >= 1."""
        return float_tensor(name, z, self.device, shape=(None, self.latent_dim), nonempty=True, dtype=torch.float32)

    def _check_eps(self, eps: Any, batch: int) -> torch.Tensor | None:
        """The reparameterization noise as a tensor of shape (batch, latent_dim), or None."""
        if eps is None:
            return None
        return float_tensor("eps", eps, self.device, shape=(batch, self.latent_dim), dtype=torch.float32)


@shared_doc("torch")
class VAE(_ImageModel):

    def __init__(
        self,
        architecture: str = "mlp",
        latent_dim: int = 20,
        hidden_dim: int = 400,
        likelihood: str = "bernoulli",
    ) -> None:
        super().__init__(architecture, latent_dim, hidden_dim, likelihood)
        encoder_cls, decoder_cls = _NETWORKS[architecture]
        self.encoder = encoder_cls(latent_dim, hidden_dim)
        self.decoder = decoder_cls(latent_dim, hidden_dim)
        self._add_likelihood_and_place()

    # The shared parts, listed again so that the API page shows them among VAE's members.
    device = _ImageModel.device
    log_likelihood = _ImageModel.log_likelihood
    pixel_means = _ImageModel.pixel_means

    # -- the model -------------------------------------------------------------------
    def encode(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior parameters ``(mu, logvar)``, each (B, latent_dim)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return self.encoder(as_tensor(x, self.device))

    def decode(self, z: Any) -> torch.Tensor:
        """Decoder output for latents z (B, latent_dim): logits (Bernoulli) or means (Gaussian)."""
        return self.decoder(self._latent(z))

    def elbo_terms(self, x: torch.Tensor, beta: float = 1.0, eps: torch.Tensor | None = None) -> ELBOTerms:
        """The ELBO per example for a batch of images that is already a tensor (unvalidated).

        Encode, draw z by the reparameterization trick, decode, and weigh the two terms:
        ``elbo = log p(x | z) - beta * KL(q(z | x) || p(z))``. :meth:`elbo` checks its input
        and calls this; training calls it on batches of a data set checked once.
        """
        mu, logvar = self.encoder(x)
        if eps is None:
            eps = torch.randn_like(mu)
        z = reparameterize(mu, logvar, eps)
        return ELBOTerms.weighted(self.log_likelihood(x, self.decoder(z)), gaussian_kl(mu, logvar), beta)

    def _log_likelihood_of_samples(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z_s) for S latents per image, z (S, B, D), of the images x (B, ...): shape (S, B)."""
        s, b, d = z.shape
        x_rep = x.unsqueeze(0).expand(s, *x.shape).reshape(s * b, *x.shape[1:])
        return self.log_likelihood(x_rep, self.decoder(z.reshape(s * b, d))).view(s, b)


    @shared_doc("torch")
    def elbo(self, x: Any, beta: float = 1.0, eps: Any = None) -> ELBOTerms:
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        x = as_tensor(x, self.device)
        return self.elbo_terms(x, check_beta(beta, schedule_ok=False), self._check_eps(eps, x.shape[0]))

    def loss_terms(self, x: torch.Tensor, beta: float) -> dict[str, torch.Tensor]:
        """Batch means for training: the loss to minimise (``-ELBO_beta``) and what to log.

        Unvalidated on purpose: ``fit`` checks the whole data set once, not every batch.
        """
        terms = self.elbo_terms(x, beta)
        return {
            "loss": -terms.elbo.mean(),
            "log_likelihood": terms.log_likelihood.mean(),
            "kl": terms.kl.mean(),
        }

    def forward(self, x: Any) -> torch.Tensor:
        """Decoder output at the posterior mean (a deterministic reconstruction)."""
        mu, _ = self.encode(x)
        return self.decoder(mu)

    # -- NumPy conveniences for notebooks -------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: Any) -> np.ndarray:
        """Pixel means E[x | z = mu(x)] as a NumPy array (B, 28, 28)."""
        return to_numpy(self.pixel_means(self(x)))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """Pixel means of n images decoded from prior draws z ~ N(0, I), as NumPy (n, 28, 28)."""
        z = self._prior_draw(check_positive_int("n", n), seed)
        return to_numpy(self.pixel_means(self.decoder(z)))

    @torch.no_grad()
    def decode_means(self, z: Any) -> np.ndarray:
        """Pixel means for given latents, as NumPy (for latent grids and interpolations)."""
        return to_numpy(self.pixel_means(self.decode(z)))
