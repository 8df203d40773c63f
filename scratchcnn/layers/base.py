"""What every layer promises to its neighbours (the model and the optimizer): the one layer interface.

    build(input_shape, dtype, rng) -> output_shape   create the weights once the input shape is known
    compute_output_shape(input_shape) -> shape       the shape walk, raising ValueError where it cannot work
    forward(x, training) -> y                         keep in ``self`` only what backward needs, under the
                                                      names in ``kept``; forget() drops them (predict and
                                                      evaluate do, step by step: inference needs none)
    infer(x, overwrite_input) -> y                    forward(x, training=False) keeping nothing, for predict and
                                                      evaluate (no backward follows); the default is forward then
                                                      forget(). Conv2D and Dense write y over z; Activation and
                                                      BatchNormalization write y over x when the plan says that
                                                      x is theirs to overwrite
    backward(dy) -> dx                                fill ``self.grads``, return dL/dx; a layer may skip dx and
                                                      return None when ``needs_input_grad`` is False (the model
                                                      says so for its first layer: nobody needs dL/dimages)
    params / grads                                    trainable arrays and their gradients, in Keras order
    non_trainable                                     state that is not trained (BatchNormalization's moving
                                                      statistics): saved with the weights, never seen by the
                                                      optimizer; get_weights() is params + non_trainable
    kinks(x) -> (signature, distance)                 for the gradient checker, after forward(x): what decides
                                                      which smooth piece the layer is on (relu's on/off pattern,
                                                      max pooling's winners) and how far x is from a kink
    get_config() -> dict                              what defines the architecture (saved with the weights)

A layer whose output passes through an activation (Conv2D, Dense, Activation) also has
``backward_logits(dz)``: its backward from dL/dz, the gradient before the activation. Its ``backward(dy)``
is ``backward_logits(activation.backward(z, y, dy))``; the model's softmax + cross-entropy head calls
``backward_logits`` itself (scratchcnn/plan.py).

Shapes exclude the batch axis: a Conv2D on MNIST has input_shape (28, 28, 1). Layers never import each
other; the model's plan knows their order and the optimizer knows only the arrays in ``params``/``grads``.
To write a layer of your own, subclass ``Layer`` and fill in the methods above (docs/write-a-layer.md).
"""
import math

import numpy as np


class Layer:
    kept: tuple[str, ...] = ()  # the attributes forward fills for backward (arrays the size of a batch)

    def __init__(self, name: str | None = None, input_shape: tuple[int, ...] | None = None):
        self.name = name
        self.input_shape = tuple(input_shape) if input_shape is not None else None  # without batch axis
        self.output_shape: tuple[int, ...] | None = None
        self.built = False
        self.params: list[np.ndarray] = []         # trained: the optimizer updates these in place
        self.grads: list[np.ndarray] = []          # parallel to params, filled by backward
        self.non_trainable: list[np.ndarray] = []  # state, not trained, saved with the weights
        self.dtype = np.dtype("float32")
        # The model turns this off for its first layer: nobody needs d(loss)/d(images).
        self.needs_input_grad = True

    # --- the interface ---------------------------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...], dtype=np.float32, rng: np.random.Generator | None = None):
        self.input_shape = tuple(input_shape)
        self.dtype = np.dtype(dtype)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.grads = [np.zeros_like(p) for p in self.params]
        self.built = True
        return self.output_shape

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def infer(self, x: np.ndarray, overwrite_input: bool = False) -> np.ndarray:
        """forward(x, training=False) when no backward will follow (plan.infer: predict, evaluate, model(x)):
        the output alone, nothing kept. A layer may override it to save memory, never to change a number.
        ``overwrite_input``: the plan's word that x is a C-contiguous array nobody else holds (the new output
        of the Conv2D or Dense before), so the output may be written over it; this default ignores it."""
        y = self.forward(x, training=False)
        self.forget()
        return y

    def forget(self) -> None:
        """Let go of what forward kept for backward. In predict, evaluate and model(x) the plan calls it as soon
        as the layer's step has run (plan.infer), so a batch's maps are not all held at once, nor afterwards."""
        for name in self.kept:
            setattr(self, name, None)

    def kinks(self, x: np.ndarray) -> tuple[list[np.ndarray], float]:
        """After ``forward(x)``: (what decides the smooth piece, distance of x to the nearest kink).
        A smooth layer has none: ([], inf)."""
        return [], math.inf

    # --- weights, Keras style --------------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """Every array that defines the layer, in Keras order: the trained ones, then the state."""
        return self.params + self.non_trainable

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.weights]

    def check_weights(self, weights: list[np.ndarray]) -> None:
        """Raise ValueError unless ``weights`` fit this layer: as many arrays as it has, same shapes."""
        if len(weights) != len(self.weights):
            raise ValueError(f"layer {self.name!r} has {len(self.weights)} weight arrays, got {len(weights)}")
        for mine, new in zip(self.weights, weights):
            if np.shape(new) != mine.shape:
                raise ValueError(f"layer {self.name!r}: weight of shape {mine.shape} cannot take an array "
                                 f"of shape {np.shape(new)}")

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.check_weights(weights)  # all of them first: a wrong one changes nothing
        for mine, new in zip(self.weights, weights):
            mine[...] = new  # in place: the optimizer keeps references to these arrays

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    def count_trainable_params(self) -> int:
        return int(sum(p.size for p in self.params))

    def get_config(self) -> dict:
        """What defines the layer's architecture (saved with weights, compared on load)."""
        return {"class": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Pooling2D(Layer):
    """What MaxPooling2D and AveragePooling2D share: Keras's arguments (pool_size, strides defaulting to
    pool_size, 'valid' or 'same' padding), the shape walk and the 'same' padding amounts (``self.pads``).
    Each pooling layer adds only its forward and backward, and names itself in ``kind`` (its messages and
    its architecture record say that name)."""
    kind = "Pooling2D"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid", input_shape=None,
                 name: str | None = None):
        super().__init__(name=name, input_shape=input_shape)
        kind = self.kind
        if padding not in ("valid", "same"):
            raise ValueError(f"{kind} padding must be 'valid' or 'same', got {padding!r}")
        self.pool_size = pair(pool_size, f"{kind} pool_size")
        self.strides = pair(strides, f"{kind} strides") if strides is not None else self.pool_size
        self.padding = padding

    def compute_output_shape(self, input_shape):
        kind = self.kind
        if len(input_shape) != 3:
            raise ValueError(f"{kind} {self.name!r} needs images of shape (height, width, channels), "
                             f"got input shape {input_shape}")
        (h, w, c), (ph, pw), (sh, sw) = input_shape, self.pool_size, self.strides
        if self.padding == "same":
            return (-(-h // sh), -(-w // sw), c)
        if h < ph or w < pw:
            raise ValueError(f"{kind} {self.name!r}: input {h}x{w} is smaller than the {ph}x{pw} pool"
                             + self._too_small_hint)
        return ((h - ph) // sh + 1, (w - pw) // sw + 1, c)

    _too_small_hint = ""  # a layer may add advice to that message

    def build(self, input_shape, dtype=np.float32, rng=None):
        self.compute_output_shape(tuple(input_shape))        # refuse a bad shape before changing anything
        h, w = input_shape[0], input_shape[1]
        if self.padding == "same":
            self.pads = (same_padding(h, self.pool_size[0], self.strides[0]),
                         same_padding(w, self.pool_size[1], self.strides[1]))
        else:
            self.pads = ((0, 0), (0, 0))
        return super().build(input_shape, dtype, rng)

    def get_config(self):
        return {"class": self.kind, "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


def pair(value, what: str) -> tuple[int, int]:
    """Keras lets sizes be an int or a pair: 3 -> (3, 3)."""
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 1:
        raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return value


def same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """'same' padding: output = ceil(size / stride); the extra row/column goes at the bottom/right."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2
