"""Tests of awdrnn.lm.curves: curves.png by training step, partial epochs marked,
the floor's value shown. Expected values are the hand-written metrics below."""

import os

import pytest

from awdrnn.lm import curves as lm_curves

pytest.importorskip("matplotlib")


def _epoch(epoch, step, train, valid, partial=False, stage="train"):
    return {"epoch": epoch, "step": step, "train_ppl": train, "valid_ppl": valid,
            "partial": partial, "stage": stage}


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_a_run_cut_inside_its_first_epoch_is_plotted_by_step():
    metrics = {"epochs": [_epoch(1, 3, 90.0, 80.0, partial=True)],
               "train_curve": [[1, 100.0], [2, 95.0], [3, 90.0]], "perplexity_floor": 8.77}
    fig = lm_curves.curve_figure(metrics)
    ax = fig.axes[0]
    lines = _lines(ax)
    assert list(lines["train (with dropout)"].get_xdata()) == [1, 2, 3]
    partial = lines["valid, partial epoch"]
    assert list(partial.get_xdata()) == [3] and list(partial.get_ydata()) == [80.0]
    assert partial.get_markerfacecolor() == "none"       # hollow: not a full epoch
    assert "valid, end of epoch" not in lines
    left, right = ax.get_xlim()
    assert left == 0 and right > 3                        # not a 0.95-1.05 axis
    assert ax.get_xlabel().startswith("training step")
    assert "8.77" in ax.get_title() and "best valid 80.00" in ax.get_title()
    assert list(lines["entropy floor 8.77"].get_ydata()) == [8.77, 8.77]


def test_full_and_partial_epochs_and_fine_tuning_continue_the_step_axis():
    metrics = {"epochs": [_epoch(1, 10, 50.0, 40.0), _epoch(2, 20, 30.0, 25.0),
                          _epoch(3, 4, 28.0, 24.0, stage="finetune"),
                          _epoch(4, 6, 27.0, 24.5, partial=True, stage="finetune")],
               "train_curve": []}
    fig = lm_curves.curve_figure(metrics)
    ax = fig.axes[0]
    lines = _lines(ax)
    assert list(lines["valid, end of epoch"].get_xdata()) == [10, 20, 24]
    assert list(lines["valid, partial epoch"].get_xdata()) == [26]
    # No per-interval curve: each epoch's mean train perplexity at its last step.
    assert list(lines["train (with dropout)"].get_xdata()) == [10, 20, 24, 26]
    assert list(lines["train (with dropout)"].get_ydata()) == [50.0, 30.0, 28.0, 27.0]
    epoch_ends = sorted(line.get_xdata()[0] for line in ax.get_lines()
                        if line.get_linestyle() == ":")
    assert epoch_ends == [10, 20, 24]
    assert "floor" not in ax.get_title() and "best valid 24.00" in ax.get_title()


def test_plot_curves_writes_a_png_or_nothing(tmp_path):
    path = str(tmp_path / "curves.png")
    lm_curves.plot_curves({"epochs": [], "train_curve": []}, path)
    assert not os.path.exists(path)
    nan = {"epochs": [_epoch(1, 2, float("nan"), None, partial=True)], "train_curve": []}
    lm_curves.plot_curves(nan, path)
    assert not os.path.exists(path)
    lm_curves.plot_curves({"epochs": [_epoch(1, 2, 9.0, 8.0)], "train_curve": [[1, 10.0]]}, path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["curves.png"]          # no temporary file left


def test_minor_tick_labels_do_not_crowd_a_curve_over_several_decades():
    """From an untrained 12,000 down to 45 (as a subword LM's first epoch): the
    minor ticks of the log axis are labelled at 2 and 5 times a power of ten only."""
    metrics = {"epochs": [_epoch(1, 2700, 110.0, 45.0)],
               "train_curve": [[50, 12000.0], [1000, 90.0], [2700, 75.0]]}
    ax = lm_curves.curve_figure(metrics).axes[0]
    ax.figure.canvas.draw()
    labels = {tick.get_loc(): tick.label1.get_text() for tick in ax.yaxis.get_minor_ticks()}
    shown = sorted(round(loc) for loc, text in labels.items() if text)
    assert shown and set(shown) <= {20, 50, 200, 500, 2000, 5000, 20000, 50000}, labels
    assert {200, 500, 2000, 5000} <= set(shown), labels
