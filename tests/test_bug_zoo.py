"""The bug zoo (scratchcnn/gradcheck/bugs.py): every classic backward bug makes ``scratchcnn gradcheck
--break NAME`` exit 1 with the failing rows named, the bugs are injected from the checker's side (the
library's own classes are untouched), the two-pass check catches accumulated gradients that a single
check cannot, and ``--train`` trains beside the correct network and draws both."""
import numpy as np
import pytest

from scratchcnn.gradcheck import bugs, check_layer
from scratchcnn.gradcheck.two_passes import check_layer_two_passes, check_network_two_passes
from scratchcnn.gradcheck.suite import tutorial_model
from scratchcnn.layers import Conv2D, Dense, Dropout, MaxPooling2D
from scratchcnn.tools.cli import main

NAMES = [bug.name for bug in bugs.BUGS]


def test_the_zoo_has_the_classic_bugs():
    assert len(NAMES) >= 6
    for name in ("conv_kernel_rotated", "maxpool_every_cell", "dense_bias_mean", "crossentropy_no_mean",
                 "dropout_no_mask", "adam_no_bias_correction", "dense_grads_accumulate"):
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_bug_makes_gradcheck_exit_1_naming_the_failing_rows(name, capsys):
    assert main(["gradcheck", "--break", name]) == 1
    out = capsys.readouterr().out
    bug = bugs.get(name)
    assert out.startswith(f"Bug {name}: {bug.sentence}")
    table, _, named = out.partition("The failing rows:")
    failing_rows = [line for line in table.splitlines() if "FAIL (tol" in line]
    assert failing_rows and "FAILED" in table
    named_rows = [line.strip() for line in named.splitlines() if line.strip().startswith("FAIL")]
    assert len(named_rows) == len(failing_rows)
    for line in failing_rows:                     # each failing row of the table is named below it
        layer, tensor = (cell.strip() for cell in line.strip("|").split("|")[:2])
        assert any(row.startswith(f"FAIL  {layer}  {tensor}  ") for row in named_rows), line


def test_break_list_names_every_bug_with_a_sentence(capsys):
    assert main(["gradcheck", "--break", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    assert all(len(line.split()) > 6 for line in lines)


def test_an_unknown_bug_is_a_one_line_error(capsys):
    assert main(["gradcheck", "--break", "nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "conv_kernel_rotated" in err[0] and "--break list" in err[0]


def test_bugs_are_subclasses_and_the_library_is_untouched():
    for bug in bugs.BUGS:
        for original, buggy in bug.layers.items():
            assert issubclass(buggy, original) and buggy is not original
    model = tutorial_model()
    weights = [w.copy() for w in model.get_weights()]
    bugs.inject(bugs.get("conv_kernel_rotated"), model)
    conv = model.layers[0]
    assert type(conv) is bugs.ConvKernelGradRotated and conv.name == "conv2d"
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights))   # same weights
    assert not any(step.fused and conv in step.layers for step in model.plan.steps)  # runs its own code
    # a fresh built-in layer still passes: nothing was switched inside the library
    assert all(r.passed for r in check_layer(Conv2D(4, 3), (8, 8, 1)))


def test_accumulated_gradients_pass_one_check_and_fail_two_passes():
    one = check_layer(bugs.DenseGradsAccumulated(7), (12,))
    assert all(r.passed for r in one)                             # a single backward on fresh zeros
    two = {r.tensor: r for r in check_layer_two_passes(bugs.DenseGradsAccumulated(7), (12,))}
    assert not two["kernel"].passed and not two["bias"].passed
    assert two["input"].passed                                    # the input gradient is not accumulated


@pytest.mark.parametrize("layer, shape", [(Dense(7), (12,)), (Conv2D(4, 3), (8, 8, 1)),
                                          (MaxPooling2D(2), (6, 6, 2)), (Dropout(0.3), (10,))])
def test_the_library_layers_pass_two_passes(layer, shape):
    results = check_layer_two_passes(layer, shape, training=True)
    assert all(r.passed and r.max_rel_error == 0.0 for r in results)


def test_the_tutorial_network_passes_two_passes_fused_and_not():
    for fuse in (True, False):
        results = check_network_two_passes(tutorial_model(fuse=fuse))
        assert len(results) == 6 and all(r.passed for r in results)


def test_train_beside_the_correct_network_draws_both(tmp_path, capsys):
    figure = tmp_path / "bug.png"
    assert main(["gradcheck", "--break", "dropout_no_mask", "--train", "--epochs", "2",
                 "--figure", str(figure)]) == 1
    out = capsys.readouterr().out
    rows = out.split("test acc correct  test acc buggy")[1].strip().splitlines()[:2]
    epochs, loss_c, loss_b, acc_c, acc_b = (float(v) for v in rows[1].split())
    assert epochs == 2 and 0 < acc_c <= 1 and 0 < acc_b <= 1 and loss_c != loss_b
    assert figure.stat().st_size > 10_000 and f"Wrote {figure}" in out
