"""vaelib's PyTorch backend: the same names, arguments and numbers as :mod:`vaelib.keras`.

>>> from vaelib import torch as vl
>>> model = vl.VAE("mlp", latent_dim=20)
>>> history = vl.fit(model, x_train, epochs=10)
"""

from vaelib.torch.utils import *  # noqa: F401,F403
from vaelib.torch.losses import *  # noqa: F401,F403
from vaelib.torch.models import *  # noqa: F401,F403
from vaelib.torch.evaluate import *  # noqa: F401,F403
from vaelib.torch.train import *  # noqa: F401,F403
from vaelib.torch.weights import *  # noqa: F401,F403
from vaelib.torch.checkpoint import *  # noqa: F401,F403
from vaelib.torch.autoencoder import *  # noqa: F401,F403
from vaelib.torch.text import *  # noqa: F401,F403
from vaelib.torch.extensions import *  # noqa: F401,F403
from vaelib.torch.reference import *  # noqa: F401,F403
from vaelib.torch.gaps import *  # noqa: F401,F403

BACKEND = "torch"
