"""The layers, in the order the tutorial's data meets them: Conv2D -> MaxPooling2D -> Flatten -> Dense ->
Dropout -> Dense; then the ones the next tutorials use (AveragePooling2D, GlobalAveragePooling2D,
BatchNormalization). Each file holds one layer, its forward and backward math in the docstring."""
from .activation import Activation, ReLU, Softmax
from .avgpool2d import AveragePooling2D
from .base import Layer
from .batchnorm import BatchNormalization
from .conv2d import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .global_avgpool import GlobalAveragePooling2D
from .input import Input
from .maxpool2d import MaxPooling2D

__all__ = ["Input", "Layer", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "Activation", "ReLU", "Softmax",
           "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization"]
