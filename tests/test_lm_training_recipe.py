"""The training loop's recipe, pinned through what the trainer actually runs.

`Trainer` is run with `tf.compat.v1.Session` replaced by a recording session
that, around every training step, reads the weights before and after it and
the step's logits and final state (dropout off, so these are deterministic),
and at every evaluation run the weights the model holds. Expected values
come from NumPy: the softmax-bias update `-lr * seq_len / bptt * d xent / d b`
(the one gradient that is plain NumPy from the logits), the segments and
states that must be fed (zeros at every epoch start, the previous segment's
final state otherwise), the uniform NT-ASGD average of the weights after each
step, and a validation loss computed in one pass over each stream.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.lm import graph as lm_graph, training as lm_training
from awdrnn.training import checkpoints

import lm_test_data

NO_DROPOUT = lm_test_data.NO_DROPOUT


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return lm_test_data.tiny_corpus(tmp_path_factory.mktemp("corpus"))


class Recording:
    """What a trainer's session ran: training steps and evaluation runs, in order."""

    def __init__(self, g):
        self.g = g
        self.events = []           # ("step", dict) / ("eval", dict)
        self.names = [v.op.name for v in g.model_vars]

    def steps(self):
        return [e for kind, e in self.events if kind == "step"]

    def session_class(self):
        rec, g = self, self.g

        class RecordingSession(tf.compat.v1.Session):
            def run(self, fetches, feed_dict=None, **kwargs):
                if not feed_dict or g.ids not in feed_dict:
                    return super().run(fetches, feed_dict, **kwargs)
                weights = dict(zip(rec.names, super().run(g.model_vars)))
                state = [feed_dict[p] for p in tf.nest.flatten(g.out.initial_state)]
                if g.lr in feed_dict:
                    logits, final = super().run([g.out.logits, g.out.final_state], feed_dict)
                    result = super().run(fetches, feed_dict, **kwargs)
                    after = dict(zip(rec.names, super().run(g.model_vars)))
                    rec.events.append(("step", dict(
                        x=feed_dict[g.ids], y=feed_dict[g.targets], state=state,
                        before=weights, after=after, logits=logits,
                        final=tf.nest.flatten(final))))
                    return result
                rec.events.append(("eval", dict(x=feed_dict[g.ids], state=state,
                                                weights=weights)))
                return super().run(fetches, feed_dict, **kwargs)

        return RecordingSession


def _recorded_run(data, save, monkeypatch, model=None, **train):
    mcfg, tcfg = lm_test_data.tiny_configs(data, model, **train)
    trainer = lm_training.Trainer(mcfg, tcfg, data, str(save), log=lambda *a: None)
    rec = Recording(trainer.g)
    with monkeypatch.context() as m:
        m.setattr(tf.compat.v1, "Session", rec.session_class())
        metrics = trainer.run()
    return rec, metrics, tcfg


def _streams(ids, batch):
    n = len(ids) // batch
    return np.asarray(ids[:n * batch]).reshape(batch, n)


def _softmax_bias_grad(logits, y):
    """d mean(-log softmax(logits)[y]) / d softmax_b, in NumPy."""
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    p[np.arange(y.shape[0])[:, None], np.arange(y.shape[1])[None, :], y] -= 1.0
    return p.reshape(-1, p.shape[-1]).mean(0)


def _check_steps(steps, streams, cfg, lr_of_epoch):
    """Segments, state carry and reset, and the applied LR of recorded steps."""
    num_steps = streams.shape[1]
    position, epoch_starts = 0, []
    for k, s in enumerate(steps):
        if position >= num_steps - 1:                 # the previous epoch used all the data
            position = 0
        seq_len = s["x"].shape[1]
        np.testing.assert_array_equal(s["x"], streams[:, position:position + seq_len])
        np.testing.assert_array_equal(s["y"], streams[:, position + 1:position + 1 + seq_len])
        if position == 0:                             # each epoch starts from zeros
            epoch_starts.append(k)
            for v in s["state"]:
                np.testing.assert_array_equal(v, 0.0, err_msg=f"step {k + 1}: state not reset")
        else:                                         # ... and carries the state after that
            for got, want in zip(s["state"], steps[k - 1]["final"]):
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7,
                                           err_msg=f"step {k + 1}: state not carried")
        lr = lr_of_epoch(len(epoch_starts)) * seq_len / cfg.bptt
        want = s["before"]["lm/softmax_b"] - lr * _softmax_bias_grad(s["logits"], s["y"])
        np.testing.assert_allclose(s["after"]["lm/softmax_b"], want, rtol=1e-4, atol=1e-6,
                                   err_msg=f"step {k + 1} (seq_len {seq_len})")
        position += seq_len
    return epoch_starts


def test_segments_state_carry_and_reset_and_lr_per_segment(data, tmp_path, monkeypatch):
    # Plain SGD (no clipping, no weight decay) so that the softmax bias moves by
    # exactly -lr * seq_len / bptt times its NumPy gradient; --when=1 divides
    # the LR by 10 for epoch 2.
    rec, metrics, cfg = _recorded_run(data, tmp_path / "run", monkeypatch, NO_DROPOUT,
                                      epochs=2, lr=2.0, clip=0.0, wdecay=0.0, when=(1,))
    steps = rec.steps()
    assert len(steps) == metrics["steps"]
    assert len({s["x"].shape[1] for s in steps}) > 3          # variable lengths were drawn
    starts = _check_steps(steps, _streams(data.train, cfg.batch_size), cfg,
                          lambda epoch: 2.0 if epoch == 1 else 0.2)
    assert len(starts) == 2 and starts[0] == 0


def _checkpoint(folder):
    reader = tf.train.load_checkpoint(os.path.join(folder, "model"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


@pytest.fixture(scope="module")
def base_run(data, tmp_path_factory):
    """A run folder whose best model is the one after 2 tiny steps (dropout off): all but
    untrained, so that fine-tuning surely improves on it and saves a new best."""
    folder = tmp_path_factory.mktemp("base") / "run"
    mcfg, tcfg = lm_test_data.tiny_configs(data, NO_DROPOUT, max_steps=2, lr=1e-3)
    lm_training.Trainer(mcfg, tcfg, data, str(folder), log=lambda *a: None).run()
    return folder


def _copy(base_run, tmp_path):
    import shutil
    shutil.copytree(base_run, tmp_path / "run")
    return tmp_path / "run"


def test_evaluation_and_saved_model_use_the_nt_asgd_averages(data, base_run, tmp_path,
                                                             monkeypatch):
    # Fine-tuning averages from its first step: the weights during every
    # validation run must be the uniform average of the weights after each
    # step so far, training must continue from the raw weights, the saved best
    # model must be that average, and the test run must use the saved model.
    folder = _copy(base_run, tmp_path)
    base_best = _checkpoint(checkpoints.CheckpointStore(str(folder / "best")).latest())
    rec, metrics, _ = _recorded_run(data, folder, monkeypatch, NO_DROPOUT, finetune=True,
                                    epochs=2, test_batch_size=1)
    after, checked = [], {"valid": 0, "test": 0, "start": 0}
    previous = None
    for kind, e in rec.events:
        if kind == "step":
            if previous is not None:                  # training goes on from the raw weights
                for name, value in e["before"].items():
                    np.testing.assert_allclose(value, previous[name], rtol=1e-6, atol=1e-7)
            after.append(e["after"])
            previous = e["after"]
            continue
        if e["x"].shape[0] == 1:                      # test set (batch 1): the saved model
            best = _checkpoint(checkpoints.CheckpointStore(str(folder / "best")).latest())
            for name, value in e["weights"].items():
                np.testing.assert_array_equal(value, best[name], err_msg=name)
            checked["test"] += 1
        elif not after:                               # fine-tuning starts from the saved model
            for name, value in e["weights"].items():
                np.testing.assert_array_equal(value, base_best[name], err_msg=name)
            checked["start"] += 1
        else:
            for name, value in e["weights"].items():
                avg = np.mean([a[name].astype(np.float64) for a in after], axis=0)
                np.testing.assert_allclose(value, avg, rtol=1e-5, atol=1e-6,
                                           err_msg=f"{name} after {len(after)} steps")
            checked["valid"] += 1
    assert min(checked.values()) > 0, checked
    # The best model saved during fine-tuning is the average at its step.
    latest = checkpoints.CheckpointStore(str(folder / "best")).latest()
    step = int(os.path.basename(latest).split("-")[-1])
    assert step > 2 and any(e["stage"] == "finetune" for e in metrics["epochs"])
    saved = _checkpoint(latest)
    for name in rec.names:
        avg = np.mean([a[name].astype(np.float64) for a in after[:step]], axis=0)
        np.testing.assert_allclose(saved[name], avg, rtol=1e-5, atol=1e-6, err_msg=name)


def test_fine_tuning_stops_when_validation_stalls(data, base_run, tmp_path, monkeypatch):
    # Salesforce finetune.py: after each epoch, stop if the loss is worse than
    # the best of the epochs before the last `nonmono`. With nonmono=1 and
    # these losses, by hand: epoch 3 (2.5) is not worse than min(3.0); epoch 4
    # (2.9) is worse than min(3.0, 2.0): stop after epoch 4 of 8.
    folder = _copy(base_run, tmp_path)
    scripted = iter([5.0, 3.0, 2.0, 2.5, 2.9, 1.0, 1.0, 1.0, 1.0])   # the first: the start
    real = lm_training.evaluate

    def evaluate(session, g, ids, batch_size, bptt_len):
        loss = real(session, g, ids, batch_size, bptt_len)
        return next(scripted) if ids is data.valid else loss

    monkeypatch.setattr(lm_training, "evaluate", evaluate)
    mcfg, tcfg = lm_test_data.tiny_configs(data, NO_DROPOUT, finetune=True, epochs=8,
                                           nonmono=1)
    metrics = lm_training.Trainer(mcfg, tcfg, data, str(folder), log=lambda *a: None).run()
    finetune = [e for e in metrics["epochs"] if e.get("stage") == "finetune"]
    assert [e["epoch"] for e in finetune] == [1, 2, 3, 4]
    assert metrics["status"] == "completed" and metrics["test_ppl"] is not None


def _one_pass_loss(g, sess, ids, batch):
    """Mean cross-entropy of each stream read in one segment (NumPy softmax)."""
    streams = _streams(ids, batch)
    x, y = streams[:, :-1], streams[:, 1:]
    logits = sess.run(g.out.logits, g.feed(x, g.model.zero_state(batch)))
    z = logits - logits.max(-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return -np.take_along_axis(log_p, y[..., None], -1).mean()


def test_reported_perplexities_are_those_of_the_saved_model(data, tmp_path):
    # Dropout on in training; evaluation must be without it, over the whole
    # text with the state carried (here: each stream in one segment).
    mcfg, tcfg = lm_test_data.tiny_configs(data, epochs=2, test_batch_size=1)
    folder = str(tmp_path / "run")
    metrics = lm_training.Trainer(mcfg, tcfg, data, folder, log=lambda *a: None).run()
    g = lm_graph.LMGraph(mcfg)
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        lm_graph.restore_model(sess, g, checkpoints.CheckpointStore(
            os.path.join(folder, "best")).latest())
        valid = _one_pass_loss(g, sess, data.valid, tcfg.eval_batch_size)
        test = _one_pass_loss(g, sess, data.test, 1)
    assert metrics["valid_ppl"] == pytest.approx(np.exp(valid), rel=1e-4)
    assert metrics["test_ppl"] == pytest.approx(np.exp(test), rel=1e-4)
    assert min(e["valid_ppl"] for e in metrics["epochs"]) == pytest.approx(np.exp(valid), rel=1e-4)
