"""awdrnn.tasks.task_training.FineTuneTask: the --test file is scored once, with the
best model's weights, not with those of the last epoch.

`test_task_scripts` checks that the scripts' test score equals the best dev
score, but there the last epoch is usually the best one, so scoring the last
weights passes too. Here the weights move away from the saved best model
before `finish`, so only a restore of `best/` gives the best model's loss.

Broken on purpose to see this fail (then restored): `finish` without the
restore of the best model before the test file (`if False:`).
"""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import encoder_io
from awdrnn.tasks import datasets, task_config, task_data, task_training
from awdrnn.text import subwords

import task_test_data


def _quiet(*args):
    del args


def test_the_test_file_is_scored_with_the_best_model_not_the_last(tmp_path):
    root = task_test_data.write_tasks(tmp_path)
    encoder = encoder_io.load_encoder(task_test_data.train_encoder(root, "fwd", steps=5))
    spm = subwords.load_model(encoder.spm_model)
    labels = task_data.LabelMap.from_labels(["neg", "pos"])
    train, dev = [datasets.classification_dataset(str(root / f"clas_{s}.tsv"), spm, "sentence",
                                                  "label", labels) for s in ("train", "dev")]
    cfg = task_config.TaskConfig(kind="classify", n_outputs=2, batch_size=16, epochs=1,
                                 lr=0.1, awd_off=True, lr_schedule="constant", unfreeze=False)
    task = task_training.FineTuneTask(cfg, [encoder], train, dev, labels, encoder.spm_model,
                                      log=_quiet, test=dev)
    task.build_graph(0)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with tf.compat.v1.Session(graph=task.graph) as sess:
        sess.run(task.init_op)
        task.write_files(str(run_dir))
        best = run_dir / "best"
        task.saver.save(sess, str(best / "model"))
        best_outputs, best_loss = task.predict(sess, dev)
        state = {"epoch": 1, "batch": 0}
        for _ in range(6):
            task.train_step(sess, state)
        last_outputs, last_loss = task.predict(sess, dev)
        assert not np.allclose(np.array(last_outputs), np.array(best_outputs), atol=1e-3)
        task.finish(sess, state, str(best))
    got = state["test_metrics"]
    assert got["test_loss"] == pytest.approx(best_loss, rel=1e-6)
    assert got["test_loss"] != pytest.approx(last_loss, rel=1e-3)
    assert got["test_accuracy"] == task.scores(best_outputs, dev, prefix="test")["test_accuracy"]
    assert (run_dir / "confusion.png").is_file()
