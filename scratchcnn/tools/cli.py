"""The ``scratchcnn`` command: train the tutorial network, check the gradients, evaluate saved weights.

    scratchcnn train                 the tutorial: 10 epochs of batch 32 on MNIST, then the test score
    scratchcnn train --dataset digits --epochs 20    the same network on scikit-learn's 8x8 digits (offline)
    scratchcnn evaluate              the test score of the run in runs/mnist (its run.json says the data)
    scratchcnn plot --run runs/mnist  a trained run's figures: curves, confusion matrix, filters, feature maps
    scratchcnn predict my_digit.png --show steps.png    the digit in your own picture, and how it was prepared
    scratchcnn gradcheck             every analytic gradient against central differences
    scratchcnn gradcheck --break list    the zoo of classic backward bugs; --break NAME --train shows one
    scratchcnn draw                  draw a digit and watch the network think (--image a.png --save v.png)

Errors a user can cause print one line, ``scratchcnn: error: ...`` naming the file and the fix, and exit
with the status of their kind (``EXIT_STATUS``, docs/errors.md): 1 for bad data, weights or pictures, 2 for
bad options, 74 when the file system refuses (permissions, read-only, full disk), 71 out of memory, 130
Ctrl-C. ``--debug`` shows the traceback instead.
"""
import argparse
import errno
import shlex
import sys
from pathlib import Path

import numpy as np


def _add_data_args(parser: argparse.ArgumentParser, reads_a_run: bool = False) -> None:
    default = ("default: the run's own, from its run.json, else mnist" if reads_a_run else "default: mnist")
    parser.add_argument("--dataset", choices=("mnist", "fashion_mnist", "digits"), default=None,
                        help="mnist or fashion_mnist (downloaded once, or read from --data-dir) or "
                             f"scikit-learn's bundled 8x8 digits (no download); {default}")
    where = ("the folder the run was trained on, from its run.json, else " if reads_a_run else "")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="FOLDER",
                        help=f"folder with the four .gz files (default: {where}$SCRATCHCNN_DATA for mnist, "
                             "$SCRATCHCNN_FASHION_DATA for fashion_mnist, else the per-user cache "
                             "~/.cache/scratchcnn/mnist or .../fashion-mnist, downloading what is missing)")
    parser.add_argument("--offline", action="store_true",
                        help="never download: fail with a message if the files are missing")


def _idx_module(dataset: str):
    """The loader module of an MNIST-format dataset ('mnist', 'fashion_mnist'), None for the bundled digits."""
    from .. import datasets

    return getattr(datasets, dataset) if dataset in ("mnist", "fashion_mnist") else None


def _cli_words(error, dataset: str, dataset_note: str = "") -> Exception:
    """A loader error, said in command-line words (the loader's own message speaks of path= and load_data)."""
    from ..datasets import DataNotFoundError, DatasetError, DownloadError
    from ..datasets.loader import FILES

    title = _idx_module(dataset).DATASET.title
    hand = (f"put the {title} files ({', '.join(FILES)}) in a folder and give --data-dir FOLDER{dataset_note}, "
            "or use --dataset digits, which needs no download")
    if isinstance(error, DataNotFoundError) and error.missing:
        return DatasetError(f"{title} files missing from {error.directory}: {', '.join(error.missing)}. Fix: "
                            f"{hand}, or leave out --offline to download them")
    if isinstance(error, DownloadError) and error.failures:
        tried = "; ".join(f"{url}: {reason}" for url, reason in error.failures)
        return DatasetError(f"could not download {error.name} into {error.directory} ({tried}). Fix: {hand}")
    if isinstance(error, DownloadError) and error.directory is not None:
        return DatasetError(f"cannot create the folder {error.directory} for the {title} files: give --data-dir "
                            "FOLDER, a folder you can write to or one that holds the files")
    return error


def _load(what: str, dataset: str, data_dir: Path | None, offline: bool, note: str = "", per_batch: bool = False):
    """tutorial.load_dataset ('all') or load_test_set ('test'), with loader errors in command-line words."""
    from .. import tutorial
    from ..datasets import DataNotFoundError, DownloadError

    try:
        if what == "test":
            return tutorial.load_test_set(dataset, data_dir, download=not offline)
        return tutorial.load_dataset(dataset, data_dir, download=not offline, per_batch=per_batch)
    except (DataNotFoundError, DownloadError) as error:
        raise _cli_words(error, dataset, note) from None


def _data_folder(dataset: str, data_dir: Path | None) -> str | None:
    """The absolute folder the files are read from (what run.json remembers), None for the bundled digits."""
    module = _idx_module(dataset)
    return str(module.data_dir(data_dir).resolve()) if module is not None else None


def _cmd_train(args) -> int:
    from .. import tutorial
    from ..callbacks import TrainingInterrupted
    from . import run_folder

    dataset = args.dataset or "mnist"
    out = args.output if args.output is not None else Path("runs") / dataset
    run_folder.check_writable(out)  # before loading (or downloading) any data
    # the images stay uint8, each batch scaled when fit reads it (datasets/scaled.py): 47 MB, not 188
    (x_train, y_train), (x_test, y_test) = _load("all", dataset, args.data_dir, args.offline, per_batch=True)
    model = tutorial.build_model(input_shape=x_train.shape[1:], seed=args.seed)
    model.fuse = args.fuse
    model.summary()
    print(f"Training on {len(x_train):,} {dataset} images, testing on {len(x_test):,} "
          f"(seed {args.seed}, batch {args.batch_size}, {args.epochs} epochs)", flush=True)
    compile_seconds = tutorial.warm_up(model, x_train, y_train)  # says so when it compiles, on one line
    validation = "test set" if args.validate else None
    run = run_folder.NewRun(out, dataset=dataset, data_dir=_data_folder(dataset, args.data_dir), seed=args.seed,
                            epochs_asked=args.epochs, batch_size=args.batch_size, validation=validation,
                            command=shlex.join(getattr(args, "command_line", ["scratchcnn", "train"])))
    facts = run_folder.history_facts(run.record)
    try:
        history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                            validation_data=(x_test, y_test) if args.validate else None, verbose=args.verbose,
                            callbacks=[run.checkpoint()])
    except TrainingInterrupted as stop:  # Ctrl-C: fit finished its batch and kept the last completed epoch
        if not stop.epochs_completed:
            print("\nscratchcnn: interrupted during epoch 1; no epoch was completed, so no weights were saved",
                  file=sys.stderr)
            return 130
        run.write_history({  # the epochs behind the saved weights, with fit's own epoch times
            **facts, "epochs": stop.epochs_completed, "epochs_completed": stop.epochs_completed,
            "interrupted_in_epoch": stop.epoch, "test_loss": None, "test_accuracy": None,
            "seconds_per_epoch": stop.history.epoch_seconds, "history": stop.history.history},
            status="interrupted")
        when = "after" if stop.epochs_completed == stop.epoch else "during"
        print(f"\nscratchcnn: interrupted {when} epoch {stop.epoch}; the weights of epoch {stop.epochs_completed} "
              f"are in {out / run_folder.WEIGHTS}", file=sys.stderr)
        return 130
    del x_train, y_train  # not needed for the scores and figures below (peak memory)
    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    seconds = history.epoch_seconds
    print(f"Test loss: {test_loss:.4f} - test accuracy: {test_accuracy:.4f}")
    if seconds:
        compiled = (f"; the numba compilation before it, {compile_seconds:.1f} s, is not counted"
                    if compile_seconds >= tutorial.COMPILE_NOTICE_SECONDS else "")
        print(f"Seconds per epoch: {np.median(seconds):.1f} (median of {len(seconds)}, training only{compiled})")

    results = {**facts, "epochs": len(seconds), "epochs_completed": len(seconds), "test_loss": test_loss,
               "test_accuracy": test_accuracy, "seconds_per_epoch": seconds, "history": history.history,
               "compile_seconds": round(compile_seconds, 2)}
    if not run.taken:  # fit trained no epoch at all (a NaN loss in epoch 1): nothing of this run is on disk
        print("scratchcnn: no epoch was completed, so nothing was saved", file=sys.stderr)
        return 1
    run.write_history(results)
    trained, model = model, tutorial.build_model(input_shape=model.input_shape)  # the figures need only the
    model.set_weights(trained.get_weights())  # weights: Adam's moments and the training buffers can go
    model.fuse = trained.fuse
    del trained
    tutorial.return_freed_memory()  # what training freed, handed back before matplotlib loads
    from . import report  # matplotlib loads only now, after the training set is gone

    written = run.write_figures(lambda: report.write_report(model, x_test, y_test, out, results))
    run.finish("finished" if len(seconds) == args.epochs else "stopped")
    print(f"Wrote {out / run_folder.WEIGHTS}, {out / run_folder.HISTORY}, {out / run_folder.RECORD} and, beside "
          f"them, {', '.join(path.name for path in written)}")
    return 0


def _open_run(args, dataset_option: str | None):
    """The run folder a reading command looks at: --run DIR, else runs/<--dataset or mnist>; its record."""
    from . import run_folder

    folder = args.run_dir if args.run_dir is not None else Path("runs") / (dataset_option or "mnist")
    run = run_folder.open_run(folder)
    if dataset_option is not None and dataset_option != run.record["dataset"]:
        raise run_folder.RunFolderError(f"--dataset {dataset_option}, but the run in {folder} was trained on "
                                        f"{run.record['dataset']}: leave --dataset out, or give --run a "
                                        f"{dataset_option} run")
    return run


def _model_and_test_set(args):
    """(model with the weights, x_test, y_test, dataset, what) for evaluate and plot: from --weights FILE
    (with --dataset and the data options), else from the run folder's record."""
    from .. import tutorial

    run = None
    if getattr(args, "weights", None) is not None:
        weights, dataset, data_dir, note = args.weights, args.dataset or "mnist", args.data_dir, ""
        if not weights.is_file():  # before loading (or downloading) any data
            raise FileNotFoundError(f"no weights file at {weights}: train first (scratchcnn train) or fix "
                                    "--weights")
        what = str(weights)
    else:
        run = _open_run(args, args.dataset)
        weights, dataset = run.path("model.weights.npz"), run.record["dataset"]
        remembered = run.record.get("data_dir")
        data_dir = args.data_dir or (Path(remembered) if remembered else None)
        note = "" if args.data_dir or not remembered else f" (the run was trained on {remembered})"
        what = f"{run.folder}, {run.describe()}"
    x_test, y_test = _load("test", dataset, data_dir, args.offline, note)
    model = tutorial.build_model(input_shape=x_test.shape[1:])
    model.load_weights(weights)
    return model, x_test, y_test, dataset, what, run


def _cmd_evaluate(args) -> int:
    model, x_test, y_test, dataset, what, _ = _model_and_test_set(args)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"Test loss: {loss:.4f} - test accuracy: {accuracy:.4f} ({len(x_test):,} {dataset} test images; "
          f"{what})")
    return 0


def _cmd_plot(args) -> int:
    from . import report, run_folder

    model, x_test, y_test, _, what, run = _model_and_test_set(args)
    results = run_folder.read_history(run)
    out = args.output if args.output is not None else run.folder
    run_folder.check_writable(out)
    if results is None:
        print(f"No {run_folder.HISTORY} in {run.folder}: drawing everything but the training curves")
    written = report.write_report(model, x_test, y_test, out, results)
    run.vouch(written)  # figures drawn again into the run folder are its own
    print(f"Wrote {', '.join(path.name for path in written)} in {out} ({what})")
    return 0


def _cmd_predict(args) -> int:
    from .. import tutorial
    from . import digit_image

    if args.weights is not None:
        weights = args.weights
    else:
        run = _open_run(args, None)
        if run.record["dataset"] != "mnist":
            raise ValueError(f"the run in {run.folder} was trained on {run.record['dataset']}; predict reads "
                             "MNIST-like 28x28 digits: give --run a run trained on mnist")
        weights = run.path("model.weights.npz")
    model = tutorial.build_model()
    model.load_weights(weights)
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

    if args.bug is not None:  # a bug of the zoo, injected (gradcheck/bugs.py, docs/bug-zoo.md)
        return _cmd_gradcheck_bug(args)
    if args.layer is not None:  # a layer of the user's: module:Name (docs/write-a-layer.md)
        gradcheck.load_layer(args.layer)  # a bad name fails here, in one line
        checks = gradcheck.user_layer_checks(args.layer, args.input_shape)
    else:
        checks = gradcheck.suite_checks()
    results = [result for check in checks for result in check.run()]
    print(gradcheck.format_table(results))
    return 0 if all(r.passed for r in results) else 1


def _cmd_gradcheck_bug(args) -> int:
    """``gradcheck --break NAME``: the checks that see one bug of the zoo, and with --train what training
    with it learns; exits 1 when the checks catch the bug (they always should)."""
    from .. import gradcheck
    from ..gradcheck import bugs

    if args.bug == "list":
        print(bugs.describe())
        return 0
    bug = bugs.get(args.bug)
    print(f"Bug {bug.name}: {bug.sentence}\n")
    results = bugs.run(bug)
    print(gradcheck.format_table(results))
    failing = [r for r in results if not r.passed]
    if failing:
        worst = bugs.worst(results)
        print(f"\nCaught: {len(failing)} rows fail, the worst {worst.layer} {worst.tensor} with a relative "
              f"error of {worst.max_rel_error:.1e} (the bar is {worst.tol:g}). The failing rows:")
        for r in failing:
            print(f"  FAIL  {r.layer}  {r.tensor}  {r.max_rel_error:.1e}")
    else:
        print("\nNot caught: every row passes")
    if args.train:
        from . import plots

        histories = bugs.train_beside(bug, epochs=args.epochs, seed=0)
        correct, buggy = (histories[k].history for k in ("correct", "buggy"))
        print(f"\nThe tutorial network on scikit-learn's digits, {args.epochs} epochs, same start and batches:")
        print("epoch  loss correct  loss buggy  test acc correct  test acc buggy")
        for e in range(len(correct.get("loss", []))):
            buggy_loss = buggy["loss"][e] if e < len(buggy.get("loss", [])) else float("nan")
            buggy_acc = buggy["val_accuracy"][e] if e < len(buggy.get("val_accuracy", [])) else float("nan")
            print(f"{e + 1:>5}  {correct['loss'][e]:>12.4f}  {buggy_loss:>10.4f}  "
                  f"{correct['val_accuracy'][e]:>16.4f}  {buggy_acc:>14.4f}")
        figure = args.figure if args.figure is not None else Path("runs") / "bug-zoo" / f"{bug.name}.png"
        plots.plot_bug_training(correct, buggy, bug.name, figure)
        print(f"Wrote {figure}")
    return 1 if failing else 0


DEFAULT_WEIGHTS = Path("runs/mnist/model.weights.npz")  # what draw shows when told nothing


def _cmd_draw(args) -> int:
    from . import draw

    if args.weights is None and args.run_dir is not None:  # a run folder: the weights its run.json vouches for
        weights = _open_run(args, None).path("model.weights.npz")
    else:
        weights = args.weights if args.weights is not None else DEFAULT_WEIGHTS
        if not weights.is_file():
            raise FileNotFoundError(f"no weights file at {weights}: train first (scratchcnn train) or give "
                                    "--run DIR or --weights FILE")
    model = draw.load_model(weights)
    if args.save is not None:
        view = draw.render(model, args.image, args.save, gradient_class=args.gradient_class)
        print(f"Predicted digit: {view.answer}")
        for d, p in enumerate(view.probabilities):
            print(f"  {d}  {p:.4f}  {'#' * round(30 * float(p))}".rstrip())
        print(f"Wrote {args.save}")
        return 0
    try:
        draw.open_window(model, args.image, gradient_class=args.gradient_class)
    except draw.NoWindow as error:
        print(f"scratchcnn: error: {error}", file=sys.stderr)
        return 1
    return 0


def _cmd_bench(args) -> int:
    from . import bench

    if args.model not in bench.NETWORKS and not Path(args.model).is_file():
        print(f"scratchcnn: error: --model {args.model!r} is neither {' nor '.join(bench.NETWORKS)} nor a weights "
              "file: give the path of a model saved with save_weights (e.g. runs/mnist/model.weights.npz)",
              file=sys.stderr)
        return EXIT_STATUS["usage"]
    print(bench.run(compile_time=not args.no_compile_time, plot_path=args.plot, network=args.model,
                    batch_size=args.batch_size))
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
    train.add_argument("--output", type=Path, default=None, metavar="DIR",
                       help="the run folder: run.json, weights, history.json and figures (default: "
                            "runs/<dataset>); an older run's files in it are replaced once the first epoch is done")
    train.add_argument("--no-validate", dest="validate", action="store_false",
                       help="skip scoring the test set after every epoch (it is scored once at the end)")
    train.add_argument("--verbose", type=int, choices=(0, 1), default=1,
                       help="1: a progress line per epoch (default); 0: only the summary and the score")
    train.add_argument("--no-fuse", dest="fuse", action="store_false",
                       help="run every layer's own forward and backward (no fused steps; slower, the same math)")
    train.set_defaults(run=_cmd_train)

    run_help = ("the folder 'scratchcnn train' wrote; its run.json says the dataset, the data folder and "
                "which weights are the run's (default: runs/<dataset>, runs/mnist without --dataset)")
    evaluate = commands.add_parser("evaluate", help="test loss and accuracy of a trained run (the test set only)")
    _add_data_args(evaluate, reads_a_run=True)
    evaluate.add_argument("--run", dest="run_dir", type=Path, default=None, metavar="DIR", help=run_help)
    evaluate.add_argument("--weights", type=Path, default=None, metavar="FILE",
                          help="score this weights file (from model.save_weights) instead of a run's; the "
                               "dataset is then --dataset's (default mnist)")
    evaluate.set_defaults(run=_cmd_evaluate)

    plot = commands.add_parser("plot", help="draw a trained run's figures (curves, confusion matrix, "
                               "filters, feature maps, mistakes) from its saved weights and history")
    _add_data_args(plot, reads_a_run=True)
    plot.add_argument("--run", dest="run_dir", type=Path, default=None, metavar="DIR", help=run_help)
    plot.add_argument("--output", type=Path, default=None, metavar="DIR",
                      help="where the figures go (default: the run folder)")
    plot.set_defaults(run=_cmd_plot)

    predict = commands.add_parser("predict", help="which digit is in your own picture (PNG of any size)")
    predict.add_argument("image", type=Path, help="a picture of one digit, dark on light or light on dark")
    predict.add_argument("--run", dest="run_dir", type=Path, default=None, metavar="DIR",
                         help="a run trained on mnist, whose weights its run.json vouches for (default: "
                              "runs/mnist)")
    predict.add_argument("--weights", type=Path, default=None, metavar="FILE",
                         help="use this weights file of an MNIST model instead of a run's")
    predict.add_argument("--show", type=Path, default=None, metavar="OUT.png",
                         help="also draw the preparation steps and the ten probabilities into OUT.png")
    predict.set_defaults(run=_cmd_predict)

    check = commands.add_parser("gradcheck", help="check every analytic gradient against numerical ones")
    check.add_argument("layer", nargs="?", default=None, metavar="MODULE:LAYER",
                       help="check a layer of your own instead of the built-in suite, e.g. mylayers:LeakyReLU "
                            "(a Layer class made with no arguments, imported from the current folder)")
    check.add_argument("--input-shape", type=_shape, default=(6, 6, 3), metavar="H,W,C",
                       help="the input shape (without the batch axis) for MODULE:LAYER (default: 6,6,3)")
    check.add_argument("--break", dest="bug", metavar="NAME", default=None,
                       help="inject a classic backward bug from the zoo and show the rows that catch it; "
                            "'--break list' names them (docs/bug-zoo.md)")
    check.add_argument("--train", action="store_true",
                       help="with --break: also train the tutorial network on scikit-learn's digits with "
                            "the bug and without, and draw both runs")
    check.add_argument("--epochs", type=positive_int, default=5, help="with --train: epochs (default 5)")
    check.add_argument("--figure", type=Path, default=None, metavar="PNG",
                       help="with --train: where the figure goes (default: runs/bug-zoo/NAME.png)")
    check.set_defaults(run=_cmd_gradcheck)

    draw = commands.add_parser("draw", help="draw a digit and watch the network think, layer by layer "
                               "(a window; --save for a file)")
    draw.add_argument("--run", dest="run_dir", type=Path, default=None, metavar="DIR",
                      help="a run folder of scratchcnn train: its weights, as its run.json records them")
    draw.add_argument("--weights", type=Path, default=None, metavar="FILE",
                      help="weights of any Sequential of scratchcnn layers trained on 28x28 images "
                           f"(default: {DEFAULT_WEIGHTS}, the last train run)")
    draw.add_argument("--image", type=Path, default=None, help="start with this picture on the canvas")
    draw.add_argument("--save", type=Path, default=None, metavar="OUT.png",
                      help="open no window: render the view of --image (or a blank sheet) into OUT.png")
    draw.add_argument("--gradient-class", type=int, choices=range(10), default=None, metavar="DIGIT",
                      help="show dL/d(input) for this class (default: the predicted one)")
    draw.set_defaults(run=_cmd_draw)

    bench = commands.add_parser("bench", help="time each layer, training and inference; peak memory")
    bench.add_argument("--no-compile-time", action="store_true",
                       help="skip measuring a first-ever run's numba compilation (15 to 30 s)")
    bench.add_argument("--model", default="tutorial", metavar="{tutorial,keras-convnet,FILE}",
                       help="the tutorial network (batch 32, default), Keras's MNIST convnet example "
                            "(two Conv2D + relu, batch 128), or any model saved with save_weights, e.g. "
                            "runs/mnist/model.weights.npz (batch 32)")
    bench.add_argument("--batch-size", type=positive_int, default=None,
                       help="time the step at this batch size instead")
    bench.add_argument("--plot", type=Path, metavar="PNG",
                       help="also draw the step's time per layer, fused beside unfused, into this file")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv=None) -> int:
    """Run one command. Every error a user can cause ends here as one line, ``scratchcnn: error: ...``,
    with the exit status of its kind (``EXIT_STATUS``); ``--debug`` shows the traceback instead."""
    args = build_parser().parse_args(argv)  # bad options: argparse's usage and exit status 2
    args.command_line = ["scratchcnn", *(sys.argv[1:] if argv is None else argv)]  # for the run's record
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
