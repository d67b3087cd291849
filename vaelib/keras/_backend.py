"""Select Keras's TensorFlow backend and quiet TensorFlow's start-up logs.

Imported first by :mod:`vaelib.keras`: both settings only take effect before the first
``import keras`` / ``import tensorflow`` of the process.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO/WARNING lines at import
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # no oneDNN notice; bit-stable CPU sums

if "keras" in sys.modules and os.environ["KERAS_BACKEND"] != "tensorflow":
    raise ImportError(
        f"vaelib.keras needs KERAS_BACKEND=tensorflow, but keras was already imported with "
        f"KERAS_BACKEND={os.environ['KERAS_BACKEND']!r}: set it before importing keras"
    )



def _import_quietly() -> None:
    """Import TensorFlow with file descriptor 2 closed off.

    TensorFlow's GPU build logs "Could not find cuda drivers" from C++ before its logging
    is set up, so TF_CPP_MIN_LOG_LEVEL cannot stop it. An import error still surfaces: it
    is raised as a Python exception, not printed.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if os.environ["TF_CPP_MIN_LOG_LEVEL"] >= "2" and "tensorflow" not in sys.modules:
    _import_quietly()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"vaelib.keras needs Keras's TensorFlow backend, got {keras.backend.backend()!r}")
tf.get_logger().setLevel("ERROR")

__all__ = ["keras", "tf"]
