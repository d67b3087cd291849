"""vaelib: the companion package of the VAE course.

Two reference implementations with one vocabulary::

    from vaelib import torch as vl   # PyTorch
    from vaelib import keras as vl   # Keras 3 (TensorFlow backend)

Framework-free parts: :mod:`vaelib.config`, :mod:`vaelib.data`, :mod:`vaelib.plotting`,
:mod:`vaelib.schedules`, :mod:`vaelib.metrics`, :mod:`vaelib.reference` (the course's trained
reference models) and :mod:`vaelib.exercises`. Importing
``vaelib`` itself imports neither framework.
"""

from vaelib.config import budget, is_quick, is_smoke, mode

__version__ = "0.1.0"
__all__ = ["budget", "is_quick", "is_smoke", "mode", "__version__"]
