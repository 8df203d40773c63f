"""The plan: what a model runs, step by step. Built once from the layers and the loss; ``fit``,
``evaluate``, ``predict``, ``scratchcnn bench`` and the gradient checker all walk it, and nothing else
decides what runs.

    y = plan.forward(x, training)        each step's forward, in order
    y = plan.infer(x)                    the same in inference mode, each step but the last through its
                                         ``infer``, which keeps nothing (the last step's arrays stay:
                                         evaluate's loss reads the head's logits)
    loss, grad = plan.loss(y, targets)   the loss and its gradient, from the head
    plan.backward(grad)                  each step's backward, in reverse: every layer fills its grads

A step is usually one layer running its own ``forward`` and ``backward`` (``LayerStep``). Four places get a
fused step, which does the work of its layers in one go and leaves in them what their own code would have:

- ``ConvPoolStep``: a Conv2D whose output goes straight into a 2x2 MaxPooling2D (the tutorial's pair).
  Unfused, the conv writes its whole map (N, 26, 26, 28), the pool reads it back and, on the way back,
  spreads its gradient over that map, three quarters of it zeros. Fused (kernels/conv_pool.py), each
  pooling window is computed whole, its four conv outputs in registers, and the conv's gradients come
  straight from the pool's winners: the same numbers up to float rounding, in about a third of the time.
- ``BlockConvPoolStep``: a Conv2D on the im2col road (a patch of 24 numbers or more, kernels/conv.py)
  followed by a MaxPooling2D whose windows do not overlap, such as the second pair of Keras's MNIST
  convnet. The conv computes a block of a few images at a time; each block is pooled as soon as its conv
  outputs exist, while they are in cache. On the way back each pooled gradient goes from its window's
  winner straight into the kernel and input gradients, skipping the zeros of dz that the unfused conv
  multiplies. The conv map (4 MB at batch 128 there) is never stored whole.
- ``BatchNormReluStep``: a BatchNormalization followed by a relu layer (Keras's Conv2D -> BatchNormalization
  -> Activation('relu')). The relu is applied as each value is normalised and its gradient is read
  inside the normalisation's backward passes: two passes over the map fewer each way. The same bits.
  In inference, after a Conv2D, it writes y over the conv's map instead of holding a second one (below).
- ``SoftmaxCrossEntropyStep``: a last layer ending in softmax under a cross-entropy loss given
  probabilities. The loss is computed from the logits z behind the softmax (stable: no log of a clipped
  probability) and the softmax's Jacobian cancels into dL/dz = (p - y) / N, which goes straight to the
  layer's ``backward_logits``. Keras does the same with the logits it keeps behind a softmax output.

In ``predict`` and ``evaluate`` (``plan.infer``) no backward follows, and arrays only a backward would read
may be overwritten: Conv2D and Dense write their activation over z, and the step after a Conv2D or Dense,
whose output is a new array nobody else holds, may write its own output over that array (an Activation,
a BatchNormalization, BatchNormalization + relu). The plan grants this where it builds the steps
(``step.overwrite_input``), never for the caller's images.

A fused step is chosen by exact type and configuration (``type(layer) is Conv2D``), never for a subclass:
a layer you derive from Conv2D or MaxPooling2D runs its own forward and backward, whatever it changes.
``model.summary()`` lists the fused steps; ``model.fuse = False`` (``scratchcnn train --no-fuse``) runs
every layer's own code, and the tests check that both ways give the same numbers.

Why step objects and not a switch inside the layers: the conv + pool step spans two layers, which no
single layer may reach into; a step is a small object named where the model is planned, like CS231n's
"sandwich" layers, and each layer file still holds the plain path a learner reads.
"""
import numpy as np

from .kernels import conv2d_pool_backward, conv2d_pool_forward, conv_pool_backward, conv_pool_forward
from .kernels.conv import uses_matmul
from .layers import Activation, BatchNormalization, Conv2D, Dense, MaxPooling2D, ReLU, Softmax
from .losses import CategoricalCrossentropy, SparseCategoricalCrossentropy


class Step:
    """What every step has: ``layers``, ``forward(x, training)``, ``backward(dy)``, and ``infer(x)``, its
    forward in inference mode keeping nothing (by default: forward, then each layer forgets).
    ``overwrite_input`` is set by the plan: True when the step before is a Conv2D or Dense, whose infer
    returns a new array nobody else holds, so this step's infer may write its output over it."""
    overwrite_input = False

    def infer(self, x):
        y = self.forward(x, training=False)
        self.forget()
        return y

    def forget(self):
        """Each of the step's layers lets go of what its forward kept for a backward."""
        for layer in self.layers:
            layer.forget()


class LayerStep(Step):
    """One layer, its own code."""
    fused = False

    def __init__(self, layer):
        self.layers = [layer]

    def forward(self, x, training):
        return self.layers[0].forward(x, training=training)

    def infer(self, x):
        return self.layers[0].infer(x, overwrite_input=self.overwrite_input)

    def backward(self, dy):
        return self.layers[0].backward(dy)


class ConvPoolStep(Step):
    """Conv2D -> MaxPooling2D as one step: pool(conv(x)) without storing the conv's map."""
    fused = True
    what = "Conv2D + MaxPooling2D in one pass, the conv map never stored (kernels/conv_pool.py)"

    @staticmethod
    def accepts(conv, pool) -> bool:
        """A stride-1 Conv2D (no activation, or relu) that needs no input gradient (the first layer),
        followed by a MaxPooling2D with 2x2 windows, stride 2 and 'valid' padding: the tutorial's pair."""
        return (type(conv) is Conv2D and type(pool) is MaxPooling2D
                and conv.strides == (1, 1) and conv.activation.name in ("linear", "relu")
                and not conv.needs_input_grad
                and pool.pool_size == pool.strides == (2, 2) and pool.padding == "valid")

    def __init__(self, conv, pool):
        self.layers = [conv, pool]

    def forward(self, x, training):
        """When training, keep in the layers what the backward needs (conv.x_padded, pool.y, pool.argmax);
        in inference the pool's argmax is not even made."""
        conv, pool = self.layers
        conv.x_padded = conv._pad(x)
        relu = conv.activation.name == "relu"  # max(relu(z)) = relu(max(z)): relu after pooling, on 4x less
        pool.y, pool.argmax = conv_pool_forward(conv.x_padded, conv.kernel, conv.bias, relu, keep_argmax=training)
        pool.padded_shape = (x.shape[0], *conv.output_shape)
        return pool.y

    def backward(self, dy):
        """Fill conv.grads from dy = dL/d(pool output) (N, PH, PW, F); the conv needs no input gradient."""
        conv, pool = self.layers
        relu = conv.activation.name == "relu"  # no gradient where relu(max z) is flat, i.e. the max is <= 0
        dw, db = conv_pool_backward(conv.x_padded, dy, pool.argmax, pool.y, relu, conv.kernel_size,
                                    pool.pool_size)
        conv.grads[0][...] = dw
        if conv.use_bias:                      # Conv2D(use_bias=False) has no bias gradient to fill
            conv.grads[1][...] = db
        return None


class BlockConvPoolStep(Step):
    """Conv2D (im2col road) -> MaxPooling2D with non-overlapping windows, block by block."""
    fused = True
    what = "Conv2D + MaxPooling2D block by block, the backward from the pool's winners (kernels/conv.py)"

    @staticmethod
    def accepts(conv, pool) -> bool:
        """A built Conv2D (no activation, or relu) whose patches take the im2col road, any stride and
        padding, followed by a MaxPooling2D with pool_size == strides and 'valid' padding."""
        return (type(conv) is Conv2D and type(pool) is MaxPooling2D and conv.built
                and uses_matmul(conv.kernel.shape, conv.strides) and conv.activation.name in ("linear", "relu")
                and pool.pool_size == pool.strides and pool.padding == "valid")

    def __init__(self, conv, pool):
        self.layers = [conv, pool]

    def forward(self, x, training):
        conv, pool = self.layers
        conv.x_padded = conv._pad(x)
        relu = conv.activation.name == "relu"
        pool.y, pool.argmax = conv2d_pool_forward(conv.x_padded, conv.kernel, conv.bias, conv.strides, relu,
                                                  pool.pool_size, keep_argmax=training)
        pool.padded_shape = (x.shape[0], *conv.output_shape)
        return pool.y

    def backward(self, dy):
        conv, pool = self.layers
        relu = conv.activation.name == "relu"
        dw, db, dx_padded = conv2d_pool_backward(conv.x_padded, dy, pool.argmax, pool.y, relu, conv.kernel,
                                                 conv.strides, input_grad=conv.needs_input_grad)
        conv.grads[0][...] = dw
        if conv.use_bias:
            conv.grads[1][...] = db
        return None if dx_padded is None else conv._crop(dx_padded)


class BatchNormReluStep(Step):
    """BatchNormalization -> relu (an Activation('relu') or ReLU layer) as one step."""
    fused = True
    what = "BatchNormalization + relu in one pass each way (kernels/batchnorm.py)"

    @staticmethod
    def accepts(norm, act) -> bool:
        return type(norm) is BatchNormalization and type(act) in (Activation, ReLU) and act.activation.name == "relu"

    def __init__(self, norm, act):
        self.layers = [norm, act]

    def forward(self, x, training):
        """y = max(x * scale + shift, 0), written once; the relu layer keeps y (its backward needs only y > 0)."""
        norm, act = self.layers
        act.z, act.y = None, norm._normalize(x, training, relu=True)
        return act.y

    def infer(self, x):
        """forward in inference mode keeping nothing; y written over x when the plan says x is ours to
        overwrite (a Conv2D's fresh output: at batch 1,000 after a 28x28x32 conv, 100 MB not held twice)."""
        norm, act = self.layers
        y = norm._normalize(x, False, relu=True, out=x if self.overwrite_input else None)
        self.forget()
        return y

    def backward(self, dy):
        norm, act = self.layers
        return norm._gradients(dy, relu_output=act.y)


class SoftmaxCrossEntropyStep(Step):
    """The last layer (ending in softmax) and the cross-entropy loss as one step, from the logits."""
    fused = True
    what = "softmax + cross-entropy from the logits, dL/dz = (p - y) / N"

    @staticmethod
    def accepts(layer, loss) -> bool:
        return (type(layer) in (Dense, Activation, Softmax) and layer.activation.name == "softmax"
                and type(loss) in _CROSSENTROPY and not loss.from_logits)

    def __init__(self, layer, loss):
        self.layers = [layer]
        self.loss_fn = loss

    def forward(self, x, training):
        return self.layers[0].forward(x, training=training)   # the probabilities; the layer keeps z

    def loss(self, output, y):
        return self.loss_fn.forward_backward_logits(self.layers[0].z, y)   # (loss, dL/dz)

    def backward(self, dz):
        return self.layers[0].backward_logits(dz)


_CROSSENTROPY = (SparseCategoricalCrossentropy, CategoricalCrossentropy)


class Plan:
    def __init__(self, layers, loss=None, fuse: bool = True):
        self.loss_fn = loss
        self.steps = []
        k = 0
        while k < len(layers):
            if fuse and k + 1 < len(layers) and ConvPoolStep.accepts(layers[k], layers[k + 1]):
                self.steps.append(ConvPoolStep(layers[k], layers[k + 1]))
                k += 2
            elif fuse and k + 1 < len(layers) and BlockConvPoolStep.accepts(layers[k], layers[k + 1]):
                self.steps.append(BlockConvPoolStep(layers[k], layers[k + 1]))
                k += 2
            elif fuse and k + 1 < len(layers) and BatchNormReluStep.accepts(layers[k], layers[k + 1]):
                self.steps.append(BatchNormReluStep(layers[k], layers[k + 1]))
                k += 2
            elif fuse and k == len(layers) - 1 and SoftmaxCrossEntropyStep.accepts(layers[k], loss):
                self.steps.append(SoftmaxCrossEntropyStep(layers[k], loss))
                k += 1
            else:
                self.steps.append(LayerStep(layers[k]))
                k += 1
        for before, step in zip(self.steps, self.steps[1:]):
            # A Conv2D's or Dense's infer returns a new array that nothing else holds (never the caller's x,
            # never a view of a weight): in inference the next step may write its output over it.
            step.overwrite_input = type(before) is LayerStep and type(before.layers[0]) in (Conv2D, Dense)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for step in self.steps:
            x = step.forward(x, training)
        return x

    def infer(self, x: np.ndarray) -> np.ndarray:
        """forward(x, training=False) for predict and evaluate, holding no more than a step's input and output:
        no backward follows, so each step but the last runs its ``infer``, which keeps nothing (at batch 1,000
        a 28x28x32 map is 100 MB, and a network holds several). The last step keeps its arrays: evaluate's
        loss reads the head's logits; the caller forgets them after."""
        for step in self.steps[:-1]:
            x = step.infer(x)
        return self.steps[-1].forward(x, False)

    def loss(self, output: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, the gradient the last step's backward takes)."""
        last = self.steps[-1]
        if isinstance(last, SoftmaxCrossEntropyStep):
            return last.loss(output, y)
        return self.loss_fn.forward_backward(output, y)

    def backward(self, grad: np.ndarray) -> None:
        for step in reversed(self.steps):
            grad = step.backward(grad)

    def forget(self) -> None:
        """Every layer lets go of what its forward kept for a backward."""
        for step in self.steps:
            step.forget()

    def describe(self) -> list[str]:
        """One line per fused step, for summary(): 'conv2d + max_pooling2d: Conv2D + MaxPooling2D in ...'."""
        lines = []
        for step in self.steps:
            if step.fused:
                names = " + ".join(layer.name for layer in step.layers)
                loss = " (+ loss)" if isinstance(step, SoftmaxCrossEntropyStep) else ""
                lines.append(f"{names}{loss}: {step.what}")
        return lines
