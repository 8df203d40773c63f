"""Input: ``keras.Input(shape=(28, 28, 1))`` first in ``Sequential([...])``.

It only says what shape the images have (without the batch axis), so the model can build its weights at
once; it has no forward or backward, and, as in Keras, it is not a row of ``summary()``.
"""


class Input:
    def __init__(self, shape, batch_size=None, dtype=None, name: str | None = None):
        try:
            self.shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise ValueError(f"Input(shape=...) takes a tuple of sizes without the batch axis, e.g. (28, 28, 1); "
                             f"got {shape!r}") from None
        if not self.shape or min(self.shape) < 1:
            raise ValueError(f"Input shape sizes must be at least 1, got {self.shape}")
        self.name = name

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"
