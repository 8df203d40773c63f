"""Figures, saved as PNG files with matplotlib's headless Agg backend (no window ever opens).

Each function draws one figure from plain arrays and knows nothing of models; scratchcnn/report.py decides
what goes in (``scratchcnn train`` and ``scratchcnn plot`` call it), docs/figures.md shows the results.

    plot_predictions       the tutorial's figure: a few images titled 'Predicted Label: N' (and the true one)
    plot_prediction_grid   many images, the wrong ones framed in red with their true label
    plot_curves            loss and accuracy per epoch, training and validation
    plot_confusion         the confusion matrix, every count written in its cell
    plot_filters           the Conv2D kernels on one colour scale
    plot_feature_maps      one image after the Conv2D layer and after the MaxPooling2D layer
    plot_mistakes          wrong predictions with the true label and the probability given
    plot_digit_prediction  ``scratchcnn predict --show``: preparation steps and the ten probabilities
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from ..files import atomic_write  # noqa: E402


def _save(fig, path) -> Path:
    """Write the figure atomically (files.atomic_write): a kill mid-write leaves the old figure, never a
    0-byte or half-drawn one. The format comes from the suffix, as matplotlib's own savefig does."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as file:
            fig.savefig(file, format=path.suffix[1:].lower() or "png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def plot_predictions(images: np.ndarray, predicted: np.ndarray, path, true_labels=None) -> Path:
    """The tutorial's figure: each image titled 'Predicted Label: N'; a wrong one in red, with its true label."""
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n, 2.8), squeeze=False)
    for k, ax in enumerate(axes[0]):
        ax.imshow(_image_2d(images[k]), cmap="Greys")
        wrong = true_labels is not None and true_labels[k] != predicted[k]
        title = f"Predicted Label: {predicted[k]}" + (f"\n(true label: {true_labels[k]})" if wrong else "")
        ax.set_title(title, color="red" if wrong else "black", fontsize=10)
        ax.axis("off")
    return _save(fig, path)


def _image_2d(image: np.ndarray) -> np.ndarray:
    """(H, W, 1) or (H, W) -> (H, W), for imshow."""
    return image.reshape(image.shape[0], image.shape[1])


def _mark_wrong(ax) -> None:
    """A red frame around an image whose prediction is wrong (axis('off') would hide it, so no ticks)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("red")
        spine.set_linewidth(3)


def plot_prediction_grid(images, predicted, true_labels, path, columns: int = 8) -> Path:
    """Many test images titled with the predicted digit; wrong ones red, framed, with the true label."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(images):
            ax.axis("off")
            continue
        ax.imshow(_image_2d(images[k]), cmap="Greys")
        if predicted[k] == true_labels[k]:
            ax.set_title(f"{predicted[k]}", fontsize=10)
            ax.axis("off")
        else:
            ax.set_title(f"{predicted[k]} (true {true_labels[k]})", color="red", fontsize=10)
            _mark_wrong(ax)
    wrong = int(np.sum(np.asarray(predicted) != np.asarray(true_labels)))
    fig.suptitle(f"Predicted labels of {len(images)} test images ({wrong} wrong, in red)", fontsize=11)
    return _save(fig, path)


def plot_curves(history: dict, path, validation: str | None = None,
                test_accuracy: float | None = None) -> Path:
    """Loss and accuracy per epoch: training (averaged over each epoch's batches) and validation."""
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history["loss"]) + 1)
    held_out = validation or "validation"
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.plot(epochs, history[key], "o-", label="training (mean over the epoch, dropout on)")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s-", label=f"{held_out}, scored after each epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if "val_accuracy" not in history and test_accuracy is not None:
        acc_ax.plot(epochs[-1], test_accuracy, "s", label="test set (after training)")
    loss_ax.set_title("Loss (lower is better)")
    acc_ax.set_title("Accuracy (higher is better)")
    acc_ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_confusion(matrix: np.ndarray, path, what: str = "test set") -> Path:
    """Rows: the true digit, columns: the predicted one; every count written in its cell.

    The colour is on a log scale, or the diagonal (hundreds) would drown the mistakes (a handful)."""
    from matplotlib.colors import LogNorm

    n = len(matrix)
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    shown = np.ma.masked_equal(matrix, 0)                        # empty cells stay white
    image = ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=1, vmax=max(int(matrix.max()), 2)))
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                dark = matrix[i, j] > np.sqrt(matrix.max())
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if dark else ("black" if i == j else "darkred"))
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    right, total = int(matrix.trace()), int(matrix.sum())
    ax.set_title(f"Confusion matrix, {what} ({right} of {total} right)", fontsize=10)
    fig.colorbar(image, ax=ax, label="images (log scale)")
    return _save(fig, path)


def plot_filters(kernel: np.ndarray, path, columns: int = 7) -> Path:
    """Every Conv2D kernel (kh, kw, 1, filters) as a small image, all on one colour scale around zero.

    Red weights add the pixel under them to the filter's output, blue ones subtract it."""
    filters = kernel.shape[-1]
    rows = -(-filters // columns)
    limit = float(np.abs(kernel).max())
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns + 1, 1.3 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < filters:
            image = ax.imshow(kernel[:, :, 0, k], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"{k}", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"The {filters} learned {kernel.shape[0]}x{kernel.shape[1]} Conv2D filters", fontsize=11)
    return _save(fig, path)


def _map_grid(subfig, maps: np.ndarray, limits: np.ndarray, title: str, columns: int = 7) -> None:
    axes = subfig.subplots(-(-maps.shape[-1] // columns), columns, squeeze=False,
                           gridspec_kw={"wspace": 0.08, "hspace": 0.08})
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < maps.shape[-1]:
            ax.imshow(maps[:, :, k], cmap="RdBu_r", vmin=-limits[k], vmax=limits[k])
    subfig.suptitle(title, fontsize=10)


def plot_feature_maps(image: np.ndarray, conv_maps: np.ndarray, pool_maps: np.ndarray, path,
                      label: int | None = None) -> Path:
    """One image, what each Conv2D filter makes of it (H-2 x W-2) and what MaxPooling2D keeps (half that).

    Red is positive, blue negative, white zero. Each filter's map has its own colour scale (some filters
    answer far more strongly than others), shared with its pooled map in the same grid position, so the
    two can be compared: pooling keeps the largest (reddest) value of every 2x2 window."""
    limits = np.abs(conv_maps).max(axis=(0, 1)) + 1e-12                 # one scale per filter
    fig = plt.figure(figsize=(12, 4))
    left, middle, right = fig.subfigures(1, 3, width_ratios=(1, 2.6, 2.6), wspace=0.02)
    ax = left.subplots()
    ax.imshow(_image_2d(image), cmap="Greys")
    ax.axis("off")
    left.suptitle("input" + (f" (a {label})" if label is not None else ""), fontsize=10)
    (h, w, filters), (ph, pw) = conv_maps.shape, pool_maps.shape[:2]
    _map_grid(middle, conv_maps, limits, f"after Conv2D: {filters} maps {h}x{w}")
    _map_grid(right, pool_maps, limits, f"after MaxPooling2D: {filters} maps {ph}x{pw}")
    return _save(fig, path)


def plot_mistakes(images, true_labels, predicted, confidence, path, columns: int = 8) -> Path:
    """Wrong predictions, most confident first: 'true 4 / predicted 9 / p = 0.99'."""
    if len(images) == 0:
        fig, ax = plt.subplots(figsize=(5, 1.5))
        ax.text(0.5, 0.5, "No wrong predictions on the test set", ha="center", va="center", fontsize=12)
        ax.axis("off")
        return _save(fig, path)
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.8 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(_image_2d(images[k]), cmap="Greys")
            ax.set_title(f"true {true_labels[k]}\npredicted {predicted[k]}\np = {confidence[k]:.3f}",
                         fontsize=8, color="darkred")
    fig.suptitle("The most confident mistakes on the test set", fontsize=11)
    return _save(fig, path)


def plot_digit_prediction(steps: dict, probabilities: np.ndarray, path) -> Path:
    """``scratchcnn predict --show``: each preparation step of the picture, then the ten probabilities."""
    fig = plt.figure(figsize=(2.0 * len(steps), 5.2))
    top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.2))
    for ax, (name, image) in zip(np.atleast_1d(top.subplots(1, len(steps))), steps.items()):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{name}\n{image.shape[0]}x{image.shape[1]}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    height, width = image.shape                                   # the last step: the network's input
    ax.plot(width / 2, height / 2, "r+", markersize=12)           # where its centre of mass was put
    ax.set_title(f"{name}\n+ : centre of mass", fontsize=9)
    ax = bottom.subplots()
    digit = int(np.argmax(probabilities))
    bars = ax.bar(range(len(probabilities)), probabilities, color="lightsteelblue")
    bars[digit].set_color("tab:blue")
    ax.set_xticks(range(len(probabilities)))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("digit")
    ax.set_ylabel("probability")
    ax.set_title(f"The network sees a {digit} (p = {probabilities[digit]:.3f})", fontsize=11)
    return _save(fig, path)


def plot_step_profile(profiles: dict, path) -> Path:
    """Stacked bars of one training step's time per layer and direction, one bar per way of running it.

    profiles: {label: [(what, ms), ...]} as ``bench.step_times`` returns them."""
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.9 * len(profiles)), constrained_layout=True)
    labels = list(profiles)
    colors = plt.get_cmap("tab20").colors
    names = list(dict.fromkeys(name for rows in profiles.values() for name, _ in rows))
    color_of = {name: colors[k % len(colors)] for k, name in enumerate(names)}
    labelled = set()
    for row, label in enumerate(labels):
        left = 0.0
        for name, ms in profiles[label]:  # in the order the step runs them
            if ms <= 0:
                continue
            ax.barh(row, ms, left=left, color=color_of[name], edgecolor="white",
                    label=None if name in labelled else name)
            labelled.add(name)
            if ms > 0.12:
                ax.text(left + ms / 2, row, f"{ms:.2f}", ha="center", va="center", fontsize=7)
            left += ms
        ax.text(left + 0.02, row, f"{left:.2f} ms", va="center", fontsize=9)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("ms per training step (batch 32)")
    ax.set_xlim(0, 1.15 * max(sum(ms for _, ms in rows) for rows in profiles.values()))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45 if len(profiles) < 3 else -0.3), ncol=3,
              fontsize=7, frameon=False)
    return _save(fig, path)


def plot_bug_training(correct: dict, buggy: dict, bug_name: str, path) -> Path:
    """``scratchcnn gradcheck --break NAME --train``: loss and test accuracy per epoch, the correct network
    beside the one with the bug (History.history dicts: loss, val_accuracy). Written atomically."""
    from ..files import atomic_write

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    for history, label, style in ((correct, "correct", "-"), (buggy, f"with {bug_name}", "--")):
        epochs = np.arange(1, len(history["loss"]) + 1)
        ax_loss.plot(epochs, history["loss"], style, marker="o", label=label)
        ax_acc.plot(epochs, history["val_accuracy"], style, marker="o", label=label)
    ax_loss.set(title="training loss", xlabel="epoch", ylabel="loss")
    ax_acc.set(title="test accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.xaxis.get_major_locator().set_params(integer=True)

    def last(history):  # a run stopped by a NaN loss before its first epoch ended has no epochs
        return f"{history['val_accuracy'][-1]:.3f}" if history.get("val_accuracy") else "none"

    final = f"correct {last(correct)}, buggy {last(buggy)}"
    fig.suptitle(f"The tutorial network on scikit-learn's digits, with and without {bug_name} ({final})",
                 fontsize=10)
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        fig.savefig(file, format="png", dpi=100)
    plt.close(fig)
    return path
