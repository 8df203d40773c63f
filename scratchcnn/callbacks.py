"""Callbacks: code that ``fit`` calls at fixed points of training, the Keras way.

    model.fit(x, y, epochs=10, callbacks=[ModelCheckpoint("runs/me/model.weights.npz")])

``fit`` calls, in this order:

    on_train_begin(logs)
      for each epoch:  on_epoch_begin(epoch, logs)
                       for each batch: on_train_batch_end(batch, logs)   logs: running loss/accuracy
                       on_epoch_end(epoch, logs)                         logs: the epoch's numbers, val_* too
    on_train_end(logs)

``epoch`` and ``batch`` count from 0, as in Keras. A callback reaches the model as ``self.model`` and can
stop training by setting ``self.model.stop_training = True`` (checked after every batch).

Two safety nets are built into ``fit`` itself rather than being callbacks, so nobody has to remember them
(see docs/errors.md):

- a NaN or infinite batch loss stops training at once and puts back the weights of the last completed
  epoch (Keras's ``TerminateOnNaN`` does the stopping; here the restoring comes with it);
- Ctrl-C finishes the current batch, puts back the weights of the last completed epoch and raises
  ``TrainingInterrupted``.
"""
import numbers
import string
import warnings
from pathlib import Path


class Callback:
    """Base class: override the methods you need; the others do nothing.

    ``fit`` hands each callback the model (``self.model``) and, as Keras does, ``self.params``: the
    ``epochs``, the ``steps`` per epoch, ``verbose``, and ``metrics``, the names the epoch logs will hold
    (loss, accuracy, and val_loss, val_accuracy when there is validation data)."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None) -> None:
        pass

    def on_train_end(self, logs=None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        pass

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        pass


class ModelCheckpoint(Callback):
    """Save the model's weights at the end of every epoch, so a crash or Ctrl-C loses at most one epoch.

    ``filepath`` may hold Keras-style fields filled in at each save: ``{epoch}`` (counting from 1) and the
    epoch's logs, e.g. ``"ckpt/epoch{epoch:02d}-{loss:.3f}.weights.npz"``. Without fields the same file is
    overwritten each epoch. ``save_weights`` writes a temporary file and renames it, so the file on disk is
    always a complete set of weights: the old one or the new one, never half of each.
    """

    def __init__(self, filepath, verbose: int = 0):
        super().__init__()
        self.filepath = str(filepath)
        if not self.filepath.endswith(".npz"):  # refuse now, not after the first epoch of training
            raise ValueError(f"ModelCheckpoint: weights are saved as .npz; got filepath {self.filepath!r}, "
                             "use e.g. 'model.weights.npz'")
        self.verbose = verbose
        self.last_saved: Path | None = None  # the file written at the last epoch end
        self.last_epoch: int | None = None   # which epoch it holds (counting from 1)

    def on_train_begin(self, logs=None) -> None:
        """Check the filepath's fields now, as a save would fill them, not after the first epoch."""
        logged = self.params.get("metrics")
        if logged is None:  # fit did not say what it logs (a hand-driven callback): checked at each save
            return
        fields = {"epoch": 1, **{name: 0.5 for name in logged}}
        for _, field, _, _ in string.Formatter().parse(self.filepath):
            key = (field or "").split(".")[0].split("[")[0]
            if field is not None and key not in fields:
                need = " (val_ names need validation_data or validation_split)" if key.startswith("val_") else ""
                raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} uses {{{field}}}, which this fit "
                                 f"will not log{need}; known: {', '.join(fields)}")
        try:
            self.filepath.format(**fields)
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} cannot be filled in ({error})") from None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        path = Path(self.filepath.format(epoch=epoch + 1, **(logs or {})))
        self.model.save_weights(path)
        self.last_saved, self.last_epoch = path, epoch + 1
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the weights to {path}")


class TerminateOnNaN(Callback):
    """Keras's name, so ported code runs: ``fit`` always stops on a NaN or infinite loss (and puts back the
    weights of the last completed epoch), so this callback has nothing left to do."""


class EarlyStopping(Callback):
    """Stop training when the monitored number has stopped improving, as Keras 3's ``EarlyStopping`` does.

    At the end of every epoch (from ``start_from_epoch`` on) the value ``logs[monitor]`` is compared with
    the best so far: it improves when it beats the best by more than ``min_delta`` (lower for 'min', higher
    for 'max'; 'auto' takes 'min' for a loss and 'max' for accuracy). ``wait`` counts the epochs since the
    last improvement; when it reaches ``patience`` (and the epoch is not the first), ``model.stop_training``
    is set and ``fit`` ends after that epoch. With a ``baseline`` an improvement only resets ``wait`` when it
    also beats the baseline. With ``restore_best_weights=True`` the weights of the best epoch are put back
    when training ends (whether it stopped early or not). Defaults are Keras's: monitor 'val_loss',
    min_delta 0, patience 0, mode 'auto', no baseline, restore_best_weights False.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        metric = monitor.removeprefix("val_") if isinstance(monitor, str) else None
        if mode == "auto" and metric not in ("loss", "accuracy", "acc"):
            raise ValueError(f"EarlyStopping: cannot tell whether monitor={monitor!r} should go down or up; "
                             "pass mode='min' or mode='max' (or monitor 'loss', 'val_loss', 'accuracy', ...)")
        for name, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"EarlyStopping: {name} must be a whole number >= 0, got {value!r}")
        for name, value in (("min_delta", min_delta), ("baseline", 0.0 if baseline is None else baseline)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
                raise ValueError(f"EarlyStopping: {name} must be a number, got {value!r}")
        self.monitor = monitor
        self.mode = mode
        self.higher_is_better = mode == "max" or (mode == "auto" and metric in ("accuracy", "acc"))
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None) -> None:
        self.wait = 0                 # epochs since the last improvement
        self.stopped_epoch = 0        # the epoch (from 0) after which training was stopped; 0: it was not
        self.best = -float("inf") if self.higher_is_better else float("inf")
        self.best_epoch = 0
        self.best_weights = None
        self._warned = False

    def _improves(self, value: float, reference: float) -> bool:
        if self.higher_is_better:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            if not self._warned:
                warnings.warn(f"EarlyStopping monitors {self.monitor!r}, which is not in the logs (they have "
                              f"{', '.join(logs or {}) or 'nothing'}); for 'val_*' pass validation_data or "
                              "validation_split to fit", stacklevel=2)
                self._warned = True
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch  # the first epoch seen
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by ``fit`` when Ctrl-C stopped it. It is a ``KeyboardInterrupt``, so code that does not care
    sees an ordinary Ctrl-C; code that does can read what was kept:

    - ``epoch``: the epoch that was running when Ctrl-C came (counting from 1);
    - ``epochs_completed``: how many epochs finished; the model holds the weights of the last of them
      (the initial weights if none finished);
    - ``history``: the ``History`` of those completed epochs.
    """

    def __init__(self, epoch: int, epochs_completed: int, history):
        self.epoch = epoch
        self.epochs_completed = epochs_completed
        self.history = history
        if epochs_completed >= epoch:
            text = f"training interrupted after epoch {epoch}; the model holds its weights"
        elif epochs_completed:
            text = (f"training interrupted during epoch {epoch}; the model holds the weights of epoch "
                    f"{epochs_completed}")
        else:
            text = "training interrupted during epoch 1; the model holds its weights from before training"
        super().__init__(text)
