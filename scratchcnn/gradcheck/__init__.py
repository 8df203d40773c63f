"""Gradient checking: every hand-written backward against central differences, from any install.

    checker.py             the measurement: numerical gradients, check_layer, check_model, check_loss
    suite.py               the rows ``scratchcnn gradcheck`` prints (run_suite, suite_checks)
    optimizer_formulas.py  the optimizers against Keras's formulas, step by step
    loss_checks.py         categorical cross-entropy rows (one-hot and soft labels)

    from scratchcnn.gradcheck import check_layer, format_table
    print(format_table(check_layer(MyLayer(), input_shape=(5, 5, 2))))

See docs/gradient-checking.md.
"""
from .checker import (EPS, TOL, GradCheckResult, KinkError, check_layer, check_loss, check_model, format_table,
                      numerical_gradient, relative_error, well_spaced)
from .optimizer_formulas import (check_adam, check_rmsprop, check_sgd, keras_adam_reference,
                                 keras_rmsprop_reference, keras_sgd_reference)
from .suite import SuiteCheck, load_layer, run_suite, suite_checks, tutorial_model, user_layer_checks

__all__ = ["EPS", "TOL", "GradCheckResult", "KinkError", "check_layer", "check_loss", "check_model", "format_table",
           "numerical_gradient", "relative_error", "well_spaced", "check_adam", "keras_adam_reference",
           "check_rmsprop", "check_sgd", "keras_rmsprop_reference", "keras_sgd_reference",
           "SuiteCheck", "load_layer", "run_suite", "suite_checks", "tutorial_model", "user_layer_checks"]
