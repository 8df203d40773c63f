"""The bug zoo: classic backward-pass bugs that still train, for ``scratchcnn gradcheck --break NAME``.

Each bug is one line a learner could write where the correct line belongs. It is injected from the
checker's side, never by a switch in the library: a built-in layer is replaced by an instance of a buggy
subclass holding the same weights (a subclass never runs a fused step, scratchcnn/plan.py, so the model
really runs the bug), or the loss or the optimizer is replaced by a buggy subclass.

    name                       the correct line                      the buggy line
    conv_kernel_rotated        dW[p, q] = sum x[i+p, j+q] * dz[i, j]   dW[p, q] = dW[KH-1-p, KW-1-q] (convolution,
                                                                                    not correlation)
    maxpool_every_cell         dx[winner] += dy                      dx[every cell of the window] += dy
    maxpool_first_cell         dx[winner] += dy                      dx[top-left cell of the window] += dy
    dense_bias_mean            db = sum_n dz                         db = mean_n dz
    dense_grads_accumulate     grads = x.T @ dz                      grads += x.T @ dz
    crossentropy_no_mean       dz = (p - onehot) / N                 dz = (p - onehot)
    dropout_no_mask            dx = dy * mask                        dx = dy
    dropout_no_scale           dx = dy * keep / (1 - rate)           dx = dy * keep
    adam_no_bias_correction    alpha_t = lr * sqrt(1-b2^t)/(1-b1^t)  alpha_t = lr

``checks(bug)`` gives the rows of the gradient-check table that see the bug: the suite's rows for the
layer (with the buggy subclass), the whole tutorial network with the bug injected, the two-pass check
(two_passes.py) where the bug only shows on a second step, the loss or Adam rows where it lives there.
``train_beside(bug)`` trains the tutorial network with and without the bug (scikit-learn's 8x8 digits,
a few epochs) to show how much a wrong gradient can still learn. See docs/bug-zoo.md.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .. import losses
from ..kernels import adam_update
from ..layers import Conv2D, Dense, Dropout, MaxPooling2D
from ..optimizers import Adam
from .checker import GradCheckResult, KinkError, check_loss, check_model
from .optimizer_formulas import check_adam
from .suite import SuiteCheck, layer_check, spelled, tutorial_model
from .two_passes import check_layer_two_passes, check_network_two_passes


# --- the buggy layers: each overrides one step of its parent's backward ------------------------------------
class ConvKernelGradRotated(Conv2D):
    """The kernel gradient comes out rotated by 180 degrees: computed as a convolution (flipped filter)
    where the forward pass is a correlation."""

    def backward_logits(self, dz):
        dx = super().backward_logits(dz)
        self.grads[0][...] = self.grads[0][::-1, ::-1].copy()      # the bug
        return dx


def _pool_windows(pool, dy, every_cell: bool) -> np.ndarray:
    """dx for a max pool whose gradient goes to every cell of each window, or only to its first cell."""
    (ph, pw), (sh, sw) = pool.pool_size, pool.strides
    oh, ow = dy.shape[1:3]
    dx = np.zeros(pool.padded_shape, dtype=dy.dtype)                  # (N, H + pads, W + pads, C)
    for p in range(ph if every_cell else 1):
        for q in range(pw if every_cell else 1):
            dx[:, p:p + (oh - 1) * sh + 1:sh, q:q + (ow - 1) * sw + 1:sw, :] += dy
    (top, bottom), (left, right) = pool.pads
    h, w = dx.shape[1:3]
    return dx[:, top:h - bottom, left:w - right, :]


class MaxPoolGradToEveryCell(MaxPooling2D):
    """Every cell of the pool window receives the window's gradient, not only the one that won."""

    def backward(self, dy):
        return _pool_windows(self, dy, every_cell=True)               # the bug: dx[window] += dy


class MaxPoolGradToFirstCell(MaxPooling2D):
    """The window's gradient goes to its top-left cell, wherever the maximum was."""

    def backward(self, dy):
        return _pool_windows(self, dy, every_cell=False)              # the bug: dx[window[0, 0]] += dy


class DenseBiasGradAveraged(Dense):
    """The bias gradient is averaged over the batch instead of summed (the loss already divides by N)."""

    def backward_logits(self, dz):
        dx = super().backward_logits(dz)
        self.grads[1][...] = dz.mean(axis=0)                          # the bug: mean, not sum
        return dx


class DenseGradsAccumulated(Dense):
    """The gradients are added to last step's instead of overwriting them (``+=`` for ``=``; PyTorch's
    forgotten ``zero_grad``)."""

    def backward_logits(self, dz):
        before = [g.copy() for g in self.grads]
        dx = super().backward_logits(dz)
        for grad, old in zip(self.grads, before):
            grad += old                                               # the bug: grads += new
        return dx


class DropoutBackwardWithoutMask(Dropout):
    """The backward pass forgets the mask: every unit gets the gradient, even the dropped ones."""

    def backward(self, dy):
        return dy                                                     # the bug: not dy * mask


class DropoutBackwardWithoutScale(Dropout):
    """The backward pass uses the mask without its 1 / (1 - rate): kept units get too small a gradient."""

    def backward(self, dy):
        return dy if self.mask is None else dy * (self.mask != 0)     # the bug: keep, not keep / (1 - rate)


class CrossEntropyGradNotAveraged(losses.SparseCategoricalCrossentropy):
    """The loss is the mean over the batch, but its gradient is the sum's: the 1/N is missing."""

    def forward_backward(self, output, y):
        if self.from_logits:                                          # the logits' own path, below
            return self.forward_backward_logits(output, y)
        loss, grad = super().forward_backward(output, y)
        return loss, grad * len(y)                                    # the bug: no / N

    def forward_backward_logits(self, z, y):
        loss, grad = super().forward_backward_logits(z, y)
        return loss, grad * len(y)                                    # the bug: no / N


class AdamWithoutBiasCorrection(Adam):
    """Adam's step without the bias correction. m and v start at 0 and both come out too small, v by far
    more (1 - beta_2^t against 1 - beta_1^t), so the early steps are too large by (1 - beta_1^t) /
    sqrt(1 - beta_2^t): 3.2 times at t = 1, 6.5 at t = 10, still 1.3 after 1,000 steps."""

    def step(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iterations += 1
        alpha_t = self.learning_rate                                  # the bug: no sqrt(1-b2^t) / (1-b1^t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            adam_update(p, g, m, v, alpha_t, self.beta_1, self.beta_2, self.epsilon)


# --- the zoo -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bug:
    name: str
    sentence: str                                   # what goes wrong, for --break list
    layers: dict = field(default_factory=dict)      # built-in layer class -> buggy subclass
    loss: type | None = None                        # buggy loss class
    optimizer: type | None = None                   # buggy optimizer class
    layer_cases: tuple = ()                         # suite-style rows: (class, args, kwargs, shape, inputs, training)
    two_passes: bool = False                        # the bug shows only on a second backward pass


L, S = "normal", "spaced"
BUGS = [
    Bug("conv_kernel_rotated", "Conv2D's kernel gradient is rotated by 180 degrees (a convolution where the "
        "forward pass is a correlation).", {Conv2D: ConvKernelGradRotated},
        layer_cases=((Conv2D, (4, 3), {}, (2, 8, 8, 1), L, False),
                     (Conv2D, (5, 3), {}, (2, 7, 9, 3), L, False))),
    Bug("maxpool_every_cell", "MaxPooling2D sends each window's gradient to all of its cells instead of to the "
        "winner only.", {MaxPooling2D: MaxPoolGradToEveryCell},
        layer_cases=((MaxPooling2D, ((2, 2),), {}, (2, 8, 8, 3), S, False),
                     (MaxPooling2D, (3,), {"strides": 2}, (2, 9, 9, 2), S, False))),
    Bug("maxpool_first_cell", "MaxPooling2D sends each window's gradient to its top-left cell, wherever the "
        "maximum was.", {MaxPooling2D: MaxPoolGradToFirstCell},
        layer_cases=((MaxPooling2D, ((2, 2),), {}, (2, 8, 8, 3), S, False),
                     (MaxPooling2D, (3,), {"strides": 2}, (2, 9, 9, 2), S, False))),
    Bug("dense_bias_mean", "Dense averages its bias gradient over the batch instead of summing it.",
        {Dense: DenseBiasGradAveraged},
        layer_cases=((Dense, (7,), {}, (2, 12), L, False),
                     (Dense, (10,), {"activation": "softmax"}, (2, 128), L, False))),
    Bug("dense_grads_accumulate", "Dense adds each step's gradients to the last step's (+= for =); a single "
        "gradient check cannot see it, the two-pass check can.", {Dense: DenseGradsAccumulated},
        layer_cases=((Dense, (7,), {}, (2, 12), L, False),), two_passes=True),
    Bug("crossentropy_no_mean", "The cross-entropy gradient lacks the 1/N of the mean loss (the gradient of "
        "the sum, the loss of the mean).", loss=CrossEntropyGradNotAveraged),
    Bug("dropout_no_mask", "Dropout's backward forgets the mask: dropped units receive a gradient too.",
        {Dropout: DropoutBackwardWithoutMask},
        layer_cases=((Dropout, (0.2,), {}, (2, 128), L, True),
                     (Dropout, (0.5,), {}, (2, 4, 5, 3), L, False))),
    Bug("dropout_no_scale", "Dropout's backward applies the mask without its 1/(1-rate) scale.",
        {Dropout: DropoutBackwardWithoutScale},
        layer_cases=((Dropout, (0.2,), {}, (2, 128), L, True),
                     (Dropout, (0.5,), {}, (2, 4, 5, 3), L, False))),
    Bug("adam_no_bias_correction", "Adam's step without the bias correction sqrt(1-beta_2^t)/(1-beta_1^t): "
        "the first thousand steps are up to 6.5 times too large.", optimizer=AdamWithoutBiasCorrection),
]
BY_NAME = {bug.name: bug for bug in BUGS}


def get(name: str) -> Bug:
    if name not in BY_NAME:
        raise ValueError(f"no bug named {name!r} in the zoo: use one of {', '.join(BY_NAME)} "
                         "(scratchcnn gradcheck --break list)")
    return BY_NAME[name]


def describe() -> str:
    """The zoo, one line each, for ``--break list``."""
    width = max(len(bug.name) for bug in BUGS)
    return "\n".join(f"{bug.name:<{width}}  {bug.sentence}" for bug in BUGS)


# --- injecting a bug ---------------------------------------------------------------------------------------
def substitute(layer, buggy_class):
    """The same layer (same weights, same name, same state) running the buggy subclass's code."""
    buggy = buggy_class.__new__(buggy_class)
    buggy.__dict__.update(vars(layer))
    return buggy


def inject(bug: Bug, model) -> None:
    """Put the bug into a built model: swap its layers for the buggy subclasses, and compile it again with
    the bug's loss or optimizer (compiling also makes the model plan its steps anew)."""
    for k, layer in enumerate(model.layers):
        buggy_class = bug.layers.get(type(layer))
        if buggy_class is not None:
            model.layers[k] = substitute(layer, buggy_class)
    model.compile(optimizer=bug.optimizer() if bug.optimizer else "adam",
                  loss=bug.loss() if bug.loss else "sparse_categorical_crossentropy", metrics=["accuracy"])


# --- the rows of the table that see the bug ----------------------------------------------------------------
def _loss_checks(bug: Bug) -> list[SuiteCheck]:
    rng = np.random.default_rng(0)
    logits = 2.0 * rng.standard_normal((4, 10))
    labels = rng.integers(0, 10, size=4)
    probs = np.exp(losses.log_softmax(logits))          # p in (0, 1), far from the clip at 1e-7
    from_logits, from_probs = bug.loss(from_logits=True), bug.loss()
    name = bug.loss.__name__
    return [
        SuiteCheck(f"{name}(from_logits=True) on (4, 10)",
                   lambda: [check_loss(from_logits.forward_backward, logits, labels, tensor="logits",
                                       label=f"{name}(from_logits=True) (4, 10)")]),
        SuiteCheck(f"{name}() on probabilities (4, 10)",
                   lambda: [check_loss(from_probs.forward_backward, probs, labels, tensor="probabilities",
                                       label=f"{name}() probabilities (4, 10)")]),
    ]


def _buggy_tutorial(bug: Bug):
    model = tutorial_model()
    inject(bug, model)
    return model


def _check_network(bug: Bug, batch: int = 2, max_coords: int = 30) -> list[GradCheckResult]:
    """check_model on the tutorial network with the bug injected, on the first kink-free random batch.

    A fresh network for each batch tried: the check's one backward pass then starts from zero gradients,
    as the suite's does. ``max_coords`` coordinates per tensor are plenty to see a bug (the suite's own
    row checks 200)."""
    label = f"tutorial network with {bug.name}, dropout on (fixed mask), batch {batch}"
    for seed in range(50):
        rng = np.random.default_rng(seed)
        x = rng.random((batch, 28, 28, 1))
        y = rng.integers(0, 10, size=batch)
        try:
            return check_model(_buggy_tutorial(bug), x, y, seed=seed, label=label, max_coords=max_coords)
        except KinkError:
            continue
    raise KinkError("no kink-free batch found in 50 tries")


def checks(bug: Bug) -> list[SuiteCheck]:
    """The gradient checks that see ``bug``, each a row (or a few) of the table."""
    rows = [layer_check(bug.layers[cls], args, kwargs, shape, inputs, training)
            for cls, args, kwargs, shape, inputs, training in bug.layer_cases]
    if bug.two_passes:
        for cls, args, kwargs, shape, _, training in bug.layer_cases:
            buggy = bug.layers[cls]

            def run(buggy=buggy, args=args, kwargs=kwargs, shape=shape, training=training):
                return check_layer_two_passes(buggy(*args, **kwargs), shape[1:], batch=shape[0],
                                              training=training,
                                              label=f"{spelled(buggy, args, kwargs)} on {shape}, two passes")
            rows.append(SuiteCheck(f"{buggy.__name__} two passes", run))
    if bug.loss is not None:
        rows += _loss_checks(bug)
    if bug.optimizer is not None:
        rows.append(SuiteCheck(f"{bug.optimizer.__name__} vs Keras's formula",
                               lambda: check_adam(optimizer=bug.optimizer())))
    else:
        rows.append(SuiteCheck("tutorial network end to end, bug injected", lambda: _check_network(bug)))
    if bug.two_passes:
        rows.append(SuiteCheck("tutorial network, two passes, bug injected",
                               lambda: check_network_two_passes(
                                   _buggy_tutorial(bug), label=f"tutorial network with {bug.name}, two passes")))
    return rows


def run(bug: Bug) -> list[GradCheckResult]:
    return [result for check in checks(bug) for result in check.run()]


# --- training with the bug, beside the correct network -----------------------------------------------------
def train_beside(bug: Bug, epochs: int = 5, seed: int = 0, batch_size: int = 32, verbose: int = 0):
    """The tutorial network trained on scikit-learn's 8x8 digits (1,347 training images, 450 test), once
    as it is and once with ``bug`` injected, from the same initial weights and the same batches.

    Returns {'correct': History, 'buggy': History}; each history has loss, accuracy, val_loss and
    val_accuracy per epoch (val: the 450 test images)."""
    from ..tutorial import build_model, load_dataset

    (x_train, y_train), (x_test, y_test) = load_dataset("digits")
    histories = {}
    for which in ("correct", "buggy"):
        model = build_model(input_shape=x_train.shape[1:], seed=seed)
        if which == "buggy":
            inject(bug, model)
        histories[which] = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                                     validation_data=(x_test, y_test), verbose=verbose)
    return histories


def worst(results: list[GradCheckResult]) -> GradCheckResult:
    """The failing row with the largest error (or the largest error of all when none fails)."""
    failing = [r for r in results if not r.passed] or results
    return max(failing, key=lambda r: r.max_rel_error if math.isfinite(r.max_rel_error) else math.inf)
