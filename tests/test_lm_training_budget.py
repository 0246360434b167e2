"""`max_minutes` (`--max_minutes`) counts wall time since training began, the
validations at epoch ends included. A fake clock stands in for `time`: each
reading advances it a millisecond and each evaluation pass two minutes, so the
expected stop is exact and no test depends on the machine's speed."""

import pytest

from awdrnn.lm import training as lm_training

import lm_test_data


class _Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def time(self):
        self.now += 0.001
        return self.now


@pytest.fixture()
def slow_evaluation(monkeypatch):
    clock = _Clock()
    evaluate = lm_training.evaluate

    def two_minutes(*args, **kw):
        clock.now += 120.0
        return evaluate(*args, **kw)

    monkeypatch.setattr(lm_training, "time", clock)
    monkeypatch.setattr(lm_training, "evaluate", two_minutes)


def test_validation_time_counts_in_the_budget(tmp_path, slow_evaluation):
    data = lm_test_data.tiny_corpus(tmp_path / "corpus")
    mcfg, tcfg = lm_test_data.tiny_configs(data, lm_test_data.NO_DROPOUT, epochs=3,
                                           max_minutes=1.5)
    lines = []
    metrics = lm_training.Trainer(mcfg, tcfg, data, str(tmp_path / "run"),
                                  log=lines.append).run()
    # Epoch 1 trains in well under a fake second; its validation takes two fake
    # minutes, past the 1.5-minute budget, so epoch 2 never starts.
    assert metrics["status"] == "stopped by budget"
    assert [e["epoch"] for e in metrics["epochs"]] == [1]
    assert not metrics["epochs"][0]["partial"]
    assert metrics["steps"] == metrics["epochs"][0]["step"]      # no step of epoch 2
    assert "  stopping: max_minutes=1.5 reached" in lines
    assert metrics["test_ppl"] is not None                    # the final test still runs
