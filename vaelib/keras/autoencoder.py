"""The deterministic autoencoder of chapter 1 (Keras 3), mirrored by ``vaelib.torch.autoencoder``.

One class covers the chapter: a nonlinear MLP autoencoder, its linear special case (which
learns the PCA subspace), and a denoising variant that corrupts its training inputs.
Layer names follow the canonical weight layout (``encoder.hidden``, ``encoder.out``,
``decoder.hidden``, ``decoder.out``), so :func:`export_weights` / :func:`import_weights`
carry weights to and from the PyTorch twin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelib._checks import AE_LOSSES, autoencoder_config, check_noise_std, check_optional_seed, check_positive_int
from vaelib.keras._backend import keras
from vaelib.keras.train import TrainableModel
from vaelib.keras.utils import as_tensor, float_tensor, to_numpy, validate_images

ops = keras.ops
layers = keras.layers

__all__ = ["Autoencoder", "corrupt"]

PIXELS = 28 * 28


class _Coder(layers.Layer):
    """A dense map with an optional ReLU hidden layer (``hidden`` then ``out``)."""

    def __init__(self, n_out: int, hidden_dim: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden_dim, activation="relu", name="hidden") if hidden_dim else None
        self.out = layers.Dense(n_out, name="out")

    def call(self, h: Any) -> Any:
        if self.hidden is not None:
            h = self.hidden(h)
        return self.out(h)


@keras.saving.register_keras_serializable(package="vaelib")
class Autoencoder(TrainableModel):
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
        Denoising autoencoder when > 0: in training ``loss_terms`` encodes
        :func:`corrupt` (x, noise_std) and scores the reconstruction against the clean x.

    Examples
    --------
    >>> from vaelib import keras as vl
    >>> model = vl.Autoencoder(latent_dim=16)
    >>> history = vl.fit(model, x_train, x_val, epochs=5)
    >>> x_hat = model.reconstruct(x_val[:8])            # NumPy (8, 28, 28)
    """

    metric_names = ("loss", "reconstruction")
    traced_attributes = ("binarize", "noise_std")

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dim: int = 256,
        linear: bool = False,
        loss: str | None = None,
        noise_std: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config = autoencoder_config(latent_dim, hidden_dim, linear, loss, noise_std)
        loss = self.config["loss"]
        self.latent_dim = self.config["latent_dim"]
        self.loss_type = loss  # not "loss": keras.Model uses that name
        self.noise_std = self.config["noise_std"]
        # What fit() reads to decide whether pixels must lie in [0, 1].
        self.likelihood = AE_LOSSES[loss]
        hidden = None if linear else self.config["hidden_dim"]
        self.encoder = _Coder(self.latent_dim, hidden, name="encoder")
        self.decoder = _Coder(PIXELS, hidden, name="decoder")
        self.noise = keras.random.SeedGenerator(name="noise")
        self(np.zeros((1, 28, 28), dtype="float32"))  # build now: weights exist from the start

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config}

    # -- the model -------------------------------------------------------------------
    def encode(self, x: Any) -> Any:
        """Codes z = f(x), shape (B, latent_dim)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return self.encoder(ops.reshape(as_tensor(x), (-1, PIXELS)))

    def decode(self, z: Any) -> Any:
        """Decoder output g(z), shape (B, 28, 28): logits for ``"bce"``, pixels for ``"mse"``."""
        z = float_tensor("z", z, shape=(None, self.latent_dim), nonempty=True, dtype="float32")
        return ops.reshape(self.decoder(z), (-1, 28, 28))

    def pixel_means(self, decoded: Any) -> Any:
        """Images from the decoder's output (a sigmoid for ``"bce"``)."""
        return ops.sigmoid(decoded) if self.loss_type == "bce" else decoded

    def reconstruction_loss(self, x: Any, decoded: Any) -> Any:
        """Per-example reconstruction loss, summed over the 784 pixels, shape (B,).

        For ``"bce"`` this is -log p(x | z) of a Bernoulli decoder, in nats.
        """
        x = ops.reshape(x, (-1, PIXELS))
        decoded = ops.reshape(decoded, (-1, PIXELS))
        if self.loss_type == "bce":
            # max(l, 0) - l x + log(1 + e^-|l|): the overflow-free form torch uses too.
            per_pixel = ops.relu(decoded) - decoded * x + ops.log1p(ops.exp(-ops.abs(decoded)))
            return ops.sum(per_pixel, axis=1)
        return ops.sum(ops.square(decoded - x), axis=1)

    def call(self, x: Any) -> Any:
        """Decoder output for the code of x (logits for ``"bce"``)."""
        z = self.encoder(ops.reshape(x, (-1, PIXELS)))
        return ops.reshape(self.decoder(z), (-1, 28, 28))

    def loss_terms(self, x: Any, beta: Any = 1.0, training: bool = False) -> dict[str, Any]:
        """Batch means for :func:`fit`: ``"loss"`` (to minimise) and ``"reconstruction"``.

        ``beta`` is accepted for the training contract and ignored (there is no KL term).
        In training with ``noise_std > 0`` the encoder sees corrupted inputs and the loss
        compares with the clean ones. Unvalidated: ``fit`` checks the data once.
        """
        del beta
        inputs = _add_noise(x, self.noise_std, self.noise) if training and self.noise_std > 0 else x
        rec = ops.mean(self.reconstruction_loss(x, self(inputs)))
        return {"loss": rec, "reconstruction": rec}

    # -- NumPy conveniences for notebooks -------------------------------------------
    def reconstruct(self, x: Any) -> np.ndarray:
        """Reconstructed images g(f(x)) as NumPy (B, 28, 28) (pixel means for ``"bce"``)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return to_numpy(self.pixel_means(self(as_tensor(x))))

    def reconstruction_error(self, x: Any, batch_size: int = 2000) -> np.ndarray:
        """Per-example reconstruction loss of clean inputs (no corruption), as NumPy (B,)."""
        validate_images("x", x, unit_range=self.loss_type == "bce")
        batch_size = check_positive_int("batch_size", batch_size)
        x = as_tensor(x)
        parts = [to_numpy(self.reconstruction_loss(x[i : i + batch_size], self(x[i : i + batch_size])))
                 for i in range(0, int(x.shape[0]), batch_size)]
        return np.concatenate(parts)

    def decode_means(self, z: Any) -> np.ndarray:
        """Images decoded from given codes, as NumPy (B, 28, 28)."""
        return to_numpy(self.pixel_means(self.decode(z)))


def corrupt(x: Any, noise_std: float, seed: int | keras.random.SeedGenerator | None = None) -> Any:
    """Add Gaussian noise to images and clip back to [0, 1] (the denoising corruption).

    Parameters
    ----------
    x : array_like or tensor, shape (B, 28, 28)
        Clean images in [0, 1].
    noise_std : float
        Standard deviation of the added noise (>= 0).
    seed : int or keras.random.SeedGenerator, optional
        An int gives a reproducible corruption; a SeedGenerator (what the model uses inside
        its training step) a fresh one at each call; None draws from Keras's global seed.

    Returns
    -------
    tensor
        Noisy images, same shape, values in [0, 1].
    """
    validate_images("x", x)
    noise_std = check_noise_std(noise_std)
    if not isinstance(seed, keras.random.SeedGenerator):
        seed = check_optional_seed(seed)
    return _add_noise(as_tensor(x), noise_std, seed)


def _add_noise(x: Any, noise_std: float, seed: int | keras.random.SeedGenerator | None) -> Any:
    """The corruption itself, unchecked (the training step calls it on every batch, traced)."""
    if noise_std == 0:
        return x
    noise = keras.random.normal(ops.shape(x), seed=seed, dtype=x.dtype)
    return ops.clip(x + noise_std * noise, 0.0, 1.0)
