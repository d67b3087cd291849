"""The fast paths of the IWAE bound give the numbers of the plain estimator, to float32 precision.

``iwae_bound`` encodes each batch once, decodes its samples about 500 at a time, and (PyTorch,
without autograd) runs the convolutional decoder's last layer as a matrix product. The plain
estimator below draws the same seeded noise chunk by chunk, encodes per chunk, decodes each
whole chunk at once through the layers as written (PyTorch: with autograd on, so through
``nn.ConvTranspose2d``), and sums the log-weights in float64 NumPy.
"""

import contextlib
import math

import numpy as np
import pytest
from support import to_np

from vaelib.metrics import log_mean_exp

X = (np.random.default_rng(5).random((7, 28, 28)) < 0.3).astype(np.float32)


def _log_normal(z, mu, logvar):
    return -0.5 * np.sum(math.log(2 * math.pi) + logvar + (z - mu) ** 2 * np.exp(-logvar), axis=-1)


def _noise_stream(vl, seed):
    """Draws of shape (c, B, D) in the order iwae_bound draws them from its seed."""
    if vl.BACKEND == "torch":
        import torch
        gen = torch.Generator().manual_seed(seed)
        return lambda shape: torch.randn(*shape, generator=gen).numpy()
    from vaelib.keras._backend import keras
    gen = keras.random.SeedGenerator(seed)
    return lambda shape: to_np(keras.random.normal(shape, seed=gen))


def _networks_as_written(vl, model):
    """encode(x) -> (mu, logvar) and decode(z) -> logits, as NumPy (PyTorch: with autograd on)."""
    if vl.BACKEND == "torch":
        import torch
        grad_on, tensor = torch.enable_grad, torch.as_tensor
    else:
        grad_on, tensor = contextlib.nullcontext, np.asarray

    def run(network, a):
        with grad_on():
            out = network(tensor(a))
        return tuple(to_np(t) for t in out) if isinstance(out, tuple) else to_np(out)
    return (lambda x: run(model.encoder, x)), (lambda z: run(model.decoder, z))


def plain_iwae(vl, model, x, k, chunk_size, batch_size, seed):
    draw = _noise_stream(vl, seed)
    encode, decode = _networks_as_written(vl, model)
    out = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        weights = []
        for s in range(0, k, chunk_size):
            c = min(chunk_size, k - s)
            eps = draw((c, len(xb), model.latent_dim))
            mu, logvar = encode(xb)
            z = mu + np.exp(0.5 * logvar) * eps
            logits = decode(np.float32(z).reshape(-1, model.latent_dim)).astype(np.float64)
            logits = logits.reshape(c, len(xb), -1)
            log_lik = np.sum(xb.reshape(1, len(xb), -1) * logits - np.logaddexp(0.0, logits), axis=-1)
            weights.append(log_lik + _log_normal(z, 0.0, 0.0) - _log_normal(z, mu, logvar))
        out.append(log_mean_exp(np.concatenate(weights), axis=0))
    return np.concatenate(out)


@pytest.mark.parametrize("chunk_size, batch_size", [(100, 100), (300, 4), (7, 1)])
def test_iwae_bound_of_the_conv_reference_is_the_plain_estimator(vl, chunk_size, batch_size):
    # Uneven chunks (300, 300, 300, 100) and batches (4, 3) split into uneven pieces of 125.
    model = vl.load_reference("vae_conv")
    fast = to_np(vl.iwae_bound(model, X, k=1000, chunk_size=chunk_size, batch_size=batch_size, seed=11))
    plain = plain_iwae(vl, model, X, 1000, chunk_size, batch_size, seed=11)
    assert np.all(plain < -100)  # real log-weights of a trained model, not a degenerate case
    np.testing.assert_allclose(fast, plain, rtol=1e-6)


def test_iwae_bound_with_another_seed_is_another_estimate(vl):
    # The comparison above can fail: the noise matters at the scale of its tolerance.
    model = vl.load_reference("vae_conv")
    fast = to_np(vl.iwae_bound(model, X, k=50, seed=11))
    plain = plain_iwae(vl, model, X, 50, 100, 100, seed=12)
    assert np.max(np.abs(fast - plain) / np.abs(plain)) > 1e-4


@pytest.mark.parametrize("c_in, c_out, rows, cols", [(32, 1, 14, 14), (64, 32, 7, 7), (3, 2, 5, 4), (1, 1, 1, 1)])
def test_upsampling_by_matmul_is_the_transposed_convolution(c_in, c_out, rows, cols):
    import torch
    from torch import nn
    from vaelib.torch.models import _upsample_by_matmul

    torch.manual_seed(c_in + c_out)
    layer = nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1)
    with torch.no_grad():
        layer.bias.normal_()
        h = torch.randn(3, rows, cols, c_in)
        expected = layer(h.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        got = _upsample_by_matmul(h, layer)
        assert got.shape == (3, 2 * rows, 2 * cols, c_out)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            in_bf16 = _upsample_by_matmul(h, layer)
        assert in_bf16.dtype == torch.float32  # the patches are summed in float32
        np.testing.assert_allclose(in_bf16.numpy(), expected.numpy(), rtol=0.05, atol=0.05)


def test_conv_decoder_gives_the_same_pixels_with_and_without_autograd():
    import torch
    import vaelib.torch as vt

    decoder = vt.load_reference("vae_conv").decoder
    z = torch.randn(9, decoder.hidden.in_features, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        fast = decoder(z)
    as_written = decoder(z)
    assert as_written.requires_grad and not fast.requires_grad
    np.testing.assert_allclose(fast.numpy(), as_written.detach().numpy(), rtol=1e-5, atol=1e-5)
