"""Training with Keras idioms: a custom ``train_step`` and ``Model.fit`` with callbacks."""

from __future__ import annotations

import contextlib
import functools
import operator
import re
from typing import Any, Iterator, Sequence, Union

import numpy as np

from vaelib._fit import prepare_image_fit
from vaelib._types import History, nan_loss_error
from vaelib.keras._backend import keras, tf
from vaelib.keras.utils import seed_fit_run, validate_images
from vaelib.schedules import Schedule, as_learning_rate_schedule, as_schedule, constant, learning_rate_at

ops = keras.ops
_NON_FINITE_MARK = "vaelib: the loss is not finite"

__all__ = ["TrainableModel", "fit", "History"]


class TrainableModel(keras.Model):
    """A Keras model trained by its own ``loss_terms(x, beta, training)``.

    Subclasses set ``metric_names`` (the keys ``loss_terms`` returns; ``"loss"`` is
    minimised) and implement ``loss_terms``. ``beta``, the KL weight, is a non-trainable
    variable that :func:`fit`'s schedule callback updates between steps.
    """

    metric_names: Sequence[str] = ("loss",)
    #: Python attributes that ``train_step`` reads when it is traced: a change retraces it.
    traced_attributes: Sequence[str] = ("binarize",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.beta = keras.Variable(1.0, trainable=False, dtype="float32", name="beta")
        self.binarize = False
        self._binarize_noise = keras.random.SeedGenerator()
        self._term_means = _TermMeans(len(self.metric_names))
        self._jit_gradients = None  # set by compile_model: the XLA-compiled _terms_and_gradients, or None
        # The last training step's batch means, which _StepRecorder copies into History.per_step
        # (the logs Keras hands callbacks are running means over the epoch, not per-step values).
        self.step_terms = keras.Variable(ops.zeros(len(self.metric_names)), trainable=False,
                                         dtype="float32", name="step_terms")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listing the tracker here is what makes fit() reset it at every epoch.
        return [self._term_means]

    def loss_terms(self, x: Any, beta: Any, training: bool = False) -> dict[str, Any]:
        """Batch means: ``"loss"`` to minimise, and the other terms to log."""
        raise NotImplementedError

    def _record(self, terms: dict[str, Any], x: Any, training: bool = False) -> dict[str, Any]:
        weight = ops.cast(ops.shape(x)[0], "float32")  # batch-size weighted, as in vaelib.torch
        values = ops.stack([terms[name] for name in self.metric_names])
        if training:
            self.step_terms.assign(values)
        self._term_means.update_state(values, weight)
        means = self._term_means.result()
        return {name: means[i] for i, name in enumerate(self.metric_names)}

    def split_batch(self, data: Any) -> tuple[Any, Any]:
        """``(images, labels or None)`` of what ``Model.fit`` hands a step.

        The one hook of the training step: a model with labels (the conditional VAE) overrides
        it, and so every model shares one step, with its non-finite-loss guard and its logging.
        """
        return (data[0] if isinstance(data, (tuple, list)) else data), None

    def _loss_inputs(self, x: Any, labels: Any) -> Any:
        return x if labels is None else (x, labels)

    def _terms_and_gradients(self, x: Any, labels: Any) -> tuple[dict[str, Any], list[Any]]:
        """The training loss terms of a batch and the loss's gradients: what ``fit(compile=True)`` compiles."""
        with tf.GradientTape() as tape:
            terms = self.loss_terms(self._loss_inputs(x, labels), self.beta, training=True)
        return terms, tape.gradient(terms["loss"], self.trainable_weights)

    def train_step(self, data: Any) -> dict[str, Any]:
        x, labels = self.split_batch(data)
        if self.binarize:  # dynamic binarization: a fresh Bernoulli draw of every batch
            x = ops.cast(keras.random.uniform(ops.shape(x), seed=self._binarize_noise) < x, x.dtype)
        step = self.optimizer.iterations + 1  # read before the update below changes it
        # The non-finite check runs inside the graph (a per-batch Python callback would stall
        # every step), and the update depends on it: a non-finite step never reaches the weights.
        # XLA drops Assert ops, so the compiled part (fit(compile=True)) stops at the gradients,
        # and the check and the update stay outside it.
        terms, grads = (self._jit_gradients or self._terms_and_gradients)(x, labels)
        finite = tf.debugging.Assert(tf.math.is_finite(terms["loss"]), [_NON_FINITE_MARK, step, terms["loss"]])
        with tf.control_dependencies([finite]):
            grads = [None if g is None else tf.identity(g) for g in grads]  # None: a weight the loss does not use
        self.optimizer.apply(grads, self.trainable_weights)
        return self._record(terms, x, training=True)

    def test_step(self, data: Any) -> dict[str, Any]:
        x, labels = self.split_batch(data)
        return self._record(self.loss_terms(self._loss_inputs(x, labels), self.beta, training=False), x)


class _TermMeans(keras.metrics.Metric):
    """Running weighted means of several scalars at once.

    One metric for all the terms a model logs: two variable updates per step, where one
    ``Mean`` per term would cost a handful of small ops each (about 3 % of a small MLP's step).
    """

    def __init__(self, size: int, name: str = "term_means") -> None:
        super().__init__(name=name)
        self.totals = self.add_variable(shape=(size,), initializer="zeros", name="totals")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values: Any, weight: Any) -> None:
        self.totals.assign_add(values * weight)
        self.count.assign_add(weight)

    def result(self) -> Any:
        return ops.divide_no_nan(self.totals, self.count)  # 0 before any update, like Mean


class _ScheduleVariable(keras.callbacks.Callback):
    """Assigns a schedule's value to one of the model's variables before every optimizer step.

    ``path`` names the variable from the model: ``"beta"`` (the KL weight) or
    ``"optimizer.learning_rate"`` (Adam's step size).
    """

    def __init__(self, path: str, schedule: Schedule) -> None:
        super().__init__()
        self.variable_of = operator.attrgetter(path)
        self.schedule = schedule

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.variable_of(self.model).assign(self.schedule(int(self.model.optimizer.iterations)))


class _StepRecorder(keras.callbacks.Callback):
    """Copies each training step's batch means (``model.step_terms``) into ``History.per_step``."""

    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        values = self.model.step_terms.numpy()
        self.history.append_step({name: values[i] for i, name in enumerate(self.model.metric_names)})


class _EpochCounter(keras.callbacks.Callback):
    """Remembers the current epoch, for the NaN error message (an epoch hook costs nothing)."""

    epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1


def compile_model(model: TrainableModel, learning_rate: float, *, compile: bool = False,
                  precision: str = "float32") -> None:
    """Give ``model`` a fresh Adam (epsilon 1e-8, as in vaelib.torch) for the next ``fit``.

    The first call compiles. Later calls reset the same optimizer to its initial state
    instead (moments and step count zeroed, the new learning rate set): that is the same
    optimizer as a new one, and it keeps Keras's traced training step, whose retracing on
    every ``compile`` costs about a second per ``fit`` call. A change in any of the
    model's ``traced_attributes`` (e.g. ``binarize``), in ``compile`` or in ``precision``
    compiles again, so the step is retraced with the new setting. With ``compile`` the loss
    and its gradients are one XLA-compiled function (``jit_compile``).
    """
    traced = (*(getattr(model, name) for name in model.traced_attributes), bool(compile), precision)
    optimizer = getattr(model, "_vaelib_optimizer", None)
    if optimizer is not None and model.optimizer is optimizer and model._vaelib_traced == traced:
        for variable in optimizer.variables:
            variable.assign(ops.zeros_like(variable))
        optimizer.learning_rate = float(learning_rate)
        return
    optimizer = keras.optimizers.Adam(learning_rate=float(learning_rate), epsilon=1e-8)
    model._jit_gradients = tf.function(model._terms_and_gradients, jit_compile=True) if compile else None
    model.compile(optimizer=optimizer, jit_compile=False)
    model._vaelib_optimizer, model._vaelib_traced = optimizer, traced


@contextlib.contextmanager
def training_precision(model: TrainableModel, precision: str) -> Iterator[None]:
    """Within the block, every layer of ``model`` computes in ``precision``'s policy; restored after.

    ``"bfloat16"`` is Keras's ``mixed_bfloat16`` policy: float32 variables, bfloat16
    products. The loss math (``kernels``) casts its inputs back to float32, so the loss and
    the logged terms keep float32's precision, and the model evaluates in float32 after ``fit``.
    """
    if precision == "float32":
        yield
        return
    layers = list(model._flatten_layers(include_self=False))
    saved = [layer.dtype_policy for layer in layers]
    for layer in layers:
        layer.dtype_policy = "mixed_bfloat16"
    try:
        yield
    finally:
        for layer, policy in zip(layers, saved):
            layer.dtype_policy = policy


def shuffled_batches(train: Any, batch_size: int) -> tf.data.Dataset:
    """Batches of in-memory arrays (one, or a tuple of them) in a new order every epoch.

    The shuffle's seed is drawn from NumPy's global generator, which ``seed_everything``
    seeds, and ``tf.data`` reshuffles at every pass: the same seed repeats the run, and every
    epoch has an order of its own, as in the PyTorch loop. (Keras's own shuffle of arrays,
    ``tf.random.shuffle`` inside its pipeline, repeats one permutation in every epoch once a
    global seed is set.)
    """
    arrays = tuple(np.asarray(a) for a in (train if isinstance(train, tuple) else (train,)))
    tensors = tuple(tf.constant(a.astype(np.float32) if a.dtype.kind == "f" else a) for a in arrays)
    n = int(arrays[0].shape[0])
    seed = int(np.random.randint(2**31))
    indices = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if len(tensors) == 1:
        return indices.map(lambda idx: tf.gather(tensors[0], idx)).prefetch(1)
    return indices.map(lambda idx: tuple(tf.gather(t, idx) for t in tensors)).prefetch(1)


def run_fit(
    model: TrainableModel,
    train: Any,
    validation: Any,
    *,
    epochs: int,
    batch_size: int | None,
    learning_rate: Union[float, Schedule],
    beta: Union[float, Schedule],
    verbose: bool,
    compile: bool = False,
    precision: str = "float32",
) -> History:
    """``Model.fit`` with the beta and learning-rate schedules, NaN and per-step callbacks; the path every ``fit*`` shares."""
    schedule = as_schedule(beta)
    lr_schedule = as_learning_rate_schedule(learning_rate)
    compile_model(model, learning_rate_at(lr_schedule, 0), compile=compile, precision=precision)
    epochs_seen = _EpochCounter()
    history = History()
    callbacks: list[keras.callbacks.Callback] = [epochs_seen, _StepRecorder(history)]
    if not isinstance(lr_schedule, constant):
        callbacks.append(_ScheduleVariable("optimizer.learning_rate", functools.partial(learning_rate_at, lr_schedule)))
    if isinstance(schedule, constant):
        model.beta.assign(schedule.value)
    else:
        callbacks.append(_ScheduleVariable("beta", schedule))
    if not isinstance(train, tf.data.Dataset):
        train = shuffled_batches(train, batch_size)
    try:
        with training_precision(model, precision):
            keras_history = model.fit(
                train, validation_data=validation, epochs=epochs, shuffle=False,  # the pipeline brings its order
                validation_batch_size=None if isinstance(validation, tf.data.Dataset) else batch_size,
                callbacks=callbacks, verbose=1 if verbose else 0,
            )
    except tf.errors.InvalidArgumentError as err:
        found = re.search(re.escape(_NON_FINITE_MARK) + r"\] \[(\d+)\] \[(\S+?)\]", str(err))
        if found is None:
            raise
        raise nan_loss_error(int(found.group(1)), epochs_seen.epoch, float(found.group(2))) from None
    for name, values in keras_history.history.items():
        history[name] = [float(v) for v in values]
    history.steps = int(model.optimizer.iterations)
    return history


def fit(
    model: TrainableModel,
    x_train: Any,
    x_val: Any = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: Union[float, Schedule] = 1e-3,
    beta: Union[float, Schedule] = 1.0,
    binarize: bool = False,
    seed: int | None = None,
    verbose: bool = True,
    compile: bool = False,
    precision: str = "float32",
) -> History:
    """Train an image model (a VAE or an autoencoder) with ``Model.fit`` and Adam.

    Parameters
    ----------
    model : TrainableModel
        A vaelib Keras model; its custom ``train_step`` minimises ``loss_terms(...)["loss"]``.
    x_train : array_like, shape (N, 28, 28)
        Training images in [0, 1].
    x_val : array_like, optional
        Validation images, evaluated after every epoch (``val_`` entries of the History).
    epochs, batch_size
        The budget.
    learning_rate : float or schedule
        Adam's step size, or a schedule (step -> step size) such as
        :class:`vaelib.schedules.warmup_cosine`.
    beta : float or schedule
        Weight of the KL term, or a schedule (step -> weight) from :mod:`vaelib.schedules`.
    binarize : bool
        Dynamic binarization: each batch is a fresh Bernoulli draw of its pixel intensities.
    seed : int, optional
        Seeds everything first (:func:`seed_everything`) for a reproducible run.
    verbose : bool
        Show Keras's progress bar.
    compile : bool
        Compile the training step's loss and gradients with XLA (``jit_compile``); the first
        steps pay the compilation. XLA draws its own random numbers from the same seeds: a
        seeded compiled run repeats itself, with other noise than the eager run.
    precision : {"float32", "bfloat16"}
        ``"bfloat16"``: Keras's ``mixed_bfloat16`` policy during training, the networks'
        products in bfloat16 on float32 weights and optimizer, the loss in float32. It pays
        only where the processor has bfloat16 units and the batches are large
        (``benchmarks/compiled.py`` measures it).

    Returns
    -------
    History
        Per-epoch means of every term of ``loss_terms``, and ``val_`` ones with ``x_val``;
        ``history.per_step`` holds the training terms after every optimizer step and
        ``history.steps`` their number.
    """
    prepare_image_fit(model, x_train, x_val, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                      beta=beta, verbose=verbose, binarize=binarize, seed=seed, compile=compile,
                      precision=precision, validate_images=validate_images,
                      seed_everything=functools.partial(seed_fit_run, model))
    model.binarize = binarize
    return run_fit(
        model, x_train, (x_val,) if x_val is not None else None,
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, beta=beta, verbose=verbose,
        compile=compile, precision=precision,
    )
