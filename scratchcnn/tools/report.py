"""See inside a trained network: every figure and the per-class scores of a run, from its model and test set.

``scratchcnn train`` calls ``write_report`` when it finishes, and ``scratchcnn plot --run DIR`` calls it
again later from the saved weights and history. It writes into the run's folder:

    predictions.png            the tutorial's figure: four test digits titled with their predicted labels
                               (a wrong one in red, with its true label)
    predictions_grid.png       32 test digits, the wrong ones in red with their true label
    curves.png                 loss and accuracy per epoch, training and (if it was scored) the test set
    confusion.png              which digit is taken for which, on the test set
    classification_report.txt  precision and recall of every digit (also printed)
    filters.png                the 28 learned 3x3 Conv2D kernels
    feature_maps.png           one test digit after the Conv2D layer and after the MaxPooling2D layer
    mistakes.png               the test digits the network got wrong with the highest confidence
"""
from pathlib import Path

import numpy as np

from . import plots
from ..files import atomic_write
from ..tutorial import FIGURE_INDICES

GRID_SIZE = 32       # images in predictions_grid.png (4 rows of 8)
MISTAKES_SHOWN = 24  # images in mistakes.png (3 rows of 8)


def confusion_matrix(y_true, y_pred, n_classes: int = 10) -> np.ndarray:
    """(n_classes, n_classes) counts: row = the true digit, column = the digit predicted (scikit-learn's
    layout). Written here, not imported: scikit-learn's metrics bring SciPy, 80 MB of memory for a count."""
    pairs = np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def classification_report(y_true, y_pred, n_classes: int = 10, digits: int = 4) -> str:
    """scikit-learn's table, to the character: precision (of the images called d, how many are d), recall
    (of the d's, how many were found), F1 (their harmonic mean) and support (how many d's) for each digit,
    then accuracy and the plain and support-weighted means. A score whose denominator is 0 is 0."""
    matrix = confusion_matrix(y_true, y_pred, n_classes)
    hits = np.diag(matrix).astype(np.float64)
    support, called = matrix.sum(axis=1), matrix.sum(axis=0)     # true d's, images called d

    def ratio(top, bottom):
        return np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)

    precision, recall = ratio(hits, called), ratio(hits, support)
    f1 = ratio(2 * hits, (support + called).astype(np.float64))  # 2pr / (p + r), without dividing by 0
    width = len("weighted avg")
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    lines = ["{:>{width}s} ".format("", width=width) + " {:>9}" * 4 + "\n\n"]
    lines[0] = lines[0].format("precision", "recall", "f1-score", "support")
    for d in range(n_classes):
        lines.append(row.format(str(d), precision[d], recall[d], f1[d], support[d], width=width, digits=digits))
    total = int(support.sum())
    accuracy = hits.sum() / total if total else 0.0
    lines.append("\n" + ("{:>{width}s} " + " {:>9}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
        "accuracy", "", "", accuracy, total, width=width, digits=digits))
    weights = support / total if total else np.zeros(n_classes)
    for name, mean in (("macro avg", np.mean), ("weighted avg", lambda v: float(np.sum(v * weights)))):
        lines.append(row.format(name, mean(precision), mean(recall), mean(f1), total, width=width, digits=digits))
    return "".join(lines)


def write_report(model, x_test, y_test, out, results: dict | None = None, print_fn=print) -> list[Path]:
    """Every figure of a trained ``model`` on its test set, into folder ``out``; returns the files written.

    ``results`` is what ``train`` saves as history.json (the curves come from its "history"); without it
    there is no curves.png."""
    out = Path(out)
    probabilities = model.predict(x_test, batch_size=256)
    predicted = probabilities.argmax(axis=1)
    written = []

    shown = [i % len(x_test) for i in FIGURE_INDICES]
    written.append(plots.plot_predictions(x_test[shown], predicted[shown], out / "predictions.png",
                                          true_labels=y_test[shown]))
    grid = slice(0, GRID_SIZE)
    written.append(plots.plot_prediction_grid(x_test[grid], predicted[grid], y_test[grid],
                                              out / "predictions_grid.png"))

    if results and results.get("history", {}).get("loss"):
        written.append(plots.plot_curves(results["history"], out / "curves.png", results.get("validation"),
                                         results.get("test_accuracy")))

    matrix = confusion_matrix(y_test, predicted)
    written.append(plots.plot_confusion(matrix, out / "confusion.png"))
    report = classification_report(y_test, predicted)
    print_fn(f"Per-class scores on the test set ({len(y_test):,} images):\n{report}")
    with atomic_write(out / "classification_report.txt") as file:  # never half-written
        file.write(report.encode())
    written.append(out / "classification_report.txt")

    conv, pool = model.layers[0], model.layers[1]
    written.append(plots.plot_filters(conv.kernel, out / "filters.png"))
    image = x_test[shown[0]:shown[0] + 1]                         # (1, H, W, 1): a batch of one
    conv_maps = conv.forward(image, training=False)               # (1, H-2, W-2, 28)
    pool_maps = pool.forward(conv_maps, training=False)           # (1, (H-2)/2, (W-2)/2, 28)
    written.append(plots.plot_feature_maps(image[0], conv_maps[0], pool_maps[0], out / "feature_maps.png",
                                           label=int(y_test[shown[0]])))

    wrong = np.flatnonzero(predicted != y_test)
    confidence = probabilities[wrong, predicted[wrong]]               # the probability of the wrong answer
    order = np.argsort(-confidence, kind="stable")[:MISTAKES_SHOWN]
    worst = wrong[order]
    written.append(plots.plot_mistakes(x_test[worst], y_test[worst], predicted[worst], confidence[order],
                                       out / "mistakes.png"))
    return written
