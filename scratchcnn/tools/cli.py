"""The ``scratchcnn`` command: train the tutorial network, check the gradients, evaluate saved weights.

    scratchcnn train                 the tutorial: 10 epochs of batch 32 on MNIST, then the test score
    scratchcnn train --dataset digits --epochs 20    the same network on scikit-learn's 8x8 digits (offline)
    scratchcnn evaluate --weights runs/mnist/model.weights.npz
    scratchcnn plot --run runs/mnist  a trained run's figures: curves, confusion matrix, filters, feature maps
    scratchcnn predict my_digit.png --show steps.png    the digit in your own picture, and how it was prepared
    scratchcnn gradcheck             every analytic gradient against central differences

Errors a user can cause print one line, ``scratchcnn: error: ...`` naming the file and the fix, and exit
with the status of their kind (``EXIT_STATUS``, docs/errors.md): 1 for bad data, weights or pictures, 2 for
bad options, 74 when the file system refuses (permissions, read-only, full disk), 71 out of memory, 130
Ctrl-C. ``--debug`` shows the traceback instead.
"""
import argparse
import errno
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..files import write_json


def _add_data_args(parser: argparse.ArgumentParser, default_dataset: str | None = "mnist") -> None:
    default = f"default: {default_dataset}" if default_dataset else "default: the run's own, from history.json"
    parser.add_argument("--dataset", choices=("mnist", "fashion_mnist", "digits"), default=default_dataset,
                        help="mnist (downloaded once, or read from --data-dir) or scikit-learn's bundled "
                             f"8x8 digits (no download); {default}")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the four MNIST .gz files (default: $SCRATCHCNN_DATA, else the "
                             "per-user cache, downloading what is missing)")
    parser.add_argument("--offline", action="store_true",
                        help="never download: fail with a message if the MNIST files are missing")


def _cmd_train(args) -> int:
    from .. import tutorial
    from ..callbacks import ModelCheckpoint, TrainingInterrupted

    (x_train, y_train), (x_test, y_test) = tutorial.load_dataset(args.dataset, args.data_dir,
                                                                    download=not args.offline)
    model = tutorial.build_model(input_shape=x_train.shape[1:], seed=args.seed)
    model.fuse = args.fuse
    model.summary()
    print(f"Training on {len(x_train):,} {args.dataset} images, testing on {len(x_test):,} "
          f"(seed {args.seed}, batch {args.batch_size}, {args.epochs} epochs)", flush=True)
    out = args.output if args.output is not None else Path("runs") / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = ModelCheckpoint(out / "model.weights.npz")  # the last completed epoch is always on disk
    try:
        history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                            validation_data=(x_test, y_test) if args.validate else None, verbose=args.verbose,
                            callbacks=[checkpoint])
    except TrainingInterrupted as stop:  # Ctrl-C: fit finished its batch and kept the last completed epoch
        if not stop.epochs_completed:
            print("\nscratchcnn: interrupted during epoch 1; no epoch was completed, so no weights were saved",
                  file=sys.stderr)
            return 130
        write_json(out / "history.json", {  # the epochs behind the saved weights, not an older run's
            "dataset": args.dataset, "seed": args.seed, "epochs": args.epochs, "batch_size": args.batch_size,
            "interrupted_in_epoch": stop.epoch, "epochs_completed": stop.epochs_completed,
            "test_loss": None, "test_accuracy": None, "seconds_per_epoch": stop.history.epoch_seconds,
            "history": stop.history.history, "validation": "test set" if args.validate else None})
        when = "after" if stop.epochs_completed == stop.epoch else "during"
        print(f"\nscratchcnn: interrupted {when} epoch {stop.epoch}; the weights of epoch {stop.epochs_completed} "
              f"are in {checkpoint.last_saved}", file=sys.stderr)
        return 130
    del x_train, y_train  # 188 MB of MNIST: not needed for the scores and figures below (peak memory)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    seconds = history.epoch_seconds
    print(f"Test loss: {test_loss:.4f} - test accuracy: {test_accuracy:.4f}")
    if seconds:
        print(f"Seconds per epoch: {np.median(seconds):.1f} (median of {len(seconds)}; "
              f"first {seconds[0]:.1f}, includes numba compilation on a first run)")

    model.save_weights(out / "model.weights.npz")
    results = {"dataset": args.dataset, "seed": args.seed, "epochs": args.epochs,
               "batch_size": args.batch_size, "test_loss": test_loss, "test_accuracy": test_accuracy,
               "seconds_per_epoch": seconds, "history": history.history,
               "validation": "test set" if args.validate else None}
    write_json(out / "history.json", results)
    from . import report  # matplotlib and scikit-learn load only now, after the training set is gone

    written = report.write_report(model, x_test, y_test, out, results)
    print(f"Wrote {out / 'model.weights.npz'}, {out / 'history.json'} and, beside them, "
          f"{', '.join(path.name for path in written)}")
    return 0


def _saved_model_and_test_set(weights: Path, dataset: str, args):
    """The tutorial network with saved weights, and the test set of ``dataset`` to look at it with."""
    from .. import tutorial

    _, (x_test, y_test) = tutorial.load_dataset(dataset, args.data_dir, download=not args.offline)
    model = tutorial.build_model(input_shape=x_test.shape[1:])
    model.load_weights(weights)
    return model, x_test, y_test


def _cmd_evaluate(args) -> int:
    if not args.weights.is_file():  # before loading (or downloading) any data
        raise FileNotFoundError(f"no weights file at {args.weights}: train first (scratchcnn train) or fix "
                                "--weights")
    model, x_test, y_test = _saved_model_and_test_set(args.weights, args.dataset, args)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"Test loss: {loss:.4f} - test accuracy: {accuracy:.4f} ({len(x_test):,} {args.dataset} images)")
    return 0


def _cmd_plot(args) -> int:
    from . import report

    if not args.run_dir.is_dir():
        raise FileNotFoundError(f"no run folder at {args.run_dir}: give the folder 'scratchcnn train' wrote")
    history_file = args.run_dir / "history.json"
    results = json.loads(history_file.read_text()) if history_file.exists() else None
    dataset = args.dataset or (results or {}).get("dataset", "mnist")
    model, x_test, y_test = _saved_model_and_test_set(args.run_dir / "model.weights.npz", dataset, args)
    out = args.output if args.output is not None else args.run_dir
    if results is None:
        print(f"No {history_file}: drawing everything but the training curves")
    written = report.write_report(model, x_test, y_test, out, results)
    print(f"Wrote {', '.join(path.name for path in written)} in {out}")
    return 0


def _cmd_predict(args) -> int:
    from .. import tutorial
    from . import digit_image

    model = tutorial.build_model()
    model.load_weights(args.weights)
    digit, probabilities = digit_image.predict_digit(model, args.image)
    print(f"Predicted digit: {digit}")
    for d, p in enumerate(probabilities):
        print(f"  {d}  {p:.4f}  {'#' * round(30 * float(p))}".rstrip())
    if args.show is not None:
        from . import plots

        plots.plot_digit_prediction(digit_image.preparation_steps(args.image), probabilities, args.show)
        print(f"Wrote {args.show}")
    return 0


def _cmd_gradcheck(args) -> int:
    from .. import gradcheck

    if args.layer is not None:  # a layer of the user's: module:Name (docs/write-a-layer.md)
        gradcheck.load_layer(args.layer)  # a bad name fails here, in one line
        checks = gradcheck.user_layer_checks(args.layer, args.input_shape)
    else:
        checks = gradcheck.suite_checks()
    results = [result for check in checks for result in check.run()]
    print(gradcheck.format_table(results))
    return 0 if all(r.passed for r in results) else 1


def _cmd_bench(args) -> int:
    from . import bench

    print(bench.run(compile_time=not args.no_compile_time, plot_path=args.plot, network=args.model))
    return 0


def positive_int(text: str) -> int:
    """argparse type: an int of at least 1 (so train's own usage line is printed on a bad value)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _shape(text: str) -> tuple[int, ...]:
    """argparse type: '6,6,3' -> (6, 6, 3)."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"give sizes separated by commas, e.g. 6,6,3; got {text!r}") from None
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be at least 1, got {text!r}")
    return shape


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scratchcnn", description="A CNN written from scratch in NumPy "
                                     "and numba, reproducing the Keras MNIST tutorial.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train the tutorial network and report the test accuracy")
    _add_data_args(train)
    train.add_argument("--epochs", type=positive_int, default=10, help="default: 10, as the tutorial")
    train.add_argument("--batch-size", type=positive_int, default=32, help="default: 32, Keras's default")
    train.add_argument("--seed", type=int, default=0, help="seeds weights, shuffling and dropout (default 0)")
    train.add_argument("--output", type=Path, default=None,
                       help="folder for weights, history.json and figures (default: runs/<dataset>)")
    train.add_argument("--no-validate", dest="validate", action="store_false",
                       help="skip scoring the test set after every epoch (it is scored once at the end)")
    train.add_argument("--verbose", type=int, choices=(0, 1), default=1, help="1: progress lines (default)")
    train.add_argument("--no-fuse", dest="fuse", action="store_false",
                       help="run every layer's own forward and backward (no fused steps; slower, the same math)")
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("evaluate", help="test loss and accuracy of saved weights")
    _add_data_args(evaluate)
    evaluate.add_argument("--weights", type=Path, default=Path("runs/mnist/model.weights.npz"))
    evaluate.set_defaults(run=_cmd_evaluate)

    plot = commands.add_parser("plot", help="draw a trained run's figures (curves, confusion matrix, "
                               "filters, feature maps, mistakes) from its saved weights and history")
    _add_data_args(plot, default_dataset=None)  # None: the dataset named in the run's history.json
    plot.add_argument("--run", dest="run_dir", type=Path, required=True, metavar="DIR",
                      help="the folder 'scratchcnn train' wrote (model.weights.npz, history.json)")
    plot.add_argument("--output", type=Path, default=None,
                      help="where the figures go (default: the run folder)")
    plot.set_defaults(run=_cmd_plot)

    predict = commands.add_parser("predict", help="which digit is in your own picture (PNG of any size)")
    predict.add_argument("image", type=Path, help="a picture of one digit, dark on light or light on dark")
    predict.add_argument("--weights", type=Path, default=Path("runs/mnist/model.weights.npz"),
                         help="weights of a model trained on MNIST (default: runs/mnist/model.weights.npz)")
    predict.add_argument("--show", type=Path, default=None, metavar="OUT.png",
                         help="also draw the preparation steps and the ten probabilities into OUT.png")
    predict.set_defaults(run=_cmd_predict)

    check = commands.add_parser("gradcheck", help="check every analytic gradient against numerical ones")
    check.add_argument("layer", nargs="?", default=None, metavar="MODULE:LAYER",
                       help="check a layer of your own instead of the built-in suite, e.g. mylayers:LeakyReLU "
                            "(a Layer class made with no arguments, imported from the current folder)")
    check.add_argument("--input-shape", type=_shape, default=(6, 6, 3), metavar="H,W,C",
                       help="the input shape (without the batch axis) for MODULE:LAYER (default: 6,6,3)")
    check.set_defaults(run=_cmd_gradcheck)

    bench = commands.add_parser("bench", help="time each layer, training and inference; peak memory")
    bench.add_argument("--no-compile-time", action="store_true",
                       help="skip measuring a first-ever run's numba compilation (about a minute)")
    bench.add_argument("--model", choices=("tutorial", "keras-convnet"), default="tutorial",
                       help="the tutorial network (batch 32, default) or Keras's MNIST convnet example "
                            "(two Conv2D + relu, batch 128)")
    bench.add_argument("--plot", type=Path, metavar="PNG",
                       help="also draw the step's time per layer, fused beside unfused, into this file")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv=None) -> int:
    """Run one command. Every error a user can cause ends here as one line, ``scratchcnn: error: ...``,
    with the exit status of its kind (``EXIT_STATUS``); ``--debug`` shows the traceback instead."""
    args = build_parser().parse_args(argv)  # bad options: argparse's usage and exit status 2
    from ..datasets import DataNotFoundError, DatasetError

    try:
        data_dir = getattr(args, "data_dir", None)
        if data_dir is not None and not data_dir.is_dir():  # a typo, not a place to download 11 MB into
            raise DataNotFoundError(f"--data-dir {data_dir} is not a folder: give the folder that holds the four "
                                    "MNIST .gz files, or leave --data-dir out to use the cache")
        return args.run(args)
    except KeyboardInterrupt:
        print("\nscratchcnn: interrupted", file=sys.stderr)
        return EXIT_STATUS["interrupted"]
    except (DatasetError, ValueError, OSError, MemoryError) as error:
        if args.debug:
            raise
        kind, message = _explain(error)
        print(f"scratchcnn: error: {message}", file=sys.stderr)
        if (isinstance(error, DatasetError) and getattr(args, "dataset", None) == "mnist"
                and "--data-dir" not in str(error)):
            # the loader speaks Python (path=); say it in command-line words too
            print("scratchcnn: on the command line, point --data-dir at a folder with the four MNIST files, "
                  "or try --dataset digits, which needs no download", file=sys.stderr)
        return EXIT_STATUS[kind]


# The exit status of each kind of failure (docs/errors.md). 74 and 71 are EX_IOERR and EX_OSERR of the
# BSD sysexits.h convention; 2 is argparse's own for bad options.
EXIT_STATUS = {"input": 1, "usage": 2, "out of memory": 71, "file system": 74, "interrupted": 130}

_OS_FIXES = {  # errno -> the fix, after the system's own words (Permission denied, No space left on device)
    errno.EACCES: "fix its permissions, or choose a folder of your own (e.g. --output)",
    errno.EPERM: "fix its permissions, or choose a folder of your own (e.g. --output)",
    errno.EROFS: "choose a folder on a writable disk (e.g. --output)",
    errno.ENOSPC: "free some space, or write to another disk (e.g. --output)",
    errno.EDQUOT: "free some space, or write to another disk (e.g. --output)",
    errno.EEXIST: "a file is in the way: remove or rename it, or choose another path",
    errno.ENOTDIR: "a file is in the way where a folder is needed: remove or rename it, or choose another path",
    errno.EISDIR: "it is a folder: give the path of a file",
    errno.ENOENT: "check the path",
}


def _explain(error: BaseException) -> tuple[str, str]:
    """(kind, one-line message) for an error that reached ``main``."""
    if isinstance(error, MemoryError):
        return "out of memory", ("out of memory: this computer has too little free memory for the command; close "
                                 "other programs, or use a smaller --batch-size")
    if isinstance(error, OSError) and error.errno is not None:  # raised by the system, about a path
        path = error.filename if error.filename2 is None else error.filename2  # a rename: its target
        where = f"{path}: " if path is not None else ""
        fix = _OS_FIXES.get(error.errno, "check the path and the disk")
        kind = "input" if error.errno == errno.ENOENT else "file system"
        return kind, f"{where}{error.strerror or 'input/output error'}; {fix}"
    return "input", _one_line(str(error))


def _one_line(text: str, limit: int = 2000) -> str:
    """A message kept to a readable size (a hostile file cannot make a megabyte of error)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."
