"""vaelib's Keras 3 backend (TensorFlow): the same names, arguments and numbers as :mod:`vaelib.torch`.

>>> from vaelib import keras as vl
>>> model = vl.VAE("mlp", latent_dim=20)
>>> history = vl.fit(model, x_train, epochs=10)
"""

from vaelib.keras import _backend  # noqa: F401  (selects the TensorFlow backend first)
from vaelib.keras.utils import *  # noqa: F401,F403
from vaelib.keras.losses import *  # noqa: F401,F403
from vaelib.keras.train import *  # noqa: F401,F403
from vaelib.keras.models import *  # noqa: F401,F403
from vaelib.keras.evaluate import *  # noqa: F401,F403
from vaelib.keras.weights import *  # noqa: F401,F403
from vaelib.keras.checkpoint import *  # noqa: F401,F403
from vaelib.keras.autoencoder import *  # noqa: F401,F403
from vaelib.keras.text import *  # noqa: F401,F403
from vaelib.keras.extensions import *  # noqa: F401,F403
from vaelib.keras.reference import *  # noqa: F401,F403
from vaelib.keras.gaps import *  # noqa: F401,F403

BACKEND = "keras"
