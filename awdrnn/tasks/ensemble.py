"""ULMFiT's forward + backward ensemble: the predictions of several task runs, averaged.

    from awdrnn.tasks import ensemble
    models = ensemble.load(["runs/stsb_fwd", "runs/stsb_bwd"])
    print(models.predict(["A man plays."], pairs=["A man is playing."]))  # [{"score": 3.9}]
    print(models.score(texts, targets, pairs=seconds))   # each run's metric and the mean's

    classify: p = mean_k p_k   (each run's class probabilities), label = argmax p
    regress:  s = mean_k s_k   (each run's score, in the labels' units)

ULMFiT (Howard & Ruder 2018) averages the predictions of a classifier on the
forward LM and one on the backward LM (a backward encoder's run reads its
rows reversed: `task_training.reads_reversed`). A tagger's two directions
are one model already (`TaskConfig.backward`), so taggers are not averaged
here. The runs may differ in anything else (encoder, head, pair encoding)
but must predict the same thing: one kind, and for classifiers the same
labels in the same order.
"""

import numpy as np

from awdrnn.tasks import metrics, predictor

KINDS = ("classify", "regress")


class Ensemble:
    """The mean of the predictions of `predictors` (`predictor.Predictor`s).

    Raises (constructor):
      ValueError: no predictors, a tagger, runs of different kinds, or
        classifiers with different labels (both lists named).
    """

    def __init__(self, predictors, names=None):
        self.predictors = list(predictors)
        self.names = list(names) if names is not None else [
            f"run {k}" for k in range(len(self.predictors))]
        if not self.predictors:
            raise ValueError("an ensemble needs at least one run.")
        kinds = [p.config.kind for p in self.predictors]
        if kinds[0] not in KINDS or len(set(kinds)) != 1:
            raise ValueError(f"an ensemble averages classifiers or regressors of one kind; "
                             f"got {dict(zip(self.names, kinds))} (a tagger's forward and "
                             f"backward encoders are one run: --encoder_bwd).")
        self.kind = kinds[0]
        if self.kind == "classify":
            first = self.predictors[0].labels
            for name, p in zip(self.names[1:], self.predictors[1:]):
                if p.labels != first:
                    raise ValueError(f"{name} has labels {list(p.labels.classes)}, "
                                     f"{self.names[0]} {list(first.classes)}: the runs of "
                                     f"an ensemble must share one label map.")
        self.labels = self.predictors[0].labels

    def outputs(self, texts, pairs=None):
        """Each run's outputs: `[runs, n, classes]` probabilities or `[runs, n]` scores."""
        return np.stack([p.outputs(texts, pairs) for p in self.predictors])

    def _results(self, mean):
        if self.kind == "regress":
            return [{"score": float(s)} for s in mean]
        classes = self.labels.classes
        return [{"label": classes[int(np.argmax(p))],
                 "probabilities": {c: float(v) for c, v in zip(classes, p)}} for p in mean]

    def predict(self, texts, pairs=None):
        """One dict per text, as `Predictor.predict`, of the averaged predictions."""
        return self._results(self.outputs(texts, pairs).mean(axis=0))

    def score(self, texts, targets, pairs=None):
        """Each run's dev metric and the ensemble's, on labelled texts.

        Args:
          texts, pairs: as `predict`.
          targets: class ids `[n]` (`LabelMap.ids`) or scores `[n]`.

        Returns:
          `{name: {"accuracy": ...} or {"pearson": ..., "spearman": ...}}` for
          each run and for "ensemble".
        """
        each = self.outputs(texts, pairs)
        rows = list(zip(self.names, each)) + [("ensemble", each.mean(axis=0))]
        if self.kind == "classify":
            return {name: {"accuracy": metrics.accuracy(targets, out.argmax(-1))}
                    for name, out in rows}
        return {name: metrics.correlations(targets, out) for name, out in rows}

    def close(self):
        for p in self.predictors:
            p.close()


def load(run_dirs, max_seq_len=None):
    """The `Ensemble` of the task runs in `run_dirs` (named by their folders)."""
    return Ensemble([predictor.load(d, max_seq_len=max_seq_len) for d in run_dirs],
                    names=list(run_dirs))
