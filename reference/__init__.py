"""Naive twins of the fast code, written loop by loop straight from the math, for reading and for tests.

Every function here takes the same arguments and returns the same values as its fast counterpart:

    reference/conv.py    <->  scratchcnn/kernels/conv.py   (convolution forward; input, kernel, bias grads)
    reference/pool.py    <->  scratchcnn/kernels/pool.py   (max pooling forward with argmax, backward)
    reference/conv_pool.py <-> scratchcnn/kernels/conv_pool.py (conv + max-pool as one step, both ways)
    reference/adam.py    <->  scratchcnn/kernels/adam.py   (one Adam update)
    reference/rmsprop.py <->  scratchcnn/kernels/rmsprop.py (one RMSprop update, with or without momentum)
    reference/sgd.py     <->  scratchcnn/kernels/sgd.py    (one SGD update: plain, momentum, Nesterov)
    reference/losses.py  <->  scratchcnn/losses.py         (categorical cross-entropy, both forms)
    reference/layers.py  <->  scratchcnn/layers/*.py, scratchcnn/losses.py
                               (dense, flatten, dropout, relu, softmax, sparse cross-entropy)

(``compare/`` beside them is something else: the original Keras tutorial, kept for a test, and the
scripts that time scratchcnn against other frameworks through its public API.)

They are slow on purpose: plain Python loops over output positions, so each line reads like the formula
in the docstring. ``tests/test_kernels_vs_reference.py`` holds the fast code to them.
This folder is not part of the installed package; import it from the repository root.
"""
