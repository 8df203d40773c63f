"""The suite ``scratchcnn gradcheck`` runs: every layer in several configurations, the loss, the whole
tutorial network, and the optimizers against Keras's formulas. Each row is a ``SuiteCheck`` that the
tests run one by one."""
from typing import Callable, NamedTuple

import numpy as np

from .. import losses
from ..layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPooling2D, ReLU, Softmax
from ..layers import Activation, AveragePooling2D, BatchNormalization, GlobalAveragePooling2D
from ..model import Sequential
from ..tutorial import build_model
from .checker import GradCheckResult, KinkError, _param_names, check_layer, check_loss, check_model, well_spaced
from .loss_checks import LOSS_CHECKS
from .optimizer_formulas import OPTIMIZER_CHECKS, check_adam
from .two_passes import check_layer_two_passes, check_network_two_passes


class SuiteCheck(NamedTuple):
    name: str
    run: Callable[[], list[GradCheckResult]]


def spelled(cls, args, kwargs) -> str:
    """The constructor call as text: Conv2D(4, 3, strides=2)."""
    return f"{cls.__name__}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"


def layer_check(cls, args, kwargs, shape, inputs="normal", training=False, seed=0) -> SuiteCheck:
    """A check of a fresh cls(*args, **kwargs) on a batch of ``shape``, with random non-zero biases."""
    name = f"{spelled(cls, args, kwargs)} on {shape}" + (" training" if training else "")

    def run():
        rng = np.random.default_rng(seed)
        layer = cls(*args, **kwargs)
        layer.build(shape[1:], np.float64, rng)
        for param_name, param in zip(_param_names(layer), layer.params):
            if param_name == "bias":
                param[...] = 0.1 * rng.standard_normal(param.shape)
        x = well_spaced(shape, rng) if inputs == "spaced" else None
        return check_layer(layer, shape[1:], batch=shape[0], seed=seed, x=x, training=training, label=name)

    return SuiteCheck(name, run)


def _loss_checks() -> list[SuiteCheck]:
    rng = np.random.default_rng(0)
    logits = 2.0 * rng.standard_normal((4, 10))
    labels = rng.integers(0, 10, size=4)
    probs = losses.log_softmax(logits)
    probs = np.exp(probs)          # p in (0, 1), far from the clip at 1e-7 and 1 - 1e-7: no kink there
    from_logits = losses.sparse_categorical_crossentropy_from_logits
    from_probs = losses.sparse_categorical_crossentropy
    return [
        SuiteCheck("sparse_categorical_crossentropy_from_logits (softmax + loss fused)",
                   lambda: [check_loss(from_logits, logits, labels, tensor="logits",
                                       label="sparse_categorical_crossentropy_from_logits (4, 10)")]),
        SuiteCheck("sparse_categorical_crossentropy (probabilities)",
                   lambda: [check_loss(from_probs, probs, labels, tensor="probabilities",
                                       label="sparse_categorical_crossentropy (4, 10)")]),
    ]


def tutorial_model(seed: int = 0, fuse: bool = True) -> Sequential:
    """The Keras tutorial's network (scratchcnn/tutorial.py) in float64, with small random biases."""
    model = build_model(seed=seed, dtype="float64")
    model.fuse = fuse
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for name, param in zip(_param_names(layer), layer.params):
            if name == "bias":
                param[...] = 0.1 * rng.standard_normal(param.shape)
    return model


def _check_tutorial_network(batch: int = 2, fuse: bool = True) -> list[GradCheckResult]:
    model = tutorial_model(fuse=fuse)
    steps = "fused steps as fit runs them" if fuse else "every layer's own code (fuse=False)"
    label = f"tutorial network, {steps}, dropout on (fixed mask), batch {batch}"
    for seed in range(50):     # new images until no pool window or relu sits within 10*eps of a kink
        rng = np.random.default_rng(seed)                   # (about 4 batches in 5 are refused)
        x = rng.random((batch, 28, 28, 1))                  # pixel-like values in [0, 1)
        y = rng.integers(0, 10, size=batch)
        try:
            return check_model(model, x, y, seed=seed, label=label)
        except KinkError:
            continue
    raise KinkError("no kink-free batch found in 50 tries")


def suite_checks() -> list[SuiteCheck]:
    """Every check ``run_suite`` runs, each one callable on its own (the tests run them one by one)."""
    L, S = "normal", "spaced"          # standard normal inputs; well-spaced values (max pooling)
    layer_cases = [
        # class, args, kwargs, input shape with batch, inputs, training
        (Conv2D, (4, 3), {}, (2, 8, 8, 1), L, False),                 # the tutorial's conv, smaller
        (Conv2D, (28, (3, 3)), {}, (2, 28, 28, 1), L, False),         # the tutorial's conv, real size
        (Conv2D, (5, 3), {}, (2, 7, 9, 3), L, False),                 # several channels, odd sizes
        (Conv2D, (4, 3), {"strides": 2}, (2, 9, 8, 2), L, False),     # stride 2, last column unused
        (Conv2D, (3, (3, 2)), {"strides": (2, 1), "padding": "same"}, (1, 7, 8, 2), L, False),
        (Conv2D, (2, 4), {"padding": "same"}, (1, 6, 5, 2), L, False),  # even kernel: uneven padding
        (Conv2D, (4, 3), {"strides": 2, "padding": "same", "activation": "relu"}, (2, 8, 7, 3), L, False),
        (MaxPooling2D, ((2, 2),), {}, (2, 8, 8, 3), S, False),        # the tutorial's pool, smaller
        (MaxPooling2D, ((2, 2),), {}, (2, 26, 26, 28), S, False),     # the tutorial's pool, real size
        (MaxPooling2D, (3,), {"strides": 2}, (2, 9, 9, 2), S, False),  # overlapping windows
        (MaxPooling2D, ((2, 3),), {"strides": (1, 2)}, (1, 7, 8, 2), S, False),
        (MaxPooling2D, (2,), {"padding": "same"}, (2, 5, 7, 2), S, False),
        (Flatten, (), {}, (2, 13, 13, 28), L, False),                 # the tutorial's flatten
        (Flatten, (), {}, (1, 5, 4, 3), L, False),
        (Dense, (7,), {}, (2, 12), L, False),
        (Dense, (6,), {"activation": "relu"}, (1, 10), L, False),
        (Dense, (128,), {"activation": "relu"}, (2, 4732), L, False),  # the tutorial's hidden layer
        (Dense, (10,), {"activation": "softmax"}, (2, 128), L, False),  # the tutorial's output layer
        (Dropout, (0.2,), {}, (2, 128), L, True),                     # the tutorial's dropout, fixed mask
        (Dropout, (0.5,), {}, (2, 4, 5, 3), L, False),                # inference: identity
        (ReLU, (), {}, (2, 5, 6, 2), L, False),
        (Softmax, (), {}, (3, 10), L, False),
        (AveragePooling2D, ((2, 2),), {}, (2, 8, 8, 3), L, False),   # side by side, like the max pool
        (AveragePooling2D, (3,), {"strides": 2}, (2, 9, 9, 2), L, False),      # overlapping windows
        (AveragePooling2D, ((2, 3),), {"strides": (1, 2)}, (1, 7, 8, 2), L, False),
        (AveragePooling2D, (2,), {"padding": "same"}, (2, 5, 7, 2), L, False),  # border windows: fewer cells
        (AveragePooling2D, (3,), {"strides": 2, "padding": "same"}, (2, 6, 5, 2), L, False),  # both
        (GlobalAveragePooling2D, (), {}, (2, 5, 4, 3), L, False),
        (GlobalAveragePooling2D, (), {"keepdims": True}, (1, 3, 3, 2), L, False),
        # BatchNormalization: random gamma and beta (not the ones and zeros a fresh layer starts with)
        (BatchNormalization, (), {"gamma_initializer": "random_normal", "beta_initializer": "random_normal"},
         (4, 3, 3, 2), L, True),        # training: the batch mean and variance depend on every input
        (BatchNormalization, (), {"gamma_initializer": "random_normal", "beta_initializer": "random_normal"},
         (5, 3), L, True),              # after a Dense: statistics over the batch only
        (BatchNormalization, (), {"gamma_initializer": "random_normal", "moving_mean_initializer":
                                  "random_normal"},
         (2, 3, 3, 2), L, False),       # inference: the moving statistics are constants
        (BatchNormalization, (), {"center": False, "scale": False}, (4, 2, 2, 3), L, True),  # no params
        (Activation, ("tanh",), {}, (2, 5, 6, 2), L, False),
        (Activation, ("sigmoid",), {}, (3, 10), L, False),
        (Dense, (6,), {"activation": "tanh"}, (2, 10), L, False),
        (Conv2D, (4, 3), {"use_bias": False}, (2, 6, 6, 2), L, False),  # before a BatchNormalization
        (Dense, (5,), {"use_bias": False, "activation": "sigmoid"}, (2, 7), L, False),
    ]
    checks = [layer_check(cls, args, kwargs, shape, inputs, training)
              for cls, args, kwargs, shape, inputs, training in layer_cases]
    checks += _loss_checks()
    checks.append(SuiteCheck("tutorial network end to end", _check_tutorial_network))
    checks.append(SuiteCheck("tutorial network end to end, fuse=False",
                             lambda: _check_tutorial_network(fuse=False)))
    checks.append(SuiteCheck("Adam vs Keras's formula", check_adam))
    checks += [SuiteCheck(name, run) for name, run in LOSS_CHECKS + OPTIMIZER_CHECKS]
    # gradients overwritten, not added up: batch A, batch B, then A again gives A's gradients (two_passes.py)
    checks.append(SuiteCheck("Dense(7) two passes", lambda: check_layer_two_passes(
        Dense(7), (12,), label="Dense(7) on (2, 12), batch A, B, then A again")))
    checks.append(SuiteCheck("Conv2D(4, 3) two passes", lambda: check_layer_two_passes(
        Conv2D(4, 3), (8, 8, 1), label="Conv2D(4, 3) on (2, 8, 8, 1), batch A, B, then A again")))
    checks.append(SuiteCheck("tutorial network two passes", lambda: check_network_two_passes(
        tutorial_model(), label="tutorial network, batch A, B, then A again")))
    return checks


def run_suite() -> list[GradCheckResult]:
    """Run every check of ``suite_checks()``; one result per tensor."""
    return [result for check in suite_checks() for result in check.run()]




# --- a layer of your own: scratchcnn gradcheck mymodule:MyLayer --------------------------------------------
def load_layer(spec: str):
    """'module:Name' -> a layer: Name is a Layer class (made with no arguments), an instance, or a function
    returning one. The module is imported from the current folder first, as ``python -c`` would."""
    import importlib
    import sys

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"give the layer as module:Name (e.g. mylayers:LeakyReLU), got {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {module_name!r} for {spec!r} ({error}); run from the folder that "
                         "holds it, or put it on PYTHONPATH") from None
    if not hasattr(module, attribute):
        raise ValueError(f"module {module_name!r} has no {attribute!r}")
    made = getattr(module, attribute)
    layer = made() if callable(made) and not isinstance(made, Layer) else made
    if not isinstance(layer, Layer):
        raise ValueError(f"{spec} gave a {type(layer).__name__}, not a scratchcnn Layer: subclass "
                         "scratchcnn.layers.Layer (docs/write-a-layer.md)")
    return layer


def user_layer_checks(spec: str, input_shape: tuple[int, ...], batch: int = 2) -> list[SuiteCheck]:
    """Check a user's layer on a float64 batch, in inference and in training mode."""
    shape = (batch, *input_shape)
    return [SuiteCheck(f"{spec} on {shape}" + (" training" if training else ""),
                       lambda training=training: check_layer(load_layer(spec), input_shape, batch=batch,
                                                             training=training,
                                                             label=f"{spec} on {shape}" + (" training" if training else "")))
            for training in (False, True)]
