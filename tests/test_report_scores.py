"""The run's per-class scores and confusion matrix are computed with NumPy (scikit-learn's metrics bring
SciPy, 80 MB of memory, into `scratchcnn train`): they must match scikit-learn's to the character."""
import numpy as np
import pytest
from sklearn.metrics import classification_report as sklearn_report
from sklearn.metrics import confusion_matrix as sklearn_confusion

from scratchcnn.tools.report import classification_report, confusion_matrix

LABELS = list(range(10))


@pytest.mark.parametrize("trial", range(40))
def test_same_text_and_counts_as_scikit_learn(trial):
    rng = np.random.default_rng(trial)
    n = int(rng.integers(1, 3000))
    y_true = rng.integers(0, 10, n)
    y_pred = np.where(rng.random(n) < rng.random(), y_true, rng.integers(0, 10, n))
    if trial % 3 == 0:
        y_true[y_true == 3] = 4   # a digit that never occurs: recall 0/0
    if trial % 5 == 0:
        y_pred[y_pred == 7] = 1   # a digit never predicted: precision 0/0
    assert np.array_equal(confusion_matrix(y_true, y_pred), sklearn_confusion(y_true, y_pred, labels=LABELS))
    assert classification_report(y_true, y_pred) == sklearn_report(
        y_true, y_pred, labels=LABELS, target_names=[str(d) for d in LABELS], digits=4, zero_division=0)
