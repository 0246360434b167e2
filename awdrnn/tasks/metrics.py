"""Validation metrics of the task heads: accuracy and confusion matrix, correlations.

    import numpy as np
    from awdrnn.tasks import metrics
    print(metrics.accuracy([0, 1, 1], [0, 1, 0]))                  # 0.6666666666666666
    print(metrics.confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist())  # [[1, 0], [1, 1]]
    print(round(metrics.correlations([1, 2, 3], [1, 2, 4])["pearson"], 4))  # 0.982

Correlations come from `scipy.stats` (`pearsonr`, `spearmanr`): the reference
implementations GLUE's own scorer uses for STS-B. Entity-level F1 for tagging
is `awdrnn.tasks.tagging.entity_scores` (seqeval).
"""

import os

import numpy as np


def accuracy(true, pred):
    """Fraction of equal entries of two label-id sequences."""
    true, pred = np.asarray(true), np.asarray(pred)
    if true.shape != pred.shape or true.size == 0:
        raise ValueError(f"accuracy needs two non-empty sequences of one shape, got "
                         f"{true.shape} and {pred.shape}.")
    return float(np.mean(true == pred))


def confusion_matrix(true, pred, n_classes):
    """`[n_classes, n_classes]` counts: row = true class, column = predicted class."""
    out = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(out, (np.asarray(true), np.asarray(pred)), 1)
    return out


def correlations(true, pred):
    """`{"pearson": r, "spearman": rho}` of two score sequences (scipy.stats).

    A constant sequence has no correlation: both are then 0.0 (scipy gives NaN).
    """
    from scipy import stats

    true, pred = np.asarray(true, np.float64), np.asarray(pred, np.float64)
    if np.ptp(true) == 0 or np.ptp(pred) == 0:
        return {"pearson": 0.0, "spearman": 0.0}
    return {"pearson": float(stats.pearsonr(true, pred)[0]),
            "spearman": float(stats.spearmanr(true, pred)[0])}


def plot_confusion(matrix, class_names, path, title="", log=print):
    """Writes the confusion matrix as a PNG (atomically); without matplotlib, logs and
    writes nothing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        log("  (matplotlib is not installed: no confusion.png; pip install awdrnn[examples])")
        return False
    matrix = np.asarray(matrix)
    n = len(class_names)
    fig = Figure(figsize=(1.2 + 0.8 * n, 1.0 + 0.8 * n))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(matrix, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xticks(range(n), labels=class_names)
    ax.set_yticks(range(n), labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=80)
    os.replace(tmp, path)
    return True
