"""Sequential: a stack of layers, trained the Keras way.

One training step (``train_on_batch``) is the whole data path, walked along the model's plan
(scratchcnn/plan.py: each layer's own forward and backward, except where a fused step is declared):

    x (N, 28, 28, 1) -> plan.forward: layer.forward for each layer -> probabilities (N, 10)
    plan.loss: the loss and its gradient                          (scratchcnn/losses.py)
    plan.backward: layer.backward for each layer, last to first: each fills its own grads and returns
                   dL/dinput
    optimizer.step(params, grads)                                 (scratchcnn/optimizers.py)

``fit`` just shuffles the data once per epoch, cuts it into batches, runs that step on each and prints
Keras's progress line. All randomness (initial weights, shuffling, dropout masks) comes from one
generator seeded by ``Sequential(seed=...)``, so the same seed gives the same bits (docs/reproducibility.md).

Nothing lost, nothing silent (docs/errors.md): every array and argument is checked before any work, with a
message naming it; a NaN loss or Ctrl-C stops ``fit`` with the weights of the last completed epoch put
back; ``callbacks=[ModelCheckpoint(path)]`` keeps those weights on disk (scratchcnn/callbacks.py).
The checks live in checks.py, Ctrl-C handling in interrupt.py, the weights file in weights_file.py.
"""
import copy
import sys
import time

import numpy as np

from . import checks, losses, optimizers, weights_file
from .callbacks import TrainingInterrupted
from .datasets.scaled import ScaledImages
from .interrupt import CtrlC
from .layers.base import Layer
from .layers.input import Input
from .plan import Plan
from .progress import ProgressBar
from .kernels.threads import single_threaded_blas


class History:
    """What ``fit`` returns, like Keras's: ``history.history['loss']`` is the list of epoch losses."""

    def __init__(self):
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.epoch_seconds: list[float] = []  # training time of each epoch (validation not included)

    def append(self, epoch: int, logs: dict[str, float], seconds: float) -> None:
        self.epoch.append(epoch)
        self.epoch_seconds.append(seconds)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))


def _correct(output: np.ndarray, y: np.ndarray) -> int:
    """How many rows have their largest output at the label (y: classes (N,), or one-hot rows (N, K))."""
    labels = y if y.ndim == 1 else y.argmax(axis=1)
    return int(np.count_nonzero(output.argmax(axis=1) == labels))


def _snake_case(name: str) -> str:
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper() and not name[i - 1].isdigit():
            out += "_"
        out += ch.lower()
    return out  # Conv2D -> conv2d, MaxPooling2D -> max_pooling2d


class Sequential:
    def __init__(self, layers: list[Layer] | None = None, name: str = "sequential", seed: int | None = None,
                 dtype="float32", fuse: bool = True):
        self.name = name
        self.layers: list[Layer] = []
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.input_shape: tuple[int, ...] | None = None
        self.built = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False  # set by fit on a NaN loss, or by a callback to stop training
        self._fuse = bool(fuse)  # fused steps where plan.py declares them; False: every layer's own code
        self._plan: Plan | None = None
        self._input: Input | None = None
        for layer in layers or []:
            self.add(layer)

    # --- building ------------------------------------------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append a layer. Also takes, as Keras does, an ``Input(shape=...)`` first (it builds the model at
        once) and a whole model, whose layers (and their trained weights) become this model's."""
        if isinstance(layer, Input):
            if self.layers:
                raise ValueError("Input(shape=...) must come first, before any layer")
            self._input = layer
            return
        if isinstance(layer, Sequential):
            if not layer.layers:
                raise ValueError(f"model {layer.name!r} has no layers to add")
            for inner in layer.layers:  # the same layer objects: the weights are shared, as in Keras
                self.add(inner)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add needs a scratchcnn layer, got {type(layer).__name__}")
        if layer.name is None or any(existing.name == layer.name for existing in self.layers):
            base = layer.name or _snake_case(type(layer).__name__)
            taken = {existing.name for existing in self.layers}
            name, k = base, 0
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            layer.name = name
        self._plan = None
        if self.built:  # the shapes are known: build the new layer on top of the last one at once
            layer.compute_output_shape(self.layers[-1].output_shape)  # a layer that cannot fit changes nothing
            if not (layer.built and layer.input_shape == self.layers[-1].output_shape):
                layer.build(self.layers[-1].output_shape, self.dtype, self.rng)
            layer.needs_input_grad = True
            self.layers.append(layer)
            return
        self.layers.append(layer)
        if len(self.layers) == 1:  # like Keras: an Input, or an input_shape on the first layer, builds at once
            shape = self._input.shape if self._input is not None else layer.input_shape
            if shape is not None:
                self.build(shape)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create every layer's weights, walking the shape through the stack."""
        if not self.layers:
            raise ValueError("the model has no layers: add some before building or training it")
        input_shape = tuple(int(d) for d in input_shape)
        shape = input_shape
        for layer in self.layers:  # walk the shapes first: layers in an order that cannot work (a Dense on
            shape = layer.compute_output_shape(shape)  # images) fail here, naming the layer, before any
        self.input_shape = shape = input_shape         # weights are drawn from the seeded generator
        for k, layer in enumerate(self.layers):
            if layer.built and layer.input_shape == shape and layer.dtype == self.dtype:
                shape = layer.output_shape     # a layer of a model added whole keeps its trained weights
            else:
                shape = layer.build(shape, self.dtype, self.rng)
            layer.needs_input_grad = k > 0     # nobody needs d(loss)/d(images)
        self.built = True
        self._plan = None

    @property
    def fuse(self) -> bool:
        """Whether fused steps run (scratchcnn/plan.py); set False to run every layer's own code."""
        return self._fuse

    @fuse.setter
    def fuse(self, value: bool) -> None:
        self._fuse = bool(value)
        self._plan = None

    @property
    def plan(self) -> Plan:
        """The steps fit, evaluate and predict run, made from the layers, the loss and ``fuse``."""
        if self._plan is None:
            if not self.built:
                raise ValueError("the model is not built yet: give the first layer an input_shape, or call "
                                 "fit/predict/build first")
            self._plan = Plan(self.layers, self.loss, self.fuse)
        return self._plan

    @property
    def params(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.grads]

    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
        """Choose the optimizer ('adam', 'sgd', 'rmsprop' or an object), the loss ('sparse_categorical_crossentropy'
        for integer labels, 'categorical_crossentropy' for one-hot rows, or a loss object) and the metrics
        (['accuracy'] or none). Everything is checked before anything is set."""
        metrics = [metrics] if isinstance(metrics, str) else list(metrics or [])
        if any(m not in ("accuracy", "acc") for m in metrics):
            raise ValueError(f"unknown metrics {metrics!r}: scratchcnn implements 'accuracy'")
        optimizer, loss = optimizers.get(optimizer), losses.get(loss)
        self.optimizer, self.loss = optimizer, loss
        self._plan = None  # the loss decides whether the softmax head is fused
        self.metrics = ["accuracy"] if metrics else []

    # --- checking what the user hands us (scratchcnn/checks.py) --------------------------------------------
    def _prepare_x(self, x, what: str = "x", stacklevel: int = 4) -> np.ndarray:
        if isinstance(x, ScaledImages):  # uint8 kept as it is, each batch made floats when used (datasets/scaled.py)
            if not self.built:
                self.build(x.shape[1:])
            return checks.as_scaled_images(x, self.input_shape, self.dtype, what)
        x = checks.as_batch(x, what)
        if not self.built:
            self.build(x.shape[1:])  # checks the whole stack first: a mistake here changes nothing
        return checks.as_model_input(x, self.input_shape, self.dtype, what, stacklevel)

    def _prepare_xy(self, x, y, what: str = "x"):
        x = self._prepare_x(x, what, stacklevel=5)  # warnings point at the user's fit/evaluate call
        return x, checks.as_labels(y, len(x), self.layers[-1].output_shape[-1], self.loss, what)

    def _check_compiled(self):
        if self.optimizer is None:
            raise RuntimeError("call model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                               "metrics=['accuracy']) before training or evaluating")

    # --- the data path ---------------------------------------------------------------------------------
    def _train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        plan = self.plan
        output = plan.forward(x, training=True)
        loss, grad = plan.loss(output, y)
        plan.backward(grad.astype(self.dtype, copy=False))
        self.optimizer.step(self.params, self.grads)
        return loss, _correct(output, y) / len(y)

    def train_on_batch(self, x, y) -> list[float]:
        """One step on one batch; returns [loss, accuracy] of that batch (before the update)."""
        self._check_compiled()
        x, y = self._prepare_xy(x, y)
        loss, accuracy = self._train_step(np.asarray(x), y)  # np.asarray: a ScaledImages batch as floats
        return [loss, accuracy] if self.metrics else [loss]

    def fit(self, x, y, batch_size: int = 32, epochs: int = 1, verbose: int = 1, shuffle: bool = True,
            validation_data=None, callbacks=None, validation_split: float = 0.0) -> History:
        """Train for ``epochs`` passes over (x, y) in shuffled batches; returns the ``History``.

        ``validation_split=0.1`` holds out the *last* 10% of x and y (taken before any shuffling, as Keras
        does) and reports ``val_loss`` and ``val_accuracy`` on it after each epoch; ``validation_data``, when
        given, takes its place.

        Nothing is lost when training goes wrong (docs/errors.md):

        - a NaN or infinite batch loss stops training at that batch (Keras's ``TerminateOnNaN``): the
          weights and optimizer state of the last completed epoch are put back, a message is printed,
          ``model.stop_training`` is True and the History of the completed epochs is returned;
        - Ctrl-C lets the current batch finish, puts back the weights of the last completed epoch and
          raises ``TrainingInterrupted`` (a ``KeyboardInterrupt``); with a ``ModelCheckpoint`` callback the
          same weights are on disk. A second Ctrl-C stops at once (but for the few milliseconds of an epoch's
          copy, which it lets finish), and still puts those weights back.
        """
        self._check_compiled()
        batch_size = checks.count(batch_size, "batch_size", minimum=1)
        epochs = checks.count(epochs, "epochs", minimum=0)
        callbacks = checks.callbacks(callbacks)
        n_samples = None  # the split is checked before any building, on the number of samples
        if validation_data is None:
            n_samples = len(x) if isinstance(x, ScaledImages) else len(checks.as_batch(x))
        validation_split = checks.validation_split(validation_split, n_samples)
        x, y = self._prepare_xy(x, y)
        if validation_split and validation_data is None:  # Keras: validation_data overrides the split
            x, y, validation_data = checks.split_off_validation(x, y, validation_split)
        elif validation_data is not None:
            validation_data = self._prepare_xy(*checks.validation_pair(validation_data), what="validation_data x")
        logged = ["loss", *self.metrics]  # what each epoch's logs hold (ModelCheckpoint checks its fields)
        logged += [f"val_{name}" for name in logged] if validation_data is not None else []
        for callback in callbacks:
            callback.set_model(self)
            callback.set_params({"epochs": epochs, "steps": -(-len(x) // batch_size), "verbose": verbose,
                                 "metrics": logged})
        with single_threaded_blas(), CtrlC() as ctrl_c:
            return self._fit(x, y, batch_size, epochs, verbose, shuffle, validation_data, callbacks, ctrl_c)

    def _fit(self, x, y, batch_size, epochs, verbose, shuffle, validation_data, callbacks, ctrl_c) -> History:
        n = len(x)
        steps = -(-n // batch_size)  # the last, partial batch is used too
        history = History()
        self.stop_training = False   # a callback may set it to stop after the current batch
        kept = self._snapshot()      # what to go back to: the state before training, then after each epoch
        completed = epoch = 0        # epochs completed; the epoch running (counting from 0)
        problem = None               # why training must stop early (a NaN loss); Ctrl-C sets ctrl_c.pressed
        for callback in callbacks:
            callback.on_train_begin()
        try:
            for epoch in range(epochs):
                for callback in callbacks:
                    callback.on_epoch_begin(epoch)
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}", flush=True)
                order = self.rng.permutation(n) if shuffle else np.arange(n)
                bar = ProgressBar(steps, verbose)
                started = time.perf_counter()
                loss_sum = correct_sum = seen = 0.0
                for step in range(steps):
                    batch = order[step * batch_size:(step + 1) * batch_size]
                    loss, accuracy = self._train_step(x[batch], y[batch])
                    if not np.isfinite(loss):
                        problem = f"Epoch {epoch + 1}, batch {step}: Invalid loss ({loss}), terminating training"
                        break
                    loss_sum += loss * len(batch)
                    correct_sum += accuracy * len(batch)
                    seen += len(batch)
                    logs = self._logs(loss_sum / seen, correct_sum / seen)
                    bar.update(step + 1, logs)
                    for callback in callbacks:
                        callback.on_train_batch_end(step, dict(logs))
                    if self.stop_training or ctrl_c.pressed:
                        break
                if problem is None and not self._weights_are_finite():  # a finite loss, then a bad update
                    problem = f"Epoch {epoch + 1}: the weights became NaN or infinite, terminating training"
                if problem is not None or ctrl_c.pressed:
                    if bar.live:
                        print(flush=True)  # end the progress line that was being redrawn
                    break
                seconds = time.perf_counter() - started
                if validation_data is not None:
                    # in fit's batch size, as Keras does: bigger batches only raise the peak memory
                    val_loss, val_accuracy = self._evaluate(*validation_data, batch_size=batch_size)
                    logs.update(self._logs(val_loss, val_accuracy, prefix="val_"))
                bar.finish(logs)
                history.append(epoch, logs, seconds)
                for callback in callbacks:  # e.g. ModelCheckpoint: the same weights go to disk
                    callback.on_epoch_end(epoch, dict(logs))
                with ctrl_c.held():  # a second Ctrl-C waits for the copy: never half of two epochs kept
                    kept, completed = self._snapshot(into=kept), epoch + 1
                if self.stop_training or ctrl_c.pressed:
                    break
        except KeyboardInterrupt:  # a second Ctrl-C (or one fit could not catch): it stopped mid-batch
            ctrl_c.pressed = True
        if problem is not None or ctrl_c.pressed:
            self._restore(kept)
        if ctrl_c.pressed:
            raise TrainingInterrupted(epoch + 1, completed, history)
        if problem is not None:
            self.stop_training = True
            kept_words = f"the weights of epoch {completed}" if completed else "the weights from before training"
            print(f"{problem}; restored {kept_words}", file=sys.stderr, flush=True)
        for callback in callbacks:
            callback.on_train_end()
        return history

    def _logs(self, loss: float, accuracy: float, prefix: str = "") -> dict[str, float]:
        """The numbers an epoch reports, under Keras's names: loss, and accuracy when compiled with it."""
        logs = {f"{prefix}loss": loss}
        if self.metrics:
            logs[f"{prefix}accuracy"] = accuracy
        return logs

    def _snapshot(self, into=None):
        """A copy of everything a training step changes: the weights and the optimizer's state (Adam's
        moments and step count). Taken before training and after each epoch; small next to the data.
        ``into``: the previous snapshot, refreshed in place, so that no second copy is ever made (two
        copies side by side, each epoch, left the C library holding the freed one: fit's memory grew)."""
        if into is None:
            return self.get_weights(), copy.deepcopy(vars(self.optimizer))
        weights, optimizer_state = into
        for kept, now in zip(weights, (w for layer in self.layers for w in layer.weights)):
            np.copyto(kept, now)
        for name, now in vars(self.optimizer).items():
            optimizer_state[name] = _copied_into(optimizer_state.get(name), now)
        return into

    def _restore(self, snapshot) -> None:
        weights, optimizer_state = snapshot
        self.set_weights(weights)
        vars(self.optimizer).update(copy.deepcopy(optimizer_state))

    def _weights_are_finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.params)

    def _evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int, verbose: int = 0):
        steps = -(-len(x) // batch_size)
        bar = ProgressBar(steps, verbose)
        loss_sum = correct = 0.0
        for step in range(steps):
            xb = x[step * batch_size:(step + 1) * batch_size]
            yb = y[step * batch_size:(step + 1) * batch_size]
            output = self.plan.infer(xb)   # no layer but the last keeps anything for a backward
            loss, _ = self.plan.loss(output, yb)
            loss_sum += loss * len(xb)
            correct += _correct(output, yb)
            self.plan.forget()             # nor that one, before the next batch makes its own
            seen = min((step + 1) * batch_size, len(x))
            bar.update(step + 1, {"loss": loss_sum / seen, "accuracy": correct / seen})
        logs = {"loss": loss_sum / len(x), "accuracy": correct / len(x)}
        bar.finish(logs)
        return logs["loss"], logs["accuracy"]

    def evaluate(self, x, y, batch_size: int = 32, verbose: int = 1) -> list[float]:
        """[loss, accuracy] on (x, y), in inference mode (no dropout)."""
        self._check_compiled()
        batch_size = checks.count(batch_size, "batch_size", minimum=1)
        x, y = self._prepare_xy(x, y)
        with single_threaded_blas():
            loss, accuracy = self._evaluate(x, y, batch_size, verbose)
        return [loss, accuracy] if self.metrics else [loss]

    def __call__(self, x, training: bool = False) -> np.ndarray:
        """``model(x)``: one forward pass over the whole of x, as Keras's; ``training=True`` turns dropout on."""
        x = np.asarray(self._prepare_x(x))  # a ScaledImages set as floats: model(x) runs it whole
        with single_threaded_blas():
            output = self.plan.infer(x).copy() if not training else self.plan.forward(x, training=True).copy()
        self.plan.forget()  # the whole set's activations are not held after it returns
        return output

    def predict(self, x, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """The model's outputs (class probabilities for the tutorial network), in inference mode."""
        batch_size = checks.count(batch_size, "batch_size", minimum=1)
        x = self._prepare_x(x)
        outputs = []
        with single_threaded_blas():
            for start in range(0, len(x), batch_size):
                outputs.append(self.plan.infer(x[start:start + batch_size]).copy())
                self.plan.forget()  # infer kept only the last step's arrays: this batch keeps nothing
        return np.concatenate(outputs)

    # --- looking at it ---------------------------------------------------------------------------------
    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Keras 3's table: Layer (type), Output Shape, Param #."""
        if not self.built:
            raise ValueError("the model is not built yet: give the first layer an input_shape, or call "
                             "fit/predict/build first")
        rows = [(f"{layer.name} ({type(layer).__name__})", str((None, *layer.output_shape)),
                 f"{layer.count_params():,}") for layer in self.layers]
        widths = [max(31, *(len(r[0]) for r in rows)), max(22, *(len(r[1]) for r in rows)), 13]

        def border(left, mid, right, fill):
            return left + mid.join(fill * (w + 2) for w in widths) + right

        def row(cells, edge):
            a, b, c = cells
            return f"{edge} {a:<{widths[0]}} {edge} {b:<{widths[1]}} {edge} {c:>{widths[2]}} {edge}"

        lines = [f'Model: "{self.name}"', border("┏", "┳", "┓", "━"),
                 row(("Layer (type)", "Output Shape", "Param #"), "┃"), border("┡", "╇", "┩", "━")]
        for i, cells in enumerate(rows):
            lines.append(row(cells, "│"))
            lines.append(border("├", "┼", "┤", "─") if i < len(rows) - 1 else border("└", "┴", "┘", "─"))
        total = self.count_params()
        trainable = sum(layer.count_trainable_params() for layer in self.layers)

        def size(count):
            n = count * self.dtype.itemsize
            return f"{n / 2**20:.2f} MB" if n >= 2**20 else f"{n / 2**10:.2f} KB" if n >= 2**10 else f"{n:.2f} B"

        lines += [f" Total params: {total:,} ({size(total)})", f" Trainable params: {trainable:,} ({size(trainable)})",
                  f" Non-trainable params: {total - trainable:,} ({size(total - trainable)})"]
        fused = self.plan.describe()
        if fused:  # which layers run as one step (scratchcnn/plan.py), and how to turn it off
            lines += [" Fused steps (model.fuse = False runs every layer's own code):"]
            lines += [f"   {line}" for line in fused]
        for line in lines:
            print_fn(line)

    # --- weights ---------------------------------------------------------------------------------------
    # A layer's ``weights``, Keras order: its trained ``params``, then its ``non_trainable`` state.
    def get_weights(self) -> list[np.ndarray]:
        """Every layer's weights in order, Keras layout: [conv kernel, conv bias, dense kernel, ...]."""
        return [w.copy() for layer in self.layers for w in layer.weights]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (a list in get_weights' order) into the model. All or nothing: every array is
        converted and checked (numbers, shape, finite) before the first one is copied."""
        if not self.built:
            raise ValueError("build the model (an input_shape on the first layer) before set_weights")
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"set_weights needs a list of arrays (as get_weights returns), got "
                            f"{type(weights).__name__}")
        targets = [(layer, w) for layer in self.layers for w in layer.weights]
        if len(weights) != len(targets):
            raise ValueError(f"the model has {len(targets)} weight arrays, got {len(weights)}")
        converted = [_checked_weight(new, target, f"weight {i} ({layer.name})", self.dtype)
                     for i, ((layer, target), new) in enumerate(zip(targets, weights))]
        per_layer, k = [], 0
        for layer in self.layers:
            n = len(layer.weights)
            per_layer.append(converted[k:k + n])
            k += n
        for layer, chunk in zip(self.layers, per_layer):  # the layers' own checks, still before any change
            layer.check_weights(chunk)
        for layer, chunk in zip(self.layers, per_layer):
            layer.set_weights(chunk)

    def architecture(self) -> dict:
        return {"input_shape": list(self.input_shape or ()), "layers": [l.get_config() for l in self.layers]}

    def save_weights(self, path) -> None:
        """Write the weights and the architecture to an .npz file, atomically (scratchcnn/weights_file.py)."""
        weights_file.save(path, self.get_weights(), self.architecture())

    def load_weights(self, path) -> None:
        """Read weights saved by ``save_weights``. Refuses a damaged or hostile file, and one made for
        another architecture, before changing anything; an unbuilt model is built only once every check
        has passed, at the input shape the file records."""
        file = weights_file.inspect(path)  # the record and the .npy headers, checked; no weight read yet
        saved, wanted = file.architecture, self.architecture()
        if not self.built:  # the file says the input shape; the layers must be the model's
            if not saved["input_shape"]:
                raise weights_file.WeightsFileError(f"{path} records no input shape (saved from a model never "
                                                    "built): build this model first, then load")
            wanted["input_shape"] = saved["input_shape"]
        if not weights_file.same_architecture(saved, wanted):
            raise weights_file.WeightsFileError(
                f"{path} holds weights of another architecture:\n  file:  {weights_file.describe(saved)}\n"
                f"  model: {weights_file.describe(wanted)}")
        if self.built:
            _check_shapes(self._weight_shapes(), file, path)
        else:
            _check_shapes_unbuilt(self.layers, tuple(saved["input_shape"]), self.dtype, file, path)
        weights = file.read_arrays()  # only now the data: bounded by the shapes just checked
        if not self.built:
            self.build(tuple(saved["input_shape"]))
        self.set_weights(weights)

    def _weight_shapes(self) -> list[tuple[int, ...]]:
        return [w.shape for layer in self.layers for w in layer.weights]


def _copied_into(kept, now):
    """``now`` copied into ``kept`` where they are arrays (or lists of arrays) of the same shapes; a fresh copy
    otherwise (Adam's moments are None until its first step)."""
    if isinstance(now, np.ndarray) and isinstance(kept, np.ndarray) and kept.shape == now.shape \
            and kept.dtype == now.dtype:
        np.copyto(kept, now)
        return kept
    if isinstance(now, list) and isinstance(kept, list) and len(kept) == len(now):
        return [_copied_into(k, n) for k, n in zip(kept, now)]
    return copy.deepcopy(now)


def _checked_weight(new, target: np.ndarray, what: str, dtype: np.dtype) -> np.ndarray:
    """``new`` as an array of the model's dtype and ``target``'s shape, or a one-line error naming it."""
    try:
        array = np.asarray(new)
    except (ValueError, TypeError) as error:
        raise ValueError(f"set_weights: {what} cannot be made into an array ({error})") from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"set_weights: {what} must hold numbers (float or integer), got dtype {array.dtype}")
    if array.shape != target.shape:
        raise ValueError(f"set_weights: {what} must have shape {target.shape}, got an array of shape {array.shape}")
    with np.errstate(over="ignore"):  # float64 values too large for float32 become inf: refused just below
        array = array.astype(dtype)
    if not np.isfinite(array).all():
        raise ValueError(f"set_weights: {what} holds {array.size - np.count_nonzero(np.isfinite(array))} NaN or "
                         "infinite values; every weight must be a finite number")
    return array


def _check_shapes(shapes, file, path, so_far: bool = False) -> None:
    """The weight shapes the file's headers declare must be ``shapes``, one for one (``so_far``: the file's
    first ``len(shapes)`` must be, more may follow)."""
    if len(shapes) > len(file.shapes) or (len(shapes) != len(file.shapes) and not so_far):
        raise weights_file.WeightsFileError(f"{path} holds {len(file.shapes)} weight arrays; its architecture "
                                            f"has {len(shapes)}: the file is damaged")
    for name, declared, shape in zip(file.members, file.shapes, shapes):
        if declared != shape:
            raise weights_file.WeightsFileError(f"{path}: {name} has shape {declared}, but the architecture it "
                                                f"records needs {shape}: the file is damaged")


# Loading into an unbuilt model: each layer's output at the recorded input shape, per sample, at most this
# many numbers (the tutorial's largest, Conv2D's: 26 x 26 x 28 = 18,928). A bigger model: build it first.
MAX_UNBUILT_VALUES = 1 << 18


def _check_shapes_unbuilt(layers, input_shape, dtype, file, path) -> None:
    """Check the file's weight shapes against ``layers`` built at ``input_shape``, on a throwaway copy, so
    that the real model stays unbuilt until the file is known to fit it. The shapes are walked first,
    allocating nothing: a recorded input shape that makes any layer's output large is refused there.
    The copy is then built a layer at a time, each checked as soon as it exists, so a file whose input
    shape lies is refused at the first layer the lie reaches."""
    shape = input_shape
    for layer in layers:
        try:
            shape = layer.compute_output_shape(shape)
        except ValueError as error:
            raise weights_file.WeightsFileError(f"{path}: the input_shape it records, {input_shape}, does not "
                                                f"fit the model ({error})") from None
        if np.prod(shape, dtype=np.float64) > MAX_UNBUILT_VALUES:
            raise weights_file.WeightsFileError(
                f"{path}: the input_shape it records, {input_shape}, makes layer {layer.name!r} output "
                f"{np.prod(shape, dtype=np.float64):,.0f} numbers per sample; an unbuilt model loads files of "
                f"at most {MAX_UNBUILT_VALUES:,}: build the model first (model.build(input_shape))")
    shapes, shape, rng = [], input_shape, np.random.default_rng(0)  # not the model's generator
    for layer in layers:
        if layer.built and layer.input_shape == shape and layer.dtype == dtype:  # as build() keeps it
            shape = layer.output_shape
            shapes += [w.shape for w in layer.weights]
        else:
            twin = copy.deepcopy(layer)  # built for the check, then thrown away
            shape = twin.build(shape, dtype, rng)
            shapes += [w.shape for w in twin.weights]
        _check_shapes(shapes, file, path, so_far=True)
    _check_shapes(shapes, file, path)
