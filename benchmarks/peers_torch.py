"""The PyTorch peer of ``peers.py``: the PyTorch examples' MLP VAE, re-implemented, and its adapter.

Written from reading ``vae/main.py`` of github.com/pytorch/examples, not copied. What it
keeps from the source: the layers ``fc1`` (784 -> 400), ``fc21``/``fc22`` (400 -> 20, the
posterior's mean and log-variance), ``fc3`` (20 -> 400), ``fc4`` (400 -> 784) with ReLU
hidden layers and a sigmoid output; the loss, binary cross-entropy on the sigmoid's
probabilities plus the analytic KL, both summed over the pixels *and over the batch*; Adam
with a step size of 1e-3 and PyTorch's defaults otherwise; batches of 128 drawn by a
``DataLoader`` (shuffled, no worker processes on a CPU) from a ``Dataset`` that hands out
one image at a time; and its loop (``zero_grad``, forward, loss, ``backward``,
``loss.item()`` into a running total, ``step``).

What it changes, so that every contender sees the same data and budget: the ``Dataset``
serves Fashion-MNIST with a fresh Bernoulli draw of each image every time it is read
(dynamic binarization, as ``vaelib.torch.fit(..., binarize=True)`` draws each batch), the
loop stops after the first step that ends past the wall-clock budget, it logs nothing, and
the decoder's pre-sigmoid output is reachable (``decoder_logits``) for the adapter.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from vaelib import torch as vl

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
LATENT_DIM = 20


class ExampleVAE(nn.Module):
    """The PyTorch examples' VAE: 784-400-20 encoder, 20-400-784 decoder, sigmoid pixels."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, LATENT_DIM)
        self.fc22 = nn.Linear(400, LATENT_DIM)
        self.fc3 = nn.Linear(LATENT_DIM, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat images (B, 784) -> (mu, logvar), each (B, 20)."""
        hidden = F.relu(self.fc1(x))
        return self.fc21(hidden), self.fc22(hidden)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """One draw of z ~ q(z | x), from the global generator."""
        std = torch.exp(0.5 * logvar)
        return mu + std * torch.randn_like(std)

    def decoder_logits(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder before its sigmoid: one logit per pixel, (B, 784)."""
        return self.fc4(F.relu(self.fc3(z)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities (B, 784), as the source's decoder returns them."""
        return torch.sigmoid(self.decoder_logits(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def example_loss(recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The source's loss: -ELBO summed over the batch (not averaged), in nats."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class BinarizedImages(Dataset):
    """One image per item, drawn afresh as binary pixels (P(1) = intensity) at every read."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images = torch.as_tensor(images, dtype=torch.float32)
        self.labels = torch.as_tensor(labels)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        # (1, 28, 28), the shape torchvision's ToTensor gives the source's MNIST images.
        return torch.bernoulli(self.images[index]).unsqueeze(0), self.labels[index]


def build_example(seed: int) -> ExampleVAE:
    """The example's model, initialized after seeding the global generator (the source's seed is 1)."""
    torch.manual_seed(seed)
    return ExampleVAE()


def train_example(model: ExampleVAE, images: np.ndarray, labels: np.ndarray,
                  out_of_time: Callable[[], bool]) -> tuple[int, int]:
    """Train the example's way until ``out_of_time()`` after a step; return (steps, images seen)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(BinarizedImages(images, labels), batch_size=BATCH_SIZE, shuffle=True)
    steps = seen = 0
    model.train()
    while True:  # epochs, until the budget is spent
        train_loss = 0.0
        for data, _ in loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = example_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            steps, seen = steps + 1, seen + len(data)
            if out_of_time():
                return steps, seen


# -- one estimator for all: the peer's networks in vaelib's VAE --------------------------
class _Slot(nn.Module):
    """A network slot of a vaelib VAE filled by a function of a peer's model (kept as a submodule)."""

    def __init__(self, owner: nn.Module, function: Callable[[torch.Tensor], Any]) -> None:
        super().__init__()
        self.owner = owner  # registers the peer's parameters: vaelib reads the device from them
        self.function = function

    def forward(self, inputs: torch.Tensor) -> Any:
        return self.function(inputs)


def as_vaelib_vae(owner: nn.Module, encode: Callable, decode_logits: Callable, latent_dim: int) -> vl.VAE:
    """A ``vaelib.torch.VAE`` whose encoder and decoder are a peer's, for ``vl.evaluate``/``vl.iwae_bound``.

    ``encode`` maps images (B, 28, 28) to ``(mu, logvar)``; ``decode_logits`` maps latents
    (B, latent_dim) to Bernoulli logits with 784 entries per image. Everything else (the
    likelihood, the KL, the importance weights) is vaelib's own code.
    """
    vae = vl.VAE("mlp", latent_dim=latent_dim)  # its own networks are replaced just below
    vae.encoder = _Slot(owner, encode)
    vae.decoder = _Slot(owner, lambda z: decode_logits(z).view(-1, 28, 28))
    return vae


def example_as_vaelib_vae(model: ExampleVAE) -> vl.VAE:
    """The trained example VAE as a vaelib model."""
    return as_vaelib_vae(model, lambda x: model.encode(x.flatten(1)), model.decoder_logits, LATENT_DIM)
