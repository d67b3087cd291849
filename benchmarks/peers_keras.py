"""The TensorFlow peers of ``peers.py``, re-implemented, and their adapter to vaelib's estimator.

Both are written from reading their sources, not copied.

The Keras examples' VAE (``examples/generative/vae.py`` of github.com/keras-team/keras-io):
an encoder of two 3x3 stride-2 "same" convolutions (32 and 64 filters, ReLU), a 16-unit
ReLU dense layer and two dense heads ``z_mean``/``z_log_var`` (latent 2), with a
``Sampling`` layer that owns its seed generator (seed 1337); a decoder of a dense layer to
7x7x64 (ReLU), two 3x3 stride-2 transposed convolutions (64 and 32 filters, ReLU) and a
3x3 transposed convolution to one sigmoid channel. A ``keras.Model`` subclass with three
``Mean`` trackers and a ``train_step``: binary cross-entropy on the probabilities summed
over the pixels, plus the analytic KL summed over the latents, each averaged over the batch;
``compile`` with Keras's default Adam (1e-3) and ``fit`` with batches of 128.

The TensorFlow tutorial's CVAE (``site/en/tutorials/generative/cvae.ipynb`` of
github.com/tensorflow/docs): an encoder of two 3x3 stride-2 "valid" convolutions (32 and
64 filters, ReLU) and one dense layer to mean and log-variance together (latent 2); a
decoder of a dense layer to 7x7x32 (ReLU), two 3x3 stride-2 "same" transposed convolutions
(64 and 32 filters, ReLU) and a 3x3 transposed convolution to one logit per pixel. The
loss is the single-sample Monte Carlo ELBO, ``log p(x|z) + log p(z) - log q(z|x)`` with
its own ``log_normal_pdf``, averaged over the batch; Adam with a step size of 1e-4; a
``tf.function`` train step over a shuffled ``tf.data`` pipeline of batches of 32.

What changes, so that every contender sees the same data and budget: the images are
Fashion-MNIST, drawn afresh as binary pixels at every step (the Keras example's
``train_step`` draws them first; the tutorial's pipeline maps the draw over its batches),
and training stops after the first step that ends past the wall-clock budget. Neither
source sets a seed; here the initial weights are seeded, and the training streams are kept
fresh in every epoch as in the unseeded sources (see ``binarizer_tf`` and
``train_keras_example``). The Keras
decoder's last layer is split into the transposed convolution and its sigmoid (the same
weights and function), so the adapter can read the logits.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vaelib import keras as vl
from vaelib.keras._backend import keras, tf

ops = keras.ops
layers = keras.layers

KERAS_EXAMPLE = dict(latent_dim=2, batch_size=128, learning_rate=1e-3)
TF_TUTORIAL = dict(latent_dim=2, batch_size=32, learning_rate=1e-4)


def binarize(images: Any, seed: keras.random.SeedGenerator) -> Any:
    """A fresh draw of binary images: each pixel is 1 with probability equal to its intensity."""
    return ops.cast(keras.random.uniform(ops.shape(images), seed=seed) < images, "float32")


def binarizer_tf(seed: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """:func:`binarize` for a ``tf.data`` pipeline, drawing from a ``tf.random.Generator``.

    The generator's state outlives each pass over the data: a plain ``tf.random.uniform``
    in the pipeline would repeat its draws in every epoch once a global seed is set.
    """
    generator = tf.random.Generator.from_seed(seed)
    return lambda images: tf.cast(generator.uniform(tf.shape(images)) < images, tf.float32)


# -- the Keras examples' VAE ------------------------------------------------------------
class Sampling(layers.Layer):
    """z = z_mean + exp(z_log_var / 2) * epsilon, epsilon from the layer's own seed generator."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs: Any) -> Any:
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def keras_example_encoder(latent_dim: int = 2) -> keras.Model:
    """Images (B, 28, 28, 1) -> [z_mean, z_log_var, z]."""
    inputs = keras.Input(shape=(28, 28, 1))
    h = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(inputs)
    h = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model(inputs, [z_mean, z_log_var, Sampling()([z_mean, z_log_var])], name="encoder")


def keras_example_decoder(latent_dim: int = 2) -> keras.Model:
    """Latents (B, latent_dim) -> pixel probabilities (B, 28, 28, 1); its layer "logits" is before the sigmoid."""
    inputs = keras.Input(shape=(latent_dim,))
    h = layers.Reshape((7, 7, 64))(layers.Dense(7 * 7 * 64, activation="relu")(inputs))
    h = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(h)
    logits = layers.Conv2DTranspose(1, 3, padding="same", name="logits")(h)
    return keras.Model(inputs, layers.Activation("sigmoid")(logits), name="decoder")


class KerasExampleVAE(keras.Model):
    """The example's ``Model`` subclass: encoder, decoder, three loss trackers and a ``train_step``."""

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.binarize_seed = keras.random.SeedGenerator()  # seeded by keras.utils.set_random_seed

    @property
    def metrics(self) -> list:
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def losses_of(self, data: Any) -> dict[str, Any]:
        """The example's two batch-mean losses and their sum, with the encoder's outputs."""
        z_mean, z_log_var, z = self.encoder(data)
        reconstruction = self.decoder(z)
        reconstruction_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
        kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
        kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
        return dict(total=reconstruction_loss + kl_loss, reconstruction=reconstruction_loss, kl=kl_loss,
                    z_mean=z_mean, z_log_var=z_log_var, z=z)

    def train_step(self, data: Any) -> dict[str, Any]:
        data = binarize(data, self.binarize_seed)  # the one line the source has not: same data for all
        with tf.GradientTape() as tape:
            losses = self.losses_of(data)
        grads = tape.gradient(losses["total"], self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        self.total_loss_tracker.update_state(losses["total"])
        self.reconstruction_loss_tracker.update_state(losses["reconstruction"])
        self.kl_loss_tracker.update_state(losses["kl"])
        return {"loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result()}

    def call(self, x: Any) -> Any:
        return self.decoder(self.encoder(x)[2])


class _StopWhenOutOfTime(keras.callbacks.Callback):
    """Counts the steps and stops ``fit`` after the first one that ends past the budget."""

    def __init__(self, out_of_time: Callable[[], bool]) -> None:
        super().__init__()
        self.out_of_time = out_of_time
        self.steps = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps += 1
        if self.out_of_time():
            self.model.stop_training = True


def build_keras_example(seed: int) -> KerasExampleVAE:
    """The example's model, compiled as the example compiles it (Keras's default Adam)."""
    keras.utils.set_random_seed(seed)
    latent_dim = KERAS_EXAMPLE["latent_dim"]
    model = KerasExampleVAE(keras_example_encoder(latent_dim), keras_example_decoder(latent_dim))
    model.compile(optimizer=keras.optimizers.Adam())
    return model


def train_keras_example(model: KerasExampleVAE, images: np.ndarray, out_of_time: Callable[[], bool]) -> int:
    """``fit`` the example's way (batches of 128) until ``out_of_time()`` after a step; return the steps."""
    stop = _StopWhenOutOfTime(out_of_time)
    # The source sets no seed. With TensorFlow's global seed set (the initial weights are
    # seeded), fit would shuffle arrays into the same order in every epoch; cleared, each
    # epoch gets a fresh order, as the source's users get.
    tf.random.set_seed(None)
    model.fit(images[..., None], epochs=1_000_000, batch_size=KERAS_EXAMPLE["batch_size"], callbacks=[stop], verbose=0)
    return stop.steps


def keras_example_as_vaelib_vae(model: KerasExampleVAE) -> vl.VAE:
    """The trained Keras example as a vaelib model (its encoder's z is not used: vaelib draws its own)."""
    logits = keras.Model(model.decoder.inputs, model.decoder.get_layer("logits").output)
    return as_vaelib_vae(lambda x: tuple(model.encoder(ops.expand_dims(x, -1))[:2]),
                         lambda z: ops.squeeze(logits(z), -1), KERAS_EXAMPLE["latent_dim"])


# -- the TensorFlow tutorial's CVAE -----------------------------------------------------
class TutorialCVAE(keras.Model):
    """The tutorial's convolutional VAE: ``encode``, ``reparameterize``, ``decode``."""

    def __init__(self, latent_dim: int = 2) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = keras.Sequential([
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(filters=32, kernel_size=3, strides=(2, 2), activation="relu"),
            layers.Conv2D(filters=64, kernel_size=3, strides=(2, 2), activation="relu"),
            layers.Flatten(),
            layers.Dense(latent_dim + latent_dim),  # mean and log-variance side by side, no activation
        ])
        self.decoder = keras.Sequential([
            keras.Input(shape=(latent_dim,)),
            layers.Dense(units=7 * 7 * 32, activation="relu"),
            layers.Reshape(target_shape=(7, 7, 32)),
            layers.Conv2DTranspose(filters=64, kernel_size=3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(filters=32, kernel_size=3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(filters=1, kernel_size=3, strides=1, padding="same"),  # logits
        ])

    def encode(self, x: Any) -> tuple[Any, Any]:
        mean, logvar = tf.split(self.encoder(x), num_or_size_splits=2, axis=1)
        return mean, logvar

    def reparameterize(self, mean: Any, logvar: Any) -> Any:
        eps = tf.random.normal(shape=mean.shape)
        return eps * tf.exp(logvar * 0.5) + mean

    def decode(self, z: Any, apply_sigmoid: bool = False) -> Any:
        logits = self.decoder(z)
        return tf.sigmoid(logits) if apply_sigmoid else logits


def log_normal_pdf(sample: Any, mean: Any, logvar: Any, raxis: int = 1) -> Any:
    """The tutorial's diagonal-Gaussian log density, summed over ``raxis``."""
    log2pi = tf.math.log(2.0 * np.pi)
    return tf.reduce_sum(-0.5 * ((sample - mean) ** 2.0 * tf.exp(-logvar) + logvar + log2pi), axis=raxis)


def compute_loss(model: TutorialCVAE, x: Any) -> Any:
    """Minus the single-sample Monte Carlo ELBO, averaged over the batch."""
    mean, logvar = model.encode(x)
    z = model.reparameterize(mean, logvar)
    x_logit = model.decode(z)
    cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
    logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
    logpz = log_normal_pdf(z, 0.0, 0.0)
    logqz_x = log_normal_pdf(z, mean, logvar)
    return -tf.reduce_mean(logpx_z + logpz - logqz_x)


@tf.function
def tutorial_train_step(model: TutorialCVAE, x: Any, optimizer: keras.optimizers.Optimizer) -> None:
    """One optimizer step on one batch, traced once per input shape."""
    with tf.GradientTape() as tape:
        loss = compute_loss(model, x)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))


def tutorial_dataset(images: np.ndarray, seed: int) -> tf.data.Dataset:
    """The tutorial's pipeline (shuffle over the whole set, batches of 32), then a fresh binary draw per batch."""
    return (tf.data.Dataset.from_tensor_slices(images[..., None])
            .shuffle(len(images)).batch(TF_TUTORIAL["batch_size"]).map(binarizer_tf(seed)))


def build_tutorial(seed: int) -> TutorialCVAE:
    """The tutorial's model (latent 2), initialized after seeding."""
    keras.utils.set_random_seed(seed)
    return TutorialCVAE(TF_TUTORIAL["latent_dim"])


def train_tutorial(model: TutorialCVAE, images: np.ndarray, out_of_time: Callable[[], bool],
                   seed: int) -> tuple[int, int]:
    """The tutorial's epoch loop until ``out_of_time()`` after a step; return (steps, images seen)."""
    optimizer = keras.optimizers.Adam(TF_TUTORIAL["learning_rate"])
    optimizer.build(model.trainable_variables)  # its slots exist before the traced step runs
    dataset = tutorial_dataset(images, seed)
    steps = seen = 0
    while True:  # epochs, until the budget is spent
        for train_x in dataset:
            tutorial_train_step(model, train_x, optimizer)
            steps, seen = steps + 1, seen + int(train_x.shape[0])
            if out_of_time():
                return steps, seen


def tutorial_as_vaelib_vae(model: TutorialCVAE) -> vl.VAE:
    """The trained tutorial CVAE as a vaelib model."""
    return as_vaelib_vae(lambda x: model.encode(ops.expand_dims(x, -1)),
                         lambda z: ops.squeeze(model.decode(z), -1), TF_TUTORIAL["latent_dim"])


# -- one estimator for all: the peer's networks in vaelib's VAE --------------------------
class _Slot:
    """A network slot of a built vaelib VAE filled by a function (a plain callable: a built
    Keras model takes no new layers, and vaelib only calls its slots)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __call__(self, inputs: Any) -> Any:
        return self.function(inputs)


def as_vaelib_vae(encode: Callable, decode_logits: Callable, latent_dim: int) -> vl.VAE:
    """A ``vaelib.keras.VAE`` whose encoder and decoder are a peer's, for ``vl.evaluate``/``vl.iwae_bound``.

    ``encode`` maps images (B, 28, 28) to ``(mu, logvar)``; ``decode_logits`` maps latents
    (B, latent_dim) to Bernoulli logits (B, 28, 28). Everything else (the likelihood, the
    KL, the importance weights) is vaelib's own code.
    """
    vae = vl.VAE("mlp", latent_dim=latent_dim)  # its own networks are replaced just below
    vae.encoder = _Slot(encode)
    vae.decoder = _Slot(decode_logits)
    return vae
