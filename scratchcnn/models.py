"""``scratchcnn.models``: where ``Sequential`` lives under its Keras path (``keras.models.Sequential``), and
``load_model``, which rebuilds one from a weights file."""
from .model import History, Sequential

__all__ = ["Sequential", "History", "load_model"]


def load_model(path) -> Sequential:
    """The Sequential a weights file (``model.save_weights(path)``) was saved from: the layers its
    architecture record names, with its weights, built at the input shape it records.

    Like ``keras.models.load_model``, except that the file keeps no optimizer or loss: compile the model
    before training or evaluating it (``predict`` needs nothing more). Every scratchcnn layer records the
    arguments that shape it (``get_config``), so any Sequential of scratchcnn's layers comes back; a model
    with a layer of your own cannot be rebuilt from the record alone: build it in Python and call
    ``load_weights``. The file is checked as ``load_weights`` checks it (weights_file.py) before any weight
    is read."""
    from . import layers as built_in
    from . import weights_file

    record = weights_file.inspect(path).architecture    # schema-checked: only scratchcnn's layer classes
    made = []
    for i, config in enumerate(record["layers"]):
        layer_class = getattr(built_in, config["class"])
        try:
            made.append(layer_class(**{key: value for key, value in config.items() if key != "class"}))
        except (TypeError, ValueError) as error:
            raise weights_file.WeightsFileError(f"{path}: layer {i} ({config['class']}) cannot be rebuilt from "
                                                f"the record ({error}): the file is damaged") from None
    model = Sequential(made)
    model.load_weights(path)   # builds the model at the recorded input shape, once every check has passed
    return model
