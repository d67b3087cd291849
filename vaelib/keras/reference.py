"""The course's reference models, loaded by name with their verified weights (Keras side).

The loader is written once, framework-free, in :mod:`vaelib.reference`; this module binds it to
this backend.
"""

from vaelib.reference import loader

__all__ = ["load_reference"]

load_reference = loader("vaelib.keras.reference")
