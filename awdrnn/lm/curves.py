"""`curves.png` of a language-model run: perplexity against the training step.

    from awdrnn.lm import curves as lm_curves
    from awdrnn.training import checkpoints
    metrics = checkpoints.read_json("runs/demo/metrics.json")
    lm_curves.plot_curves(metrics, "runs/demo/curves.png")

The x axis is the global training step, so a run cut inside its first epoch
(`--max_steps`, `--max_minutes`, Ctrl-C) still has a meaningful axis:

* train perplexity (with dropout) per log interval, `metrics["train_curve"]`
  (`[step, ppl]` pairs), a line; runs without it (fewer steps than
  `log_interval`) show each epoch's mean train perplexity at its last step;
* valid perplexity at the step each epoch ended: filled markers for full
  epochs, hollow ones labelled "partial" for an epoch cut short;
* dotted vertical lines at the ends of full epochs;
* fine-tuning epochs after the training ones (their steps offset by the
  training's last step);
* the entropy floor, when known (the generated corpus: 8.77), as a dashed
  line whose value is in the legend and the title.
"""

import math
import os

import numpy as np


def _finite(*values):
    return all(v is not None and np.isfinite(v) for v in values)


def curve_figure(metrics, train_key="train_ppl", valid_key="valid_ppl", quantity="perplexity"):
    """The matplotlib figure of `metrics` (a `metrics.json` dict), or None if it
    holds no finite point. Needs matplotlib (`pip install awdrnn[examples]`).

    `train_key` / `valid_key`: the epoch records' entries plotted (other tasks
    of `awdrnn.training.loop` plot e.g. "train_loss" / "valid_loss"), named
    `quantity` on the axis."""
    import matplotlib
    import matplotlib.ticker
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [dict(e) for e in metrics["epochs"] if e.get("step") is not None]
    trained = [e["step"] for e in epochs if e.get("stage") != "finetune"]
    for e in epochs:  # the fine-tuning stage counts its steps from 0
        if e.get("stage") == "finetune":
            e["step"] += max(trained, default=0)
    train = [(s, p) for s, p in metrics.get("train_curve", []) if _finite(p)]
    if not train:
        train = [(e["step"], e[train_key]) for e in epochs if _finite(e.get(train_key))]
    valid = [(e["step"], e[valid_key], e["partial"]) for e in epochs
             if _finite(e.get(valid_key))]
    if not train and not valid:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if train:
        steps, ppl = zip(*train)
        ax.plot(steps, ppl, ".-" if len(train) < 30 else "-", color="C0", lw=1,
                label="train (with dropout)")
    full = [(s, p) for s, p, partial in valid if not partial]
    cut = [(s, p) for s, p, partial in valid if partial]
    if full:
        ax.plot(*zip(*full), "o-", color="C1", label="valid, end of epoch")
    if cut:
        ax.plot(*zip(*cut), "o", color="C1", mfc="none", ms=8, label="valid, partial epoch")
    for e in epochs:
        if not e["partial"]:
            ax.axvline(e["step"], color="0.7", ls=":", lw=0.8)
    floor = metrics.get("perplexity_floor")
    title = f"{quantity} by training step"
    if valid:
        title += f": best valid {min(p for _, p, _ in valid):.2f}"
    if floor:
        ax.axhline(floor, color="k", ls="--", label=f"entropy floor {floor:.2f}")
        title += f" (floor {floor:.2f})"
    last = max([s for s, _ in train] + [s for s, _, _ in valid])
    ax.set_xlim(0, last * 1.03 + 1)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    low, high = ax.get_ylim()
    if high > 20 * low:  # over a decade or so: label the minor ticks at 2 and 5 only
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(_two_and_five))
    else:
        ax.yaxis.set_minor_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("training step (dotted: end of an epoch)")
    ax.set_ylabel(quantity)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_curves(metrics, path, log=print, **keys):
    """Writes `curve_figure(metrics, **keys)` to `path` (PNG, atomically); without
    matplotlib, logs how to get it and writes nothing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log("  (matplotlib is not installed: no curves.png; pip install awdrnn[examples])")
        return
    fig = curve_figure(metrics, **keys)
    if fig is None:
        return
    import matplotlib.pyplot as plt
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=80)
    plt.close(fig)
    os.replace(tmp, path)


def _two_and_five(value, _position):
    """Label of a minor tick of a log axis: `20`, `50`, `200`, ... only."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return f"{value:g}" if round(mantissa) in (2, 5) else ""
