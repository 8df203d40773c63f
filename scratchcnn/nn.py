"""``scratchcnn.nn``: the activation functions under the names ``tf.nn`` uses, so tutorial code that
writes ``Dense(128, activation=tf.nn.relu)`` ports by changing the import only."""
from .activations import linear, relu, sigmoid, softmax, tanh

__all__ = ["linear", "relu", "softmax", "tanh", "sigmoid"]
