"""Tests of awdrnn.data.bptt: the paper's length distribution, LR rescale, epoch cover, state."""

import json

import numpy as np
import pytest

from awdrnn.data import bptt


def test_length_distribution_matches_the_paper():
    rng = np.random.RandomState(0)
    lens = np.array([bptt.sample_seq_len(rng, 70) for _ in range(40000)])
    short = lens < 52            # the bptt/2 = 35 mode (N(35, 5)), far from N(70, 5)
    assert abs(short.mean() - 0.05) < 0.005
    # int() truncates towards zero: mean of int(N(mu, 5)) is mu - ~0.5.
    assert abs(lens[~short].mean() - 69.5) < 0.15
    assert abs(lens[~short].std() - 5.0) < 0.15
    assert abs(lens[short].mean() - 34.5) < 0.6
    assert lens.min() >= 5


def test_same_draws_as_the_salesforce_rule():
    rng_a, rng_b = np.random.RandomState(3), np.random.RandomState(3)
    for _ in range(500):
        base = 70 if rng_b.random_sample() < 0.95 else 70 / 2.0
        expected = max(5, int(rng_b.normal(base, 5)))
        assert bptt.sample_seq_len(rng_a, 70) == expected


def test_minimum_and_cap():
    rng = np.random.RandomState(1)
    lens = [bptt.sample_seq_len(rng, 4, min_len=5) for _ in range(200)]
    assert min(lens) == 5
    assert all(bptt.sample_seq_len(rng, 70, max_len=12) <= 12 for _ in range(100))


def test_lr_scale():
    assert bptt.lr_scale(35, 70) == 0.5
    assert bptt.lr_scale(77, 70) == pytest.approx(1.1)


@pytest.mark.parametrize("variable", [True, False])
def test_epoch_covers_the_streams_once(variable):
    sampler = bptt.SegmentSampler(10, seed=2, variable=variable)
    segments = list(sampler.epoch(num_steps=101))
    pos = 0
    for start, seq_len in segments:
        assert start == pos and seq_len >= 1
        pos += seq_len
    assert pos == 100           # the last target is token 100
    if not variable:
        assert [s for _, s in segments] == [10] * 10


def test_state_round_trip_through_json():
    a = bptt.SegmentSampler(70, seed=5)
    list(a.epoch(500))
    state = json.loads(json.dumps(a.get_state()))
    b = bptt.SegmentSampler(70, seed=99)
    b.set_state(state)
    assert list(a.epoch(2000)) == list(b.epoch(2000))


@pytest.mark.parametrize("bad", [0, -3, 7.5, True])
def test_bad_bptt(bad):
    with pytest.raises(ValueError, match="bptt must be a positive int"):
        bptt.SegmentSampler(bad)
