"""Training speed of the QRNN and LSTM presets at the same size, measured in one run.

    python bench/preset_speed.py                          # ulmfit_small vs multifit_small
    python bench/preset_speed.py --presets=ulmfit_small,multifit_small --rounds=30

Each preset's full training step (`lm_graph.LMGraph`: embedding, the
recurrent layers through the default `rnn_impl=fast`, all five dropouts, the
tied `vocab`-way softmax, AR/TAR, clipping, AdamW, one-cycle, weight
averaging) on random ids, at the preset's batch size and bptt. The graphs are
built first, then timed round-robin (one step of each per round, after
`--warmup` untimed rounds), and the median step time per preset is reported
as training tokens/s (`batch * bptt / median`), with the ratio against the
first preset (the baseline): machine load affects all alike. The `_small`
presets have the same size (emsize 200, 3 layers of 400), so the ratio is
the recurrent layer's doing. `--vocab` defaults to 15,000, the SentencePiece
vocabulary of the MultiFiT presets (the softmax is most of a step).
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from awdrnn.lm import (  # noqa: E402
    graph as lm_graph, model as lm_model, presets, training as lm_training)

DROPS = {"dropout": "dropout_kr", "dropouth": "dropouth_kr", "dropouti": "dropouti_kr",
         "dropoute": "dropoute_kr", "wdrop": "wdrop_kr"}


def preset_configs(name, vocab):
    """`(LMConfig, TrainConfig)` of preset `name` (drop rates times its drop_mult)."""
    p = presets.get(name)
    mult = p.get("drop_mult", 1.0)
    model = lm_model.LMConfig(vocab_size=vocab, emsize=p["emsize"], nhid=p["nhid"],
                              nlayers=p["nlayers"], model=p["model"],
                              **{kr: 1.0 - p[rate] * mult for rate, kr in DROPS.items()})
    train = lm_training.TrainConfig(
        lr=p["lr"], clip=p["clip"], epochs=p["epochs"], batch_size=p["batch_size"],
        bptt=p["bptt"], alpha=p["alpha"], beta=p["beta"], wdecay=p["wdecay"],
        optimizer=p["optimizer"], adam_beta1=p["adam_beta1"], adam_beta2=p["adam_beta2"],
        lr_schedule=p["lr_schedule"], moms=tuple(p["moms"]))
    return model.validate(), train.validate()


class PresetStep:
    """One preset's training graph, its session and a step on random ids."""

    def __init__(self, name, vocab, threads, seed=0):
        self.name = name
        model_cfg, self.cfg = preset_configs(name, vocab)
        self.g = lm_graph.LMGraph(model_cfg, self.cfg, graph_seed=seed, total_steps=10 ** 6)
        self.sess = tf.compat.v1.Session(graph=self.g.graph, config=tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads))
        self.sess.run(self.g.init)
        rng = np.random.default_rng(seed)
        shape = (self.cfg.batch_size, self.cfg.bptt)
        self.x, self.y = (rng.integers(0, vocab, shape).astype(np.int32) for _ in range(2))
        self.hidden = self.g.model.zero_state(self.cfg.batch_size)
        self.tokens = self.x.size

    def step(self):
        """Seconds of one training step (the final state carried to the next, as in training)."""
        feed = self.g.feed(self.x, self.hidden, self.y, training=True)
        feed[self.g.lr] = self.cfg.lr
        start = time.perf_counter()
        _, self.hidden, _ = self.sess.run([self.g.xent, self.g.out.final_state, self.g.step_op],
                                          feed)
        return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="ulmfit_small,multifit_small",
                        help="comma-separated preset names; the first is the baseline")
    parser.add_argument("--vocab", type=int, default=15000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    steps = [PresetStep(name, args.vocab, args.threads) for name in args.presets.split(",")]
    times = {s.name: [] for s in steps}
    for round_ in range(args.warmup + args.rounds):
        for s in steps:
            seconds = s.step()
            if round_ >= args.warmup:
                times[s.name].append(seconds)
    base = None
    print(f"vocab {args.vocab}, {args.rounds} timed rounds (round-robin) after {args.warmup}, "
          f"{args.threads} threads")
    print("| preset | model | emsize / nhid x layers | batch x bptt | median step (s) "
          "| tokens/s | vs first |")
    print("|---|---|---|---|--:|--:|--:|")
    for s in steps:
        median = statistics.median(times[s.name])
        rate = s.tokens / median
        base = base or rate
        p = presets.get(s.name)
        print(f"| {s.name} | {p['model']} | {p['emsize']} / {p['nhid']} x {p['nlayers']} "
              f"| {s.cfg.batch_size} x {s.cfg.bptt} | {median:.3f} | {rate:,.0f} "
              f"| {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
