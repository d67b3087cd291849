"""Carry weights between backends through a framework-neutral NumPy layout (PyTorch side).

The canonical layout is Keras's: dense kernels (in, out), convolution kernels
(kh, kw, in, out), transposed-convolution kernels (kh, kw, out, in), embeddings (V, E), and
GRU weights with the gates in Keras's order (z, r, h). Keys are the layers' attribute paths
(``"encoder.hidden.kernel"``), which both backends name alike.
"""

from __future__ import annotations

from typing import Callable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from vaelib._checks import check_vaelib_model, check_weights

__all__ = ["export_weights", "import_weights"]

Array = np.ndarray


def _gru_to_canonical(w: Array, hidden: int) -> Array:
    """Reorder torch's (r, z, n) gate blocks along the first axis to Keras's (z, r, h)."""
    r, z, n = w[:hidden], w[hidden : 2 * hidden], w[2 * hidden :]
    return np.concatenate([z, r, n], axis=0)


def _gru_from_canonical(w: Array, hidden: int) -> Array:
    z, r, n = w[:hidden], w[hidden : 2 * hidden], w[2 * hidden :]
    return np.concatenate([r, z, n], axis=0)


def _layer_arrays(module: nn.Module) -> Iterator[tuple[str, Array]]:
    """(canonical name, canonical array) pairs of one leaf module's own parameters."""
    if isinstance(module, nn.Linear):
        yield "kernel", module.weight.detach().cpu().numpy().T
        if module.bias is not None:
            yield "bias", module.bias.detach().cpu().numpy()
    elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        # torch: Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw); both -> (kh, kw, ., .)
        yield "kernel", module.weight.detach().cpu().numpy().transpose(2, 3, 1, 0)
        if module.bias is not None:
            yield "bias", module.bias.detach().cpu().numpy()
    elif isinstance(module, nn.Embedding):
        yield "embeddings", module.weight.detach().cpu().numpy()
    elif isinstance(module, nn.GRU):
        if module.num_layers != 1 or module.bidirectional or not module.bias:
            raise ValueError("model: only single-layer, unidirectional GRUs with biases can be carried across")
        h = module.hidden_size
        yield "kernel", _gru_to_canonical(module.weight_ih_l0.detach().cpu().numpy(), h).T
        yield "recurrent_kernel", _gru_to_canonical(module.weight_hh_l0.detach().cpu().numpy(), h).T
        bias = [_gru_to_canonical(b.detach().cpu().numpy(), h) for b in (module.bias_ih_l0, module.bias_hh_l0)]
        yield "bias", np.stack(bias)
    else:
        for name, p in module.named_parameters(recurse=False):
            yield name, p.detach().cpu().numpy()


def _set_layer(module: nn.Module, arrays: Mapping[str, Array]) -> None:
    """Write canonical arrays back into one leaf module's parameters."""

    def put(param: torch.Tensor, value: Array) -> None:
        with torch.no_grad():
            param.copy_(torch.as_tensor(np.array(value, order="C"), dtype=param.dtype))  # keeps 0-d shapes

    if isinstance(module, nn.Linear):
        put(module.weight, arrays["kernel"].T)
        if module.bias is not None:
            put(module.bias, arrays["bias"])
    elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        put(module.weight, arrays["kernel"].transpose(3, 2, 0, 1))
        if module.bias is not None:
            put(module.bias, arrays["bias"])
    elif isinstance(module, nn.Embedding):
        put(module.weight, arrays["embeddings"])
    elif isinstance(module, nn.GRU):
        h = module.hidden_size
        put(module.weight_ih_l0, _gru_from_canonical(arrays["kernel"].T, h))
        put(module.weight_hh_l0, _gru_from_canonical(arrays["recurrent_kernel"].T, h))
        put(module.bias_ih_l0, _gru_from_canonical(arrays["bias"][0], h))
        put(module.bias_hh_l0, _gru_from_canonical(arrays["bias"][1], h))
    else:
        for name, p in module.named_parameters(recurse=False):
            put(p, arrays[name])


_LEAVES = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding, nn.GRU)


def _walk(model: nn.Module, visit: Callable[[str, nn.Module], None]) -> None:
    """Visit the modules that own parameters (layers, or e.g. a model's own ``log_sigma``)."""
    for path, module in model.named_modules():
        if isinstance(module, _LEAVES) or any(True for _ in module.parameters(recurse=False)):
            visit(path, module)


def export_weights(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's trainable weights as ``{name: array}`` in the canonical layout.

    Parameters
    ----------
    model : torch.nn.Module
        A vaelib model.

    Returns
    -------
    dict of str to ndarray
        Keys like ``"encoder.hidden.kernel"``; ``vaelib.keras.import_weights`` reads them.
    """
    check_vaelib_model(model)
    out: dict[str, np.ndarray] = {}

    def visit(path: str, module: nn.Module) -> None:
        for name, array in _layer_arrays(module):
            out[f"{path}.{name}" if path else name] = np.array(array, dtype=np.float32)

    _walk(model, visit)
    return out


def import_weights(model: nn.Module, weights: Mapping[str, np.ndarray]) -> nn.Module:
    """Load canonical weights (e.g. exported from the Keras twin) into ``model``.

    Raises a one-line ``ValueError`` naming the first missing, unexpected or mis-shaped
    weight (a latent-size mismatch shows up as a shape mismatch). Nothing is written unless
    every weight fits.

    Returns
    -------
    torch.nn.Module
        The same model, for chaining.
    """
    expected = export_weights(model)
    check_weights(weights, {key: ref.shape for key, ref in expected.items()})

    def visit(path: str, module: nn.Module) -> None:
        prefix = f"{path}." if path else ""
        names = [name for name, _ in _layer_arrays(module)]
        _set_layer(module, {n: np.asarray(weights[prefix + n], dtype=np.float32) for n in names})

    _walk(model, visit)
    return model
