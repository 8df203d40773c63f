"""``scratchcnn draw``: draw a digit with the mouse and watch your own network think, layer by layer.

The window (matplotlib only) shows, for the digit on the canvas:

    canvas            where you draw (white paper, black ink), or a picture you loaded
    input             the 28x28 image the network sees: the canvas prepared exactly as ``scratchcnn predict``
                      prepares a picture (tools/digit_image.py prepare_digit)
    feature maps      every layer whose output is a stack of maps (Conv2D, MaxPooling2D), all its maps
    activations       every layer whose output is a vector (Dense), one square per unit
    probabilities     the last layer's outputs as bars
    numbers behind    click a conv map's pixel: its patch of the conv's input, the kernel, their products
                      and the sum plus bias, which is the map's value at that pixel:
                          z[i, j, f] = b[f] + sum_{p, q, c} x[i*s + p, j*s + q, c] * W[p, q, c, f]
    gradient          dL/d(input) with L = -log p(class): which pixels would change the answer. It comes
                      from each layer's own ``backward``, last to first (the first layer is asked for its
                      input gradient, which training never needs)

The layers run one by one with their own ``forward(x, training=False)`` (never the model's fused steps),
so every intermediate is there to show; the probabilities are the same as ``model.predict`` (to float
rounding: predict may run a fused conv + pool step).

    scratchcnn draw                                   the last train run's weights (runs/mnist)
    scratchcnn draw --weights other.weights.npz       any Sequential of scratchcnn layers
    scratchcnn draw --image my.png --save view.png    no window: the same view, written to a file

Keys: n clear, u undo, i load the picture named in the box, 0-9 gradient for that class, a gradient for
the answer (the predicted class). Clicking a probability bar picks its class too.
"""
from pathlib import Path

import numpy as np

from ..files import atomic_write
from ..layers import Conv2D, Dropout, Flatten
from . import digit_image

CANVAS = 280           # side of the blank canvas in pixels: ten screen pixels per input pixel
BRUSH = 10.0           # brush radius on that canvas (MNIST strokes are about 2 of 28 pixels wide)
KEYS = "n clear · u undo · i load picture · 0-9 gradient for that class · a gradient for the answer · " \
       "click a conv map pixel: its numbers"


# --- loading a model ---------------------------------------------------------------------------------------
def load_model(path):
    """A Sequential with the weights in ``path``, rebuilt from the architecture record the file holds
    (``scratchcnn.models.load_model``), for MNIST-shaped drawings. A layer of your own cannot be rebuilt
    from the record alone: build the model yourself and pass it to :class:`DrawView`."""
    from ..models import load_model as rebuild

    model = rebuild(path)
    if model.input_shape[:2] != (digit_image.SIZE, digit_image.SIZE) or model.input_shape[-1] != 1:
        raise ValueError(f"{path} is for inputs of shape {model.input_shape}; draw prepares drawings as "
                         "MNIST's 28x28x1 images: use weights trained on MNIST (scratchcnn train)")
    return model


# --- the network, one layer at a time ----------------------------------------------------------------------
def layer_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    """x (1, 28, 28, 1) through each layer's own forward, in inference mode: the output of every layer."""
    outputs = []
    for layer in model.layers:
        x = layer.forward(x, training=False)
        outputs.append(x)
    return outputs


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def input_gradient(model, x: np.ndarray, target: int) -> np.ndarray:
    """dL/dx (28, 28, 1) for L = -log p(target), from the layers' own backward passes, last to first.

    With p = softmax(z): dL/dz = p - onehot(target). When the last layer ends in softmax, z is its
    pre-activation and ``backward_logits(dz)`` takes it from there; otherwise the outputs are the logits
    and ``backward(dz)`` does. The first layer is asked for its input gradient (``needs_input_grad``),
    which the model never needs in training, and set back afterwards."""
    layers = model.layers
    first = layers[0]
    saved = first.needs_input_grad
    first.needs_input_grad = True
    try:
        outputs = layer_outputs(model, x)
        last = layers[-1]
        softmax_head = getattr(getattr(last, "activation", None), "name", None) == "softmax"
        z = last.z if softmax_head else outputs[-1]                     # (1, classes) the logits
        dz = _softmax(z.astype(np.float64))
        dz[0, target] -= 1.0
        dz = dz.astype(z.dtype)
        grad = last.backward_logits(dz) if softmax_head else last.backward(dz)
        for layer in reversed(layers[:-1]):
            grad = layer.backward(grad)
        return grad[0]
    finally:
        first.needs_input_grad = saved


def conv_numbers(conv, f: int, i: int, j: int) -> dict:
    """The numbers behind output pixel (i, j) of filter f of a Conv2D after its forward pass:
    patch (KH, KW, C) of its (padded) input, kernel (KH, KW, C), products, their sum, the bias,
    z = sum + bias, and y = activation(z), the value the map shows."""
    (kh, kw), (sh, sw) = conv.kernel_size, conv.strides
    patch = conv.x_padded[0, i * sh:i * sh + kh, j * sw:j * sw + kw, :].astype(np.float64)
    kernel = conv.kernel[:, :, :, f].astype(np.float64)
    products = patch * kernel
    total = float(products.sum())
    bias = float(conv.bias[f])
    z = total + bias
    y = float(conv.activation.forward(np.array([z]))[0])
    return {"filter": f, "row": i, "col": j, "patch": patch, "kernel": kernel, "products": products,
            "sum": total, "bias": bias, "z": z, "y": y, "activation": conv.activation.name,
            "shown": float(conv.y[0, i, j, f])}


# --- what was drawn ----------------------------------------------------------------------------------------
class Sheet:
    """The picture under the pen: a grey image (1 = white) with strokes on top, and undo.

    A blank sheet is CANVAS x CANVAS white paper with black ink. A loaded picture keeps its own pixels
    (so that with nothing drawn on it the network sees exactly what ``predict`` sees); strokes on it use
    its ink colour (black on light pictures, white on dark ones) and a brush scaled to its size."""

    def __init__(self, picture: np.ndarray | None = None):
        self.base = np.ones((CANVAS, CANVAS)) if picture is None else np.asarray(picture, dtype=np.float64)
        border = np.concatenate([self.base[0], self.base[-1], self.base[:, 0], self.base[:, -1]])
        self.ink = 0.0 if np.median(border) > 0.5 else 1.0
        self.brush = BRUSH * max(self.base.shape) / CANVAS
        self.strokes: list[list[tuple[float, float]]] = []   # each a list of (row, col) points
        self.coverage = np.zeros(self.base.shape)            # how much ink covers each pixel, 0..1

    def begin(self, row: float, col: float) -> None:
        self.strokes.append([(row, col)])
        self._paint((row, col), (row, col))

    def extend(self, row: float, col: float) -> None:
        last = self.strokes[-1][-1]
        self.strokes[-1].append((row, col))
        self._paint(last, (row, col))

    def undo(self) -> bool:
        """Remove the last stroke; False when there is none."""
        if not self.strokes:
            return False
        self.strokes.pop()
        self.coverage[...] = 0.0
        for stroke in self.strokes:
            for a, b in zip(stroke, stroke[1:] or stroke):
                self._paint(a, b)
        return True

    def clear(self) -> None:
        self.strokes.clear()
        self.coverage[...] = 0.0

    def image(self) -> np.ndarray:
        """The picture as it looks now: base * (1 - coverage) + ink * coverage."""
        return self.base * (1.0 - self.coverage) + self.ink * self.coverage

    def _paint(self, a, b) -> None:
        """Ink every pixel within ``brush`` of the segment a-b (one pixel of soft edge against jaggies)."""
        r = self.brush + 1.0
        h, w = self.base.shape
        top, bottom = int(max(min(a[0], b[0]) - r, 0)), int(min(max(a[0], b[0]) + r + 1, h))
        left, right = int(max(min(a[1], b[1]) - r, 0)), int(min(max(a[1], b[1]) + r + 1, w))
        if top >= bottom or left >= right:
            return
        rows, cols = np.mgrid[top:bottom, left:right] + 0.5           # pixel centres
        d = np.subtract(b, a)
        length2 = float(d @ d)
        t = 0.0 if length2 == 0 else np.clip(((rows - a[0]) * d[0] + (cols - a[1]) * d[1]) / length2, 0, 1)
        distance = np.hypot(rows - (a[0] + t * d[0]), cols - (a[1] + t * d[1]))
        cover = np.clip(self.brush + 0.5 - distance, 0.0, 1.0)
        np.maximum(self.coverage[top:bottom, left:right], cover, out=self.coverage[top:bottom, left:right])


# --- the view ----------------------------------------------------------------------------------------------
def mosaic(maps: np.ndarray, columns: int) -> np.ndarray:
    """(H, W, C) maps -> one image of C tiles, ``columns`` per row, one NaN pixel between tiles."""
    h, w, c = maps.shape
    rows = -(-c // columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for k in range(c):
        r, q = divmod(k, columns)
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = maps[:, :, k]
    return out


def _map_columns(count: int) -> int:
    return max(1, int(np.ceil(np.sqrt(count * 1.6))))    # a little wider than tall, like the panels


def _limits(values: np.ndarray) -> tuple[str, float, float]:
    """Colour map and limits: signed values diverge around 0, non-negative ones start at 0."""
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    if low < 0:
        limit = max(-low, high, 1e-12)
        return "RdBu_r", -limit, limit
    return "magma", 0.0, max(high, 1e-12)


class DrawView:
    """The window's figure and everything it shows, for any built Sequential taking 28x28x1 images.

    After each change, the attributes hold what the panels show: ``input`` (28, 28, 1), ``outputs`` (each
    layer's output for that input), ``probabilities`` (the last layer's outputs), ``gradient`` (28, 28, 1)
    for ``gradient_class``, and ``selected`` (``conv_numbers`` of the clicked pixel)."""

    def __init__(self, model, figure, picture=None):
        self.model = model
        self.fig = figure
        self.sheet = Sheet(picture)
        self.drawing = False
        self.follow_answer = True        # the gradient follows the predicted class until one is picked
        self.gradient_class = 0
        self.selection = None            # (layer index, filter, row, col) of the clicked conv pixel
        self.status = ""
        self._layout()
        self.fig.canvas.mpl_connect("button_press_event", self.on_press)
        self.fig.canvas.mpl_connect("motion_notify_event", self.on_motion)
        self.fig.canvas.mpl_connect("button_release_event", self.on_release)
        self.fig.canvas.mpl_connect("key_press_event", self.on_key)
        self.update()

    # --- layout --------------------------------------------------------------------------------------------
    def _layout(self) -> None:
        from matplotlib.widgets import Button, TextBox

        fig, layers = self.fig, self.model.layers
        self.map_layers = [k for k, layer in enumerate(layers) if len(layer.output_shape) == 3]
        self.vector_layers = [k for k, layer in enumerate(layers[:-1])     # Flatten and Dropout: nothing new
                              if len(layer.output_shape) == 1 and not isinstance(layer, (Flatten, Dropout))]
        hidden = [layers[k].name for k in range(len(layers) - 1)
                  if k not in self.map_layers and k not in self.vector_layers]
        outer = fig.add_gridspec(1, 3, width_ratios=[3.1, 4.7, 4.4], left=0.02, right=0.98, top=0.93,
                                 bottom=0.1, wspace=0.12)
        left = outer[0].subgridspec(3, 2, height_ratios=[3.2, 1.4, 0.05], hspace=0.35, wspace=0.15)
        self.ax_canvas = fig.add_subplot(left[0, :])
        self.ax_input = fig.add_subplot(left[1, 0])
        self.ax_grad = fig.add_subplot(left[1, 1])
        middle = outer[1].subgridspec(max(len(self.map_layers), 1), 1, hspace=0.25)
        self.ax_maps = {k: fig.add_subplot(middle[n]) for n, k in enumerate(self.map_layers)}
        right = outer[2].subgridspec(len(self.vector_layers) + 2, 1,
                                     height_ratios=[1.0] * len(self.vector_layers) + [1.6, 2.2], hspace=0.5)
        self.ax_vectors = {k: fig.add_subplot(right[n]) for n, k in enumerate(self.vector_layers)}
        self.ax_probs = fig.add_subplot(right[len(self.vector_layers)])
        numbers = right[len(self.vector_layers) + 1].subgridspec(1, 2, width_ratios=[1, 3.4], wspace=0.08)
        self.ax_filter = fig.add_subplot(numbers[0])
        self.ax_numbers = fig.add_subplot(numbers[1])

        self.canvas_image = self.ax_canvas.imshow(self.sheet.image(), cmap="gray", vmin=0, vmax=1,
                                                  interpolation="antialiased")
        self.ax_canvas.set_title("draw here (mouse)", fontsize=10)
        self.input_image = self.ax_input.imshow(np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        self.ax_input.set_title("input: what the network sees", fontsize=9)
        self.grad_image = self.ax_grad.imshow(np.zeros((28, 28)), cmap="RdBu_r", vmin=-1, vmax=1)
        self.map_images, self.map_columns = {}, {}
        for k, ax in self.ax_maps.items():
            shape = layers[k].output_shape
            self.map_columns[k] = _map_columns(shape[-1])
            self.map_images[k] = ax.imshow(mosaic(np.zeros(shape), self.map_columns[k]), cmap="magma")
        self.vector_images = {}
        for k, ax in self.ax_vectors.items():
            units = layers[k].output_shape[0]
            self.vector_images[k] = ax.imshow(self._as_grid(np.zeros(units)), cmap="magma")
        n_classes = layers[-1].output_shape[-1]
        self.bars = self.ax_probs.bar(range(n_classes), np.zeros(n_classes), color="tab:blue")
        self.bar_labels = [self.ax_probs.text(d, 0, "", ha="center", va="bottom", fontsize=7)
                           for d in range(n_classes)]
        self.ax_probs.set_xticks(range(n_classes))
        self.ax_probs.set_ylim(0, 1.12)
        self.filter_image = self.ax_filter.imshow(np.zeros((3, 3)), cmap="RdBu_r")
        self.ax_filter.set_title("filter", fontsize=9)
        self.numbers_text = self.ax_numbers.text(0.0, 1.0, "", va="top", ha="left", family="monospace",
                                                 fontsize=8, transform=self.ax_numbers.transAxes)
        self.ax_numbers.axis("off")
        self.highlight = None
        for ax in [self.ax_canvas, self.ax_input, self.ax_grad, self.ax_filter, *self.ax_maps.values(),
                   *self.ax_vectors.values()]:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle("", fontsize=13)
        note = f" · not shown: {', '.join(hidden)} (no new values when predicting)" if hidden else ""
        fig.text(0.02, 0.015, f"keys: {KEYS}{note}", fontsize=8, color="0.3")
        # the controls, under the canvas
        self.ax_clear = fig.add_axes([0.02, 0.045, 0.05, 0.035])
        self.ax_undo = fig.add_axes([0.075, 0.045, 0.05, 0.035])
        self.ax_path = fig.add_axes([0.185, 0.045, 0.1, 0.035])
        self.ax_load = fig.add_axes([0.29, 0.045, 0.05, 0.035])
        self.clear_button = Button(self.ax_clear, "Clear (n)")
        self.undo_button = Button(self.ax_undo, "Undo (u)")
        self.path_box = TextBox(self.ax_path, "picture ", initial="")
        self.load_button = Button(self.ax_load, "Load (i)")
        self.clear_button.on_clicked(lambda _: self.clear())
        self.undo_button.on_clicked(lambda _: self.undo())
        self.load_button.on_clicked(lambda _: self.load(self.path_box.text))
        self.path_box.on_submit(lambda text: self.load(text) if text.strip() else None)

    @staticmethod
    def _as_grid(values: np.ndarray) -> np.ndarray:
        """A vector of units as a near-square grid (128 -> 8 x 16), NaN where it runs out."""
        columns = int(np.ceil(np.sqrt(len(values) * 2)))
        rows = -(-len(values) // columns)
        grid = np.full(rows * columns, np.nan)
        grid[:len(values)] = values
        return grid.reshape(rows, columns)

    # --- the computation -----------------------------------------------------------------------------------
    def update(self) -> None:
        """Prepare what is drawn, run the layers one by one, and refresh every panel."""
        layers = self.model.layers
        try:
            self.input = digit_image.prepare_digit(self.sheet.image())          # (28, 28, 1), as predict
            blank = False
        except ValueError:                                                      # nothing drawn yet
            self.input = np.zeros((28, 28, 1), dtype=np.float32)
            blank = True
        x = self.input[None].astype(self.model.dtype)                          # (1, 28, 28, 1)
        self.outputs = layer_outputs(self.model, x)
        self.probabilities = self.outputs[-1][0]
        self.answer = int(np.argmax(self.probabilities))
        if self.follow_answer:
            self.gradient_class = self.answer
        self.gradient = input_gradient(self.model, x, self.gradient_class)    # runs the same forward again
        self.canvas_image.set_data(self.sheet.image())
        self.input_image.set_data(self.input[:, :, 0])
        g = self.gradient[:, :, 0]
        limit = max(float(np.abs(g).max()), 1e-12)
        self.grad_image.set_data(g)
        self.grad_image.set_clim(-limit, limit)
        self.ax_grad.set_title(f"dL/d(input), L = -log p({self.gradient_class})\nblue: ink here raises "
                               f"p({self.gradient_class})", fontsize=8)
        for k, image in self.map_images.items():
            maps = self.outputs[k][0]
            cmap, low, high = _limits(maps)
            image.set_data(mosaic(maps, self.map_columns[k]))
            image.set_cmap(cmap)
            image.set_clim(low, high)
            layer = layers[k]
            self.ax_maps[k].set_title(f"{layer.name} ({type(layer).__name__}): {maps.shape[-1]} maps of "
                                      f"{maps.shape[0]}x{maps.shape[1]}, range {maps.min():.2f} .. {maps.max():.2f}",
                                      fontsize=9)
        for k, image in self.vector_images.items():
            values = self.outputs[k][0]
            cmap, low, high = _limits(values)
            image.set_data(self._as_grid(values))
            image.set_cmap(cmap)
            image.set_clim(low, high)
            layer = layers[k]
            active = int(np.count_nonzero(values > 0))
            self.ax_vectors[k].set_title(f"{layer.name} ({type(layer).__name__}): {len(values)} units, "
                                         f"{active} above 0, max {values.max():.2f}", fontsize=9)
        for d, (bar, p) in enumerate(zip(self.bars, self.probabilities)):
            bar.set_height(float(p))
            bar.set_color("tab:orange" if d == self.answer else "tab:blue")
            bar.set_edgecolor("black" if d == self.gradient_class else "none")
            self.bar_labels[d].set_position((d, float(p) + 0.01))
            self.bar_labels[d].set_text(f"{p:.2f}")
        self.ax_probs.set_title(f"{layers[-1].name}: probabilities (click a bar: its gradient)", fontsize=9)
        if self.selection is None and self.map_layers:                         # something to show at once:
            k = self.map_layers[0]                                              # the strongest pixel of the
            if isinstance(layers[k], Conv2D):                                   # first conv's map
                i, j, f = np.unravel_index(int(np.argmax(self.outputs[k][0])), self.outputs[k][0].shape)
                self.selection = (k, int(f), int(i), int(j))
        self._show_selection()
        if blank:
            title = "Draw a digit: nothing drawn yet, the network sees a black image"
        else:
            title = f"The network sees a {self.answer} (p = {self.probabilities[self.answer]:.3f})"
        self.fig.suptitle(title + (f" · {self.status}" if self.status else ""), fontsize=13)
        self.fig.canvas.draw_idle()

    def _show_selection(self) -> None:
        if self.highlight is not None:
            self.highlight.remove()
            self.highlight = None
        if self.selection is None:
            self.selected = None
            self.numbers_text.set_text("click a pixel of a\nconv layer's maps")
            return
        from matplotlib.patches import Rectangle

        k, f, i, j = self.selection
        layer = self.model.layers[k]
        self.selected = conv_numbers(layer, f, i, j)
        s = self.selected
        kernel = s["kernel"]
        self.filter_image.set_data(kernel.sum(axis=2) if kernel.shape[2] > 1 else kernel[:, :, 0])
        limit = max(float(np.abs(kernel).max()), 1e-12)
        self.filter_image.set_clim(-limit, limit)
        self.ax_filter.set_title(f"filter {f} of {layer.name}", fontsize=8)
        self.numbers_text.set_text(self._numbers_table(s, layer))
        h, w = self.outputs[k][0].shape[:2]
        r, q = divmod(f, self.map_columns[k])
        self.highlight = self.ax_maps[k].add_patch(Rectangle(
            (q * (w + 1) + j - 0.5, r * (h + 1) + i - 0.5), 1, 1, fill=False, edgecolor="lime", linewidth=1.5))

    @staticmethod
    def _numbers_table(s: dict, layer) -> str:
        """The forward formula at one pixel, with the numbers: patch, kernel, products, sum + bias."""
        def grid(a):
            return [" ".join(f"{v:5.2f}" for v in row) for row in a]

        patch, kernel, products = s["patch"], s["kernel"], s["products"]
        channels = patch.shape[2]
        if channels > 1:                    # several input channels: each tap's products summed over them
            patch_rows = [f"({channels} channels)"] + [""] * (patch.shape[0] - 1)
            kernel_rows = [""] * patch.shape[0]
            products = products.sum(axis=2)
        else:
            patch_rows, kernel_rows = grid(patch[:, :, 0]), grid(kernel[:, :, 0])
            products = products[:, :, 0]
        width = max(len(row) for row in grid(products))
        lines = [f"{layer.name}, filter {s['filter']}, pixel (row {s['row']}, col {s['col']})",
                 f"{'patch x':<{width}}  {'kernel W':<{width}}  {'x * W':<{width}}"]
        for a, b, c in zip(patch_rows, kernel_rows, grid(products)):
            lines.append(f"{a:<{width}}  {b:<{width}}  {c:<{width}}")
        steps = [("sum of x * W", s["sum"]), (f"+ bias b[{s['filter']}]", s["bias"]), ("= z", s["z"]),
                 (f"{s['activation']}(z)", s["y"]), ("the map shows", s["shown"])]
        lines += [""] + [f"{label:<15} {value: .4f}" for label, value in steps]
        return "\n".join(lines)

    # --- what the user does --------------------------------------------------------------------------------
    def clear(self) -> None:
        """A blank sheet again (a loaded picture goes too)."""
        self._new_sheet(Sheet())
        self.status = ""
        self.update()

    def _new_sheet(self, sheet: Sheet) -> None:
        self.sheet = sheet
        h, w = sheet.base.shape
        self.canvas_image.set_data(sheet.image())
        self.canvas_image.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
        self.ax_canvas.set_xlim(-0.5, w - 0.5)
        self.ax_canvas.set_ylim(h - 0.5, -0.5)
        self.selection = None

    def undo(self) -> None:
        if self.sheet.undo():
            self.update()

    def load(self, path) -> None:
        """Put a picture on the canvas (the strokes are cleared); a file that cannot be read is reported
        in the title and changes nothing."""
        try:
            picture = digit_image.load_grey(Path(str(path).strip()))
        except (FileNotFoundError, ValueError) as error:
            self.status = f"cannot load: {error}"
            self.update()
            return
        self._new_sheet(Sheet(picture))
        self.status = f"loaded {Path(str(path).strip()).name}"
        self.update()

    def pick_class(self, digit: int | None) -> None:
        """The gradient's class: a digit, or None to follow the answer."""
        self.follow_answer = digit is None
        if digit is not None:
            self.gradient_class = int(digit)
        self.update()

    def on_press(self, event) -> None:
        if event.inaxes is self.ax_canvas and event.button == 1 and event.xdata is not None:
            self.drawing = True
            self.sheet.begin(event.ydata, event.xdata)
            self.canvas_image.set_data(self.sheet.image())
            self.fig.canvas.draw_idle()
        elif event.inaxes in self.ax_maps.values() and event.xdata is not None:
            k = next(key for key, ax in self.ax_maps.items() if ax is event.inaxes)
            if not isinstance(self.model.layers[k], Conv2D):
                return
            h, w, c = self.outputs[k][0].shape
            col, row = int(round(event.xdata)), int(round(event.ydata))
            (r, i), (q, j) = divmod(row, h + 1), divmod(col, w + 1)
            f = r * self.map_columns[k] + q
            if i < h and j < w and f < c:                      # not on the gap between two maps
                self.selection = (k, f, i, j)
                self._show_selection()
                self.fig.canvas.draw_idle()
        elif event.inaxes is self.ax_probs and event.xdata is not None:
            digit = int(round(event.xdata))
            if 0 <= digit < len(self.probabilities):
                self.pick_class(digit)

    def on_motion(self, event) -> None:
        if self.drawing and event.inaxes is self.ax_canvas and event.xdata is not None:
            self.sheet.extend(event.ydata, event.xdata)
            self.canvas_image.set_data(self.sheet.image())
            self.fig.canvas.draw_idle()

    def on_release(self, event) -> None:
        if self.drawing:
            self.drawing = False
            self.update()

    def on_key(self, event) -> None:
        if self.path_box.capturekeystrokes or event.key is None:  # typing a file name
            return
        if event.key == "n":
            self.clear()
        elif event.key in ("u", "ctrl+z"):
            self.undo()
        elif event.key == "i":
            self.load(self.path_box.text)
        elif event.key == "a":
            self.pick_class(None)
        elif event.key.isdigit() and int(event.key) < len(self.probabilities):
            self.pick_class(int(event.key))


# --- headless and windowed ---------------------------------------------------------------------------------
FIGSIZE = (16, 9)


def render(model, image=None, save_path=None, gradient_class: int | None = None):
    """The view for ``image`` (a picture file, an array, or None for a blank sheet) on an off-screen
    canvas; written to ``save_path`` (PNG, atomically) when given. Returns the DrawView."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    class OffscreenCanvas(FigureCanvasAgg):
        def draw_idle(self, *args, **kwargs):
            pass  # no screen to refresh after each event: the figure is drawn when it is saved

    fig = Figure(figsize=FIGSIZE)
    OffscreenCanvas(fig)
    picture = digit_image.load_grey(image) if image is not None else None
    view = DrawView(model, fig, picture)
    if gradient_class is not None:
        view.pick_class(gradient_class)
    if save_path is not None:
        save(fig, save_path)
    return view


def save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        fig.savefig(file, format="png", dpi=100)
    return path


class NoWindow(RuntimeError):
    """No window can open here: no display, or no GUI toolkit for matplotlib."""


def gui_backend() -> str:
    """The interactive matplotlib backend to open the window with; NoWindow (with the fix) if none."""
    import os
    import sys

    import matplotlib

    chosen = os.environ.get("MPLBACKEND", "")
    headless = chosen.lower() in ("agg", "pdf", "svg", "ps", "cairo", "template") or chosen.startswith("module://")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NoWindow("no display to open a window on (DISPLAY is not set): render to a file instead with "
                       "--image my.png --save view.png, or run it in a desktop session")
    if chosen and not headless:
        return chosen
    for backend in ("TkAgg", "QtAgg", "GTK4Agg", "GTK3Agg", "MacOSX", "WXAgg"):
        try:
            matplotlib.use(backend, force=True)
            return backend
        except (ImportError, ValueError):
            continue
    raise NoWindow("no GUI toolkit for matplotlib's window: install one (e.g. sudo apt-get install python3-tk, "
                   "or pip install PyQt6), or render to a file with --image my.png --save view.png")


def open_window(model, image_path=None, gradient_class: int | None = None, block: bool = True) -> DrawView:
    """Open the live window; with ``block`` (the command's way) return only once it is closed."""
    backend = gui_backend()
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use(backend, force=True)
    try:
        fig = plt.figure(figsize=FIGSIZE, num="scratchcnn draw")
    except Exception as error:  # e.g. Tk's "couldn't connect to display": say it in one line
        raise NoWindow(f"cannot open a window with {backend} ({str(error).splitlines()[0]}): render to a "
                       "file instead with --image my.png --save view.png") from None
    picture = digit_image.load_grey(image_path) if image_path is not None else None
    view = DrawView(model, fig, picture)
    if gradient_class is not None:
        view.pick_class(gradient_class)
    plt.show(block=block)
    return view
