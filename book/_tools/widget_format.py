"""The file format of the book's widget data (book/_static/vae-widgets/data/*.js).

Each data file is one JavaScript statement, ``window.vaeWidgets.receive("<name>", <JSON>);``,
so that the page loads it with a ``<script>`` element: that works from a web server and
from ``file://`` alike (``fetch`` does not work from ``file://``). Arrays travel as
``{"dtype", "shape", "b64"}`` objects holding their little-endian bytes in base64; the page's
``core.js`` reads the same layout. The exporter writes these files, the tests read them back.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

__all__ = ["DTYPES", "encode_array", "decode_array", "wrap", "unwrap"]

DTYPES = ("float16", "float32", "uint8", "uint16")
"""The array types that core.js can read."""
_PREFIX = 'window.vaeWidgets.receive("'
_MIDDLE = '", '
_SUFFIX = ");\n"


def encode_array(array: np.ndarray, dtype: str) -> dict[str, Any]:
    """An array as a JSON-ready object, cast to ``dtype`` (one of :data:`DTYPES`).

    Parameters
    ----------
    array : ndarray
        Any shape; it is stored row-major.
    dtype : str
        Storage type. The cast must be exact: values that ``dtype`` cannot hold raise,
        so the page never shows numbers other than the model's.

    Returns
    -------
    dict
        ``{"dtype": dtype, "shape": [...], "b64": base64 of the little-endian bytes}``.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {DTYPES}, got {dtype!r}")
    source = np.asarray(array)
    cast = np.ascontiguousarray(source, dtype=np.dtype(dtype).newbyteorder("<"))
    if not np.array_equal(cast.astype(source.dtype), source):
        raise ValueError(f"array: {source.dtype} values do not all fit {dtype} exactly")
    return {"dtype": dtype, "shape": list(cast.shape), "b64": base64.b64encode(cast.tobytes()).decode("ascii")}


def decode_array(obj: dict[str, Any]) -> np.ndarray:
    """The array an :func:`encode_array` object holds (in its stored dtype)."""
    dtype = np.dtype(obj["dtype"]).newbyteorder("<")
    return np.frombuffer(base64.b64decode(obj["b64"]), dtype=dtype).reshape(obj["shape"]).astype(obj["dtype"])


def wrap(name: str, payload: dict[str, Any]) -> str:
    """The text of data file ``name``: a call that hands ``payload`` to the page's widgets.

    Keys are sorted and the JSON is compact, so the same payload always gives the same bytes.
    """
    if not name.isidentifier():
        raise ValueError(f"name: expected an identifier-like data name, got {name!r}")
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return f"{_PREFIX}{name}{_MIDDLE}{body}{_SUFFIX}"


def unwrap(text: str) -> tuple[str, dict[str, Any]]:
    """The data name and payload of a data file's text (the inverse of :func:`wrap`)."""
    if not (text.startswith(_PREFIX) and text.endswith(_SUFFIX)):
        raise ValueError("text: not a widget data file (expected window.vaeWidgets.receive(...);)")
    name, _, body = text[len(_PREFIX) : -len(_SUFFIX)].partition(_MIDDLE)
    return name, json.loads(body)
