"""vaelib.torch and vaelib.keras offer the same public API: names, kinds, signatures, defaults.

Every public name of either package is enumerated (not a hand-kept list), so a function
added to one backend only, a renamed argument or a changed default fails here. The few
intended differences are listed below, each with the framework reason that forces it.
"""

from __future__ import annotations

import inspect

import pytest

from vaelib import keras as vk
from vaelib import torch as vt

# Names only one backend has, and why.
ONLY_IN = {
    "torch": {"default_device": "PyTorch places tensors on a device explicitly; TensorFlow chooses one itself"},
    "keras": {"TrainableModel": "Keras trains through Model.fit, so the one train_step lives in a base class; "
                                "PyTorch's loop is the fit function itself"},
}
# Methods that are each framework's own protocol (what the framework calls), not vaelib's API.
FRAMEWORK_METHODS = {
    "torch": {"forward", "device"},
    "keras": {"call", "get_config", "train_step", "test_step", "metrics", "metric_names", "traced_attributes",
              "split_batch"},
}
# Module-level values that name the backend itself.
BACKEND_VALUES = {"BACKEND"}


def _public(pkg) -> dict[str, object]:
    return {name: value for name, value in vars(pkg).items() if not name.startswith("_") and not inspect.ismodule(value)}


TORCH, KERAS = _public(vt), _public(vk)
SHARED = sorted(set(TORCH) & set(KERAS))


def _kind(value) -> str:
    if inspect.isclass(value):
        return "class"
    if callable(value):
        return "function"
    return type(value).__name__


def _parameters(fn, backend: str, method: str) -> list[tuple[str, str, str]]:
    """(name, kind, default) of each parameter, less the framework-forced extras of Keras."""
    params = list(inspect.signature(fn).parameters.values())
    if backend == "keras" and method == "__init__" and params and params[-1].kind is inspect.Parameter.VAR_KEYWORD:
        params = params[:-1]  # keras.Layer's name=, dtype=, trainable= (serialisation via get_config)
    if backend == "keras" and method == "loss_terms" and params and params[-1].name == "training":
        params = params[:-1]  # Keras passes the training flag to calls; PyTorch keeps it in module.train()
    return [(p.name, p.kind.name, "-" if p.default is p.empty else repr(p.default)) for p in params]


def _methods(cls, backend: str) -> dict[str, object]:
    """Public methods and properties vaelib defines on a class (and on its vaelib bases), and __init__."""
    found: dict[str, object] = {}
    for name in dir(cls):
        if (name.startswith("_") and name != "__init__") or name in FRAMEWORK_METHODS[backend]:
            continue
        owner = next(base for base in cls.__mro__ if name in vars(base))
        if owner.__module__.startswith("vaelib."):
            found[name] = vars(owner)[name]
    return found


def test_both_backends_export_the_same_names():
    for backend, mine, other in (("torch", TORCH, KERAS), ("keras", KERAS, TORCH)):
        assert set(mine) - set(other) == set(ONLY_IN[backend]), f"names only in vaelib.{backend}"
    for backend, names in ONLY_IN.items():
        assert all(reason for reason in names.values()), f"every intended difference of {backend} has a reason"


def test_the_conformance_check_sees_the_whole_api():
    # The enumeration is not vacuous: the central names and the new public ELBO pieces are in it.
    assert {"VAE", "fit", "fit_text", "fit_conditional", "evaluate", "reparameterize"} <= set(SHARED)
    assert len(SHARED) > 40
    assert {"elbo", "elbo_terms", "loss_terms", "sample"} <= set(_methods(vt.VAE, "torch"))


@pytest.mark.parametrize("name", SHARED)
def test_same_kind_signature_and_defaults(name):
    a, b = TORCH[name], KERAS[name]
    assert _kind(a) == _kind(b), f"{name}: a {_kind(a)} in torch, a {_kind(b)} in keras"
    if name in BACKEND_VALUES:
        assert (a, b) == ("torch", "keras")
    elif a is b and hasattr(a, "__module__"):
        assert a.__module__.startswith("vaelib.") and a.__module__.split(".")[1] not in ("torch", "keras"), \
            f"{name}: one object in both backends must come from framework-free code"
    elif inspect.isclass(a):
        ma, mb = _methods(a, "torch"), _methods(b, "keras")
        assert sorted(ma) == sorted(mb), f"{name}: methods differ"
        for method in ma:
            fa, fb = ma[method], mb[method]
            assert type(fa) is type(fb), f"{name}.{method}: {type(fa).__name__} in torch, {type(fb).__name__} in keras"
            if callable(fa):
                assert _parameters(fa, "torch", method) == _parameters(fb, "keras", method), f"{name}.{method}"
    elif callable(a):
        assert _parameters(a, "torch", name) == _parameters(b, "keras", name), name
    else:
        assert a == b, f"{name}: {a!r} in torch, {b!r} in keras"


def test_the_check_catches_a_changed_default():
    # What a drift looks like to this test: one default changed in one twin.
    def fit(model, x, *, epochs=10):
        return None

    def drifted(model, x, *, epochs=5):
        return None

    assert _parameters(fit, "torch", "fit") != _parameters(drifted, "keras", "fit")
