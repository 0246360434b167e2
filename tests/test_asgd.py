"""Tests of awdrnn.training.asgd: the NT trigger and weight averaging on a toy problem."""

import numpy as np
import pytest
import tensorflow as tf

from awdrnn.training import asgd


def _reference_switch(history, val_loss, nonmono):
    # salesforce main.py:
    # len(best_val_loss) > nonmono and val_loss > min(best_val_loss[:-nonmono])
    return len(history) > nonmono and val_loss > min(history[:-nonmono])


def test_trigger_on_a_worked_sequence():
    trigger = asgd.NonMonotonicTrigger(nonmono=2)
    decisions = [trigger.should_switch(v) for v in [5, 4, 3, 3.1, 3.2, 4.5]]
    # At 4.5 the history is [5, 4, 3, 3.1, 3.2]; best before the last 2 is 3.
    assert decisions == [False] * 5 + [True]


def test_trigger_matches_the_reference_on_random_sequences():
    rng = np.random.RandomState(0)
    for nonmono in (1, 3, 5):
        trigger = asgd.NonMonotonicTrigger(nonmono)
        history = []
        for v in rng.rand(60):
            assert trigger.should_switch(v) == _reference_switch(history, v, nonmono)
            history.append(v)
        restored = asgd.NonMonotonicTrigger.from_state(trigger.get_state())
        assert restored.history == trigger.history


def test_trigger_rejects_bad_nonmono():
    with pytest.raises(ValueError, match="nonmono must be a positive int, got 0"):
        asgd.NonMonotonicTrigger(0)


def _toy_problem(seed=0):
    """Noisy SGD on 0.5 * ||w - c||^2: gradient (w - c) + noise."""
    c = np.array([1.0, -2.0, 0.5], np.float32)
    w = tf.compat.v1.get_variable("w", initializer=np.zeros(3, np.float32))
    noise = tf.random.normal([3], seed=seed)
    grad = (w - c) + noise
    step = tf.compat.v1.assign_sub(w, 0.3 * grad)
    return c, w, step


def _averaged_toy_problem():
    """The toy problem, its averager, and a train op that steps then averages."""
    c, w, step = _toy_problem()
    averager = asgd.WeightAverager([w])
    with tf.control_dependencies([step]):
        train = averager.update_op()
    return c, w, averager, train


def _init(sess):
    sess.run([tf.compat.v1.global_variables_initializer(),
              tf.compat.v1.local_variables_initializer()])


def test_average_equals_the_mean_of_iterates_after_the_switch():
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(1)
        c, w, averager, train = _averaged_toy_problem()
        with tf.compat.v1.Session() as sess:
            _init(sess)
            for _ in range(20):                       # plain SGD: no averaging
                sess.run(train)
            assert sess.run(averager.count) == 0
            sess.run(averager.start_op)
            iterates = []
            for _ in range(200):
                sess.run(train)
                iterates.append(sess.run(w))
            assert sess.run(averager.count) == 200
            avg = sess.run(averager.averages[w])
            np.testing.assert_allclose(avg, np.mean(iterates, axis=0), rtol=1e-4, atol=1e-5)
            # The average is much closer to the optimum than the noisy last iterate.
            assert np.linalg.norm(avg - c) < 0.3 * np.linalg.norm(iterates[-1] - c)
            last = sess.run(w)
            with averager.averaged(sess) as on:
                assert on
                np.testing.assert_allclose(sess.run(w), avg)
            np.testing.assert_array_equal(sess.run(w), last)   # training weights back


def test_averaged_restores_weights_after_an_exception():
    with tf.Graph().as_default():
        _, w, averager, train = _averaged_toy_problem()
        with tf.compat.v1.Session() as sess:
            _init(sess)
            sess.run(averager.start_op)
            for _ in range(5):
                sess.run(train)
            before = sess.run(w)
            with pytest.raises(RuntimeError):
                with averager.averaged(sess):
                    raise RuntimeError("boom")
            np.testing.assert_array_equal(sess.run(w), before)


def test_inactive_averaged_is_a_no_op():
    with tf.Graph().as_default():
        _, w, _ = _toy_problem()
        averager = asgd.WeightAverager([w])
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            with averager.averaged(sess) as on:
                assert not on


def test_switch_and_average_survive_a_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt")
    with tf.Graph().as_default():
        _, w, averager, train = _averaged_toy_problem()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            _init(sess)
            sess.run(averager.start_op)
            for _ in range(7):
                sess.run(train)
            saved = sess.run([averager.active, averager.count, averager.averages[w]])
            saver.save(sess, path)
    with tf.Graph().as_default():
        _, w, _ = _toy_problem()
        averager = asgd.WeightAverager([w])
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            saver.restore(sess, path)
            got = sess.run([averager.active, averager.count, averager.averages[w]])
    assert got[0] and got[1] == 7
    np.testing.assert_array_equal(got[2], saved[2])
