"""Encoders, decoders and the image VAE (Keras 3, ``keras.ops`` and ``keras.random``).

Layer attribute names match ``vaelib.torch.models`` one for one: they are the keys of the
canonical weight layout, so weights carry across frameworks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaelib._checks import check_beta, check_optional_seed, check_positive_int, image_model_config, network_sizes
from vaelib._docs import shared_doc
from vaelib._types import ELBOTerms
from vaelib.keras._backend import keras
from vaelib.keras.kernels import bernoulli_log_likelihood, gaussian_kl, gaussian_log_likelihood, reparameterize
from vaelib.keras.train import TrainableModel
from vaelib.keras.utils import as_tensor, float_tensor, to_numpy, validate_images

ops = keras.ops
layers = keras.layers

__all__ = ["MLPEncoder", "MLPDecoder", "ConvEncoder", "ConvDecoder", "VAE", "ELBOTerms"]

PIXELS = 28 * 28
_CONV_CHANNELS = (32, 64)  # 28x28 -> 14x14x32 -> 7x7x64


class MLPEncoder(layers.Layer):
    """x (B, 28, 28) -> hidden ReLU layer -> (mu, logvar), each (B, latent_dim)."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        self.hidden = layers.Dense(hidden_dim, activation="relu", name="hidden")
        self.mu = layers.Dense(latent_dim, name="mu")
        self.logvar = layers.Dense(latent_dim, name="logvar")

    def call(self, x: Any) -> tuple[Any, Any]:
        h = self.hidden(ops.reshape(x, (-1, PIXELS)))
        return self.mu(h), self.logvar(h)


class MLPDecoder(layers.Layer):
    """z (B, latent_dim) -> hidden ReLU layer -> one output per pixel, (B, 28, 28)."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        self.hidden = layers.Dense(hidden_dim, activation="relu", name="hidden")
        self.out = layers.Dense(PIXELS, name="out")

    def call(self, z: Any) -> Any:
        return ops.reshape(self.out(self.hidden(z)), (-1, 28, 28))


class ConvEncoder(layers.Layer):
    """Two stride-2 convolutions (28 -> 14 -> 7), a dense ReLU layer, then (mu, logvar)."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        c1, c2 = _CONV_CHANNELS
        # "same" padding with kernel 4 and stride 2 pads one pixel on each side, like torch's padding=1.
        self.conv1 = layers.Conv2D(c1, 4, strides=2, padding="same", activation="relu", name="conv1")
        self.conv2 = layers.Conv2D(c2, 4, strides=2, padding="same", activation="relu", name="conv2")
        self.hidden = layers.Dense(hidden_dim, activation="relu", name="hidden")
        self.mu = layers.Dense(latent_dim, name="mu")
        self.logvar = layers.Dense(latent_dim, name="logvar")

    def call(self, x: Any) -> tuple[Any, Any]:
        h = self.conv2(self.conv1(ops.expand_dims(x, -1)))
        h = self.hidden(ops.reshape(h, (-1, 7 * 7 * _CONV_CHANNELS[1])))
        return self.mu(h), self.logvar(h)


class ConvDecoder(layers.Layer):
    """Dense layers up to a 7x7x64 map, then two stride-2 transposed convolutions to 28x28."""

    def __init__(self, latent_dim: int = 20, hidden_dim: int = 400, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        latent_dim, hidden_dim = network_sizes(latent_dim, hidden_dim)
        c1, c2 = _CONV_CHANNELS
        self.hidden = layers.Dense(hidden_dim, activation="relu", name="hidden")
        self.project = layers.Dense(7 * 7 * c2, activation="relu", name="project")
        self.deconv1 = layers.Conv2DTranspose(c1, 4, strides=2, padding="same", activation="relu", name="deconv1")
        self.deconv2 = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="deconv2")

    def call(self, z: Any) -> Any:
        h = ops.reshape(self.project(self.hidden(z)), (-1, 7, 7, _CONV_CHANNELS[1]))
        return ops.squeeze(self.deconv2(self.deconv1(h)), -1)


_NETWORKS = {"mlp": (MLPEncoder, MLPDecoder), "conv": (ConvEncoder, ConvDecoder)}


class _ImageModel(TrainableModel):
    """The parts every image VAE here shares, whatever its networks read.

    The checked configuration, the pixel likelihood (with the Gaussian's learned
    ``log_sigma``), the prior's noise, prior draws and the noise check. :class:`VAE` and
    :class:`~vaelib.keras.ConditionalVAE` are built on it side by side, each with its own
    ``encode``/``decode``/``elbo`` (the conditional ones also take the labels), so neither
    overrides the other's methods with another signature.
    """

    metric_names = ("loss", "log_likelihood", "kl")

    def __init__(self, architecture: str, latent_dim: int, hidden_dim: int, likelihood: str,
                 leading_config: dict[str, int] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = image_model_config(architecture, latent_dim, hidden_dim, likelihood, leading_config)
        self.latent_dim = latent_dim
        self.likelihood = likelihood

    def _add_likelihood_and_noise(self) -> None:
        """After the networks: the Gaussian's ``log_sigma`` (created last), and the noise source."""
        if self.likelihood == "gaussian":
            self.log_sigma = self.add_weight(shape=(), initializer="zeros", name="log_sigma")
        self.noise = keras.random.SeedGenerator(name="noise")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.config}

    def log_likelihood(self, x: Any, decoded: Any) -> Any:
        """log p(x | z) per example, given the decoder's output for z."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, decoded)
        return gaussian_log_likelihood(x, decoded, self.log_sigma)

    def pixel_means(self, decoded: Any) -> Any:
        """E[x | z] from the decoder's output."""
        return ops.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    def _prior_draw(self, n: int, seed: int | None) -> Any:
        """n draws z ~ N(0, I): seeded, or from the model's own noise generator."""
        seed = check_optional_seed(seed)
        return keras.random.normal((n, self.latent_dim), seed=seed if seed is not None else self.noise)

    def _latent(self, z: Any, name: str = "z") -> Any:
        """Latent codes as a float32 tensor (B, latent_dim), finite, B >= 1."""
        return float_tensor(name, z, shape=(None, self.latent_dim), nonempty=True, dtype="float32")

    def _check_eps(self, eps: Any, batch: int) -> Any:
        """The reparameterization noise as a tensor of shape (batch, latent_dim), or None."""
        if eps is None:
            return None
        return float_tensor("eps", eps, shape=(batch, self.latent_dim), dtype="float32")


@shared_doc("keras")
@keras.saving.register_keras_serializable(package="vaelib")
class VAE(_ImageModel):

    def __init__(
        self,
        architecture: str = "mlp",
        latent_dim: int = 20,
        hidden_dim: int = 400,
        likelihood: str = "bernoulli",
        **kwargs: Any,
    ) -> None:
        super().__init__(architecture, latent_dim, hidden_dim, likelihood, **kwargs)
        encoder_cls, decoder_cls = _NETWORKS[architecture]
        self.encoder = encoder_cls(latent_dim, hidden_dim, name="encoder")
        self.decoder = decoder_cls(latent_dim, hidden_dim, name="decoder")
        self._add_likelihood_and_noise()
        self(np.zeros((1, 28, 28), dtype="float32"))  # build now: weights exist from the start

    # The shared parts, listed again so that the API page shows them among VAE's members.
    log_likelihood = _ImageModel.log_likelihood
    pixel_means = _ImageModel.pixel_means

    # -- the model -------------------------------------------------------------------
    def encode(self, x: Any) -> tuple[Any, Any]:
        """Posterior parameters ``(mu, logvar)``, each (B, latent_dim)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return self.encoder(as_tensor(x))

    def decode(self, z: Any) -> Any:
        """Decoder output for latents z (B, latent_dim): logits (Bernoulli) or means (Gaussian)."""
        return self.decoder(self._latent(z))

    def elbo_terms(self, x: Any, beta: Any = 1.0, eps: Any = None) -> ELBOTerms:
        """The ELBO per example for a batch of images that is already a tensor (unvalidated).

        Encode, draw z by the reparameterization trick, decode, and weigh the two terms:
        ``elbo = log p(x | z) - beta * KL(q(z | x) || p(z))``. :meth:`elbo` checks its input
        and calls this; training calls it on batches of a data set checked once.
        """
        mu, logvar = self.encoder(x)
        if eps is None:
            eps = keras.random.normal(ops.shape(mu), seed=self.noise)
        z = reparameterize(mu, logvar, eps)
        return ELBOTerms.weighted(self.log_likelihood(x, self.decoder(z)), gaussian_kl(mu, logvar), beta)

    def _log_likelihood_of_samples(self, x: Any, z: Any) -> Any:
        """log p(x | z_s) for S latents per image, z (S, B, D), of the images x (B, ...): shape (S, B)."""
        s = z.shape[0]
        # Sample-major, as z flattens: block j is sample j of every x. No static batch size is
        # needed, so the method also runs inside a traced training step.
        x_rep = ops.tile(x, (s,) + (1,) * (len(x.shape) - 1))
        return ops.reshape(self.log_likelihood(x_rep, self.decoder(ops.reshape(z, (-1, self.latent_dim)))), (s, -1))


    @shared_doc("keras")
    def elbo(self, x: Any, beta: float = 1.0, eps: Any = None) -> ELBOTerms:
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        x = as_tensor(x)
        return self.elbo_terms(x, check_beta(beta, schedule_ok=False), self._check_eps(eps, x.shape[0]))

    def loss_terms(self, x: Any, beta: Any, training: bool = False) -> dict[str, Any]:
        """Batch means for training: the loss to minimise (``-ELBO_beta``) and what to log.

        Unvalidated on purpose: ``fit`` checks the whole data set once, not every batch.
        """
        terms = self.elbo_terms(x, beta)
        return {
            "loss": -ops.mean(terms.elbo),
            "log_likelihood": ops.mean(terms.log_likelihood),
            "kl": ops.mean(terms.kl),
        }

    def call(self, x: Any) -> Any:
        """Decoder output at the posterior mean (a deterministic reconstruction)."""
        mu, _ = self.encoder(x)
        return self.decoder(mu)

    # -- NumPy conveniences for notebooks -------------------------------------------
    def reconstruct(self, x: Any) -> np.ndarray:
        """Pixel means E[x | z = mu(x)] as a NumPy array (B, 28, 28)."""
        validate_images("x", x, unit_range=self.likelihood == "bernoulli")
        return to_numpy(self.pixel_means(self(as_tensor(x))))

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """Pixel means of n images decoded from prior draws z ~ N(0, I), as NumPy (n, 28, 28)."""
        z = self._prior_draw(check_positive_int("n", n), seed)
        return to_numpy(self.pixel_means(self.decoder(z)))

    def decode_means(self, z: Any) -> np.ndarray:
        """Pixel means for given latents, as NumPy (for latent grids and interpolations)."""
        return to_numpy(self.pixel_means(self.decode(z)))
