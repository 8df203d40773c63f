"""Gradient-check rows for categorical cross-entropy (one-hot and soft label rows), both from logits and
from probabilities. suite.py appends ``LOSS_CHECKS``; each entry is (name, run) with run() -> results."""
import numpy as np

from .. import losses
from .checker import check_loss


def _problem(soft: bool, seed: int = 0):
    """Logits (4, 10); probabilities (4, 10) between about 0.03 and 0.3 (far from the clip, so no kink, and
    not so small that log p curves much within eps); label rows."""
    rng = np.random.default_rng(seed)
    logits = 2.0 * rng.standard_normal((4, 10))
    probs = np.exp(losses.log_softmax(0.5 * rng.standard_normal((4, 10))))
    if soft:                                   # rows of class probabilities, each summing to 1
        rows = rng.random((4, 10))
        rows /= rows.sum(axis=1, keepdims=True)
    else:                                      # one-hot rows
        rows = np.eye(10)[rng.integers(0, 10, size=4)]
    return logits, probs, rows


def _row(name: str, fn, tensor: str, soft: bool):
    def run():
        logits, probs, rows = _problem(soft)
        z = logits if tensor == "logits" else probs * 1.5   # rows that do not sum to 1: Keras rescales them
        return [check_loss(fn, z, rows, tensor=tensor, label=name)]

    return name, run


LOSS_CHECKS = [
    _row("categorical_crossentropy_from_logits, one-hot (4, 10)", losses.categorical_crossentropy_from_logits,
         "logits", soft=False),
    _row("categorical_crossentropy_from_logits, soft labels (4, 10)", losses.categorical_crossentropy_from_logits,
         "logits", soft=True),
    _row("categorical_crossentropy (probabilities), one-hot (4, 10)", losses.categorical_crossentropy,
         "probabilities", soft=False),
    _row("categorical_crossentropy (probabilities), soft labels (4, 10)", losses.categorical_crossentropy,
         "probabilities", soft=True),
]
