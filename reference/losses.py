"""Categorical cross-entropy, loop by loop: the twin of the categorical part of scratchcnn/losses.py.
(The sparse form's twins are in reference/layers.py.)

Labels are rows Y (N, K), one-hot or soft, each summing to 1.

    from logits z:          loss = mean_n -sum_k Y[n, k] log softmax(z[n])[k]
                            dL/dz[n, k] = (softmax(z[n])[k] * sum_j Y[n, j] - Y[n, k]) / N
                                        (= (softmax - Y) / N for rows that sum to 1)
    from probabilities p:   q[n, k] = p[n, k] / sum_j p[n, j]   (Keras rescales each row to sum to 1)
                            loss = mean_n -sum_k Y[n, k] log clip(q[n, k], 1e-7, 1 - 1e-7)
                            dL/dq[n, k] = -Y[n, k] / (N q[n, k])  (0 where the clip bites)
                            dL/dp[n, j] = (dL/dq[n, j] - sum_k dL/dq[n, k] q[n, k]) / sum_k p[n, k]
"""
import math

import numpy as np

CLIP = 1e-7


def categorical_crossentropy_from_logits(z, y):
    """(mean loss, dL/dz) from logits z (N, K) and label rows y (N, K)."""
    n_rows, n_classes = z.shape
    dz = np.zeros_like(z)
    total = 0.0
    for n in range(n_rows):
        top = max(z[n])
        log_sum = math.log(sum(math.exp(z[n, k] - top) for k in range(n_classes)))
        row_sum = sum(y[n, k] for k in range(n_classes))
        for k in range(n_classes):
            log_p = z[n, k] - top - log_sum
            total += -y[n, k] * log_p
            dz[n, k] = (math.exp(log_p) * row_sum - y[n, k]) / n_rows
    return total / n_rows, dz


def categorical_crossentropy(p, y):
    """(mean loss, dL/dp) from probabilities p (N, K) and label rows y (N, K)."""
    n_rows, n_classes = p.shape
    dp = np.zeros_like(p)
    total = 0.0
    for n in range(n_rows):
        row_sum = sum(p[n, k] for k in range(n_classes))
        q = [p[n, k] / row_sum for k in range(n_classes)]
        dq = [0.0] * n_classes
        for k in range(n_classes):
            total += -y[n, k] * math.log(min(max(q[k], CLIP), 1.0 - CLIP))
            if CLIP < q[k] < 1.0 - CLIP:
                dq[k] = -y[n, k] / (n_rows * q[k])
        through = sum(dq[k] * q[k] for k in range(n_classes))
        for j in range(n_classes):
            dp[n, j] = (dq[j] - through) / row_sum
    return total / n_rows, dp
