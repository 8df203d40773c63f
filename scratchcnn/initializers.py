"""How a layer's weights start: Keras's initialisers, by the names Keras users write.

Each initialiser is called as ``init(shape, rng, dtype)`` and returns a new array; the generator is the
model's seeded one, so a run is reproducible. The variance-scaling ones look at the kernel's fans:

  Dense kernel (in, out):        fan_in = in,            fan_out = out
  Conv2D kernel (kh, kw, c, f):  fan_in = kh * kw * c,   fan_out = kh * kw * f
  a vector (n,):                 fan_in = fan_out = n

| name             | draws from                                   | with                               |
|------------------|----------------------------------------------|------------------------------------|
| 'glorot_uniform' | U(-limit, limit)                             | limit = sqrt(6 / (fan_in + fan_out)) |
| 'glorot_normal'  | truncated N(0, stddev)                       | stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796 |
| 'he_uniform'     | U(-limit, limit)                             | limit = sqrt(6 / fan_in)           |
| 'he_normal'      | truncated N(0, stddev)                       | stddev = sqrt(2 / fan_in) / 0.8796 |
| 'lecun_uniform'  | U(-limit, limit)                             | limit = sqrt(3 / fan_in)           |
| 'lecun_normal'   | truncated N(0, stddev)                       | stddev = sqrt(1 / fan_in) / 0.8796 |
| 'random_normal'  | N(mean, stddev)                              | mean 0, stddev 0.05                |
| 'random_uniform' | U(minval, maxval)                            | -0.05, 0.05                        |
| 'truncated_normal' | truncated N(mean, stddev)                  | mean 0, stddev 0.05                |
| 'zeros', 'ones'  | the constant                                 |                                    |

"Truncated" is Keras's rule: a draw more than two standard deviations from the mean is thrown away and
drawn again. Cutting the tails shrinks the spread by the factor 0.87962566 (the standard deviation of
N(0, 1) truncated to [-2, 2]), which is why the variance-scaling ones divide by it: the weights then
really have variance 2 / fan_in (he_normal) or 2 / (fan_in + fan_out) (glorot_normal).

Glorot uniform keeps the variance of activations and gradients about the same from layer to layer; it is
Keras's default for every kernel, and zeros for every bias. ``get(name_or_initializer)`` turns what a
user writes into one of these objects.
"""
import numpy as np

TRUNCATED_STDDEV = 0.87962566103423978   # the standard deviation of N(0, 1) cut to [-2, 2]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight array, as Keras counts them."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = int(np.prod(shape[:-2]))
    return receptive_field * shape[-2], receptive_field * shape[-1]


def truncated_normal(shape, rng: np.random.Generator, mean: float, stddev: float) -> np.ndarray:
    """N(mean, stddev) with every draw beyond two standard deviations drawn again (float64)."""
    z = rng.standard_normal(size=shape)
    outside = np.abs(z) > 2.0
    while outside.any():                                   # about 4.6% of draws each round
        z[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(z) > 2.0
    return mean + stddev * z


class Initializer:
    """``init(shape, rng, dtype) -> array``. ``name`` is the Keras name; ``get_config`` what a record keeps.
    Given a ``seed`` (as Keras's ``HeNormal(seed=42)``), an initialiser draws from its own generator
    seeded with it instead of the model's."""
    name = "initializer"
    seed = None

    def generator(self, rng: np.random.Generator) -> np.random.Generator:
        return np.random.default_rng(self.seed) if self.seed is not None else rng

    def __call__(self, shape, rng: np.random.Generator, dtype) -> np.ndarray:
        raise NotImplementedError

    def arguments(self) -> dict:
        """The constructor's arguments that differ from Keras's defaults."""
        return {} if self.seed is None else {"seed": self.seed}

    def get_config(self):
        """The Keras name when the arguments are the defaults, else {"class": name, argument: value, ...}."""
        arguments = self.arguments()
        return {"class": self.name, **arguments} if arguments else self.name

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.arguments().items())
        return f"{type(self).__name__}({arguments})"


class Zeros(Initializer):
    name = "zeros"

    def __call__(self, shape, rng, dtype):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    name = "ones"

    def __call__(self, shape, rng, dtype):
        return np.ones(shape, dtype=dtype)


class RandomNormal(Initializer):
    name = "random_normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        if not float(stddev) > 0:
            raise ValueError(f"{type(self).__name__} stddev must be > 0, got {stddev}")
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, rng, dtype):
        return self.generator(rng).normal(self.mean, self.stddev, size=shape).astype(dtype)

    def arguments(self):
        return {**{k: v for k, v in (("mean", self.mean), ("stddev", self.stddev))
                   if v != {"mean": 0.0, "stddev": 0.05}[k]}, **super().arguments()}


class TruncatedNormal(RandomNormal):
    name = "truncated_normal"

    def __call__(self, shape, rng, dtype):
        return truncated_normal(shape, self.generator(rng), self.mean, self.stddev).astype(dtype)


class RandomUniform(Initializer):
    name = "random_uniform"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        if not float(minval) < float(maxval):
            raise ValueError(f"RandomUniform needs minval < maxval, got {minval} and {maxval}")
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, rng, dtype):
        return self.generator(rng).uniform(self.minval, self.maxval, size=shape).astype(dtype)

    def arguments(self):
        return {**{k: v for k, v in (("minval", self.minval), ("maxval", self.maxval))
                   if v != {"minval": -0.05, "maxval": 0.05}[k]}, **super().arguments()}


class VarianceScaling(Initializer):
    """Weights with variance scale / fan, fan = fan_in (He, LeCun) or the mean of both fans (Glorot)."""
    scale, mode, distribution = 1.0, "fan_in", "truncated_normal"

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def __call__(self, shape, rng, dtype):
        rng = self.generator(rng)
        fan_in, fan_out = fans(tuple(shape))
        twice_fan = max(2.0, 2.0 * fan_in if self.mode == "fan_in" else float(fan_in + fan_out))
        if self.distribution == "uniform":           # U(-a, a) has variance a^2 / 3
            limit = np.sqrt(6.0 * self.scale / twice_fan)          # = sqrt(3 * scale / fan)
            return rng.uniform(-limit, limit, size=shape).astype(dtype)
        stddev = np.sqrt(2.0 * self.scale / twice_fan) / TRUNCATED_STDDEV
        return truncated_normal(shape, rng, 0.0, stddev).astype(dtype)


class GlorotUniform(VarianceScaling):
    name, scale, mode, distribution = "glorot_uniform", 1.0, "fan_avg", "uniform"


class GlorotNormal(VarianceScaling):
    name, scale, mode, distribution = "glorot_normal", 1.0, "fan_avg", "truncated_normal"


class HeUniform(VarianceScaling):
    name, scale, mode, distribution = "he_uniform", 2.0, "fan_in", "uniform"


class HeNormal(VarianceScaling):
    name, scale, mode, distribution = "he_normal", 2.0, "fan_in", "truncated_normal"


class LecunUniform(VarianceScaling):
    name, scale, mode, distribution = "lecun_uniform", 1.0, "fan_in", "uniform"


class LecunNormal(VarianceScaling):
    name, scale, mode, distribution = "lecun_normal", 1.0, "fan_in", "truncated_normal"


_BY_NAME = {cls.name: cls for cls in (Zeros, Ones, RandomNormal, TruncatedNormal, RandomUniform,
                                      GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
                                      LecunNormal)}


def get(identifier) -> Initializer:
    """A Keras name ('he_normal'), its class name ('HeNormal'), a record from ``get_config`` or an
    Initializer -> the Initializer object."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict) and identifier.get("class") in _BY_NAME:
        arguments = {k: v for k, v in identifier.items() if k != "class"}
        return _BY_NAME[identifier["class"]](**arguments)
    if isinstance(identifier, str):
        by_class_name = {cls.__name__.lower(): cls for cls in _BY_NAME.values()}
        cls = _BY_NAME.get(identifier.lower()) or by_class_name.get(identifier.lower())
        if cls is not None:
            return cls()
    raise ValueError(f"unknown initializer {identifier!r}: use one of {sorted(_BY_NAME)} "
                     "or an object from scratchcnn.initializers")


def glorot_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
    return GlorotUniform()(shape, rng, dtype)


def zeros(shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)
