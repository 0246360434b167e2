"""The language model's graph: loss, training ops, evaluation, saving and loading.

`LMGraph(model_config, train_config)` builds, in its own `tf.Graph`, the
`lm_model.LanguageModel` forward pass on `ids` / `targets` placeholders, the
per-token cross-entropy, and (with a `train_config`) one training step.
Without a `train_config` the graph is for inference only: its cells are built
with `training=False`, so `awdrnn.dynamic_rnn` runs the inference pass (and,
with a static `batch_size` of at most 4, the XLA-compiled one: generation and
batch-1 test evaluation). The training step:

    loss  = mean(-log p(y | x)) + AR(dropped h_L) + TAR(raw h_L)
    g     = clip_by_global_norm(d loss / d w, clip) + wdecay * w   (norm of the dense g)
    w    <- SGD, Adam or AdamW(w, g, lr)     then, once switched on, avg <- average
The rate applied is the fed `lr` (base rate times `seq_len / bptt`), times
the stlr / one-cycle factor of the global step when `lr_schedule` asks for
one (`learning_rate`); AdamW takes `wdecay` as its decoupled decay instead.
With `discriminative` each ULMFiT layer group has its own optimizer, group
`g` of `n` at `lr_t / disc_factor ** (n - 1 - g)`; with `unfreeze`,
`stage_step_ops[s]` trains (and clips the gradients of) only the top `s + 1`
groups (`awdrnn.training.discriminative`, `unfreezing`).
`evaluate` gives the mean cross-entropy of a text with the state carried
across segments; `save_model` / `restore_model` write and read the model's
variables (shapes checked first).

    from awdrnn.lm import graph as lm_graph, model as lm_model
    g = lm_graph.LMGraph(lm_model.LMConfig(vocab_size=100, emsize=16, nhid=32))
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        loss = lm_graph.evaluate(sess, g, ids, batch_size=10, bptt_len=70)
"""

import os

import tensorflow as tf

from awdrnn.data import bptt, corpus
from awdrnn.lm import model as lm_model
from awdrnn.training import asgd, clipping, regularizers
from awdrnn.training.checkpoint_files import check_checkpoint_shapes, restore_variables  # noqa: F401
from awdrnn.training import discriminative, layer_groups, schedules, unfreezing
from awdrnn.training.adamw import AdamWOptimizer


class LMGraph:
    """The tensors of one language-model graph (inference, plus training ops).

    Args:
      model_config: `lm_model.LMConfig`.
      train_config: `TrainConfig`, or None for an inference-only graph.
      graph_seed: graph-level random seed (dropout masks).
      batch_size: static batch size of `ids` (None: any). Lets an
        inference-only graph pick the fastest path for that batch.
      total_steps: steps the stlr / one_cycle learning-rate schedule spans
        (needed with those `train_config.lr_schedule`s).
    """

    def __init__(self, model_config, train_config=None, graph_seed=None, batch_size=None,
                 total_steps=None):
        self.graph = tf.Graph()
        with self.graph.as_default():
            if graph_seed is not None:
                tf.compat.v1.set_random_seed(graph_seed)
            seed = train_config.seed if train_config is not None else None
            self.batch_size = batch_size
            self.ids = tf.compat.v1.placeholder(tf.int32, [batch_size, None], name="ids")
            self.targets = tf.compat.v1.placeholder(tf.int32, [batch_size, None],
                                                    name="targets")
            self.model = lm_model.LanguageModel(model_config, seed=seed)
            # Inference-only graphs fix training=False in the graph itself.
            self.out = self.model(self.ids, training=False if train_config is None else None)
            self.training = self.out.training
            self.probs_last = tf.nn.softmax(self.out.logits[:, -1])
            losses = lm_model.token_losses(self.out.logits, self.targets)
            self.loss_sum = tf.reduce_sum(losses)
            self.xent = tf.reduce_mean(losses)
            self.model_vars = tf.compat.v1.trainable_variables()
            self.model_saver = tf.compat.v1.train.Saver(self.model_vars, max_to_keep=None,
                                                        save_relative_paths=True)
            if train_config is not None:
                self._build_training(train_config, total_steps)
            self.init = tf.group(tf.compat.v1.global_variables_initializer(),
                                 tf.compat.v1.local_variables_initializer())
        self.graph.finalize()

    def _build_training(self, cfg, total_steps):
        self.lr = tf.compat.v1.placeholder(tf.float32, [], name="lr")
        self.ar = regularizers.activation_regularization(self.out.dropped_output, cfg.alpha)
        self.tar = regularizers.temporal_activation_regularization(self.out.raw_output, cfg.beta)
        self.loss = loss = self.xent + self.ar + self.tar
        grads = tf.gradients(loss, self.model_vars)
        self.dense_grads = [tf.convert_to_tensor(g) for g in grads]  # for inspection
        self.global_step = tf.compat.v1.train.get_or_create_global_step()
        self.lr_applied, self.beta1 = learning_rate(cfg, self.global_step, total_steps, self.lr)
        if cfg.optimizer == "adamw":
            # Decay decoupled (in the optimizer); AdamW updates every row anyway,
            # so the embedding's sparse gradient goes in dense.
            grads = [tf.convert_to_tensor(grad) for grad in grads]
            make = lambda lr: AdamWOptimizer(  # noqa: E731
                lr, beta1=self.beta1, beta2=cfg.adam_beta2, weight_decay=cfg.wdecay)
        elif cfg.optimizer == "adam":
            make = lambda lr: tf.compat.v1.train.AdamOptimizer(  # noqa: E731
                lr, beta1=self.beta1, beta2=cfg.adam_beta2)
        else:
            make = tf.compat.v1.train.GradientDescentOptimizer
        grad_of = dict(zip(self.model_vars, grads))

        def clipped(variables):
            """Clipped (and, but for AdamW, decayed) gradients of `variables` only."""
            clipped_grads, norm = clipping.clip_by_global_norm(
                [grad_of[v] for v in variables], cfg.clip)
            # No update before every gradient is computed (the norm needs them all):
            # the backward pass must not read a weight another update already changed.
            pairs = zip(_after(clipped_grads, norm), variables)
            return norm, (list(pairs) if cfg.optimizer == "adamw"
                          else regularizers.add_weight_decay(pairs, cfg.wdecay))

        self.grad_norm, grads_and_vars = clipped(self.model_vars)
        if cfg.discriminative or cfg.unfreeze:
            # ULMFiT: one optimizer per layer group (rates lr / factor ** (n - 1 - g));
            # with unfreeze, one train op per stage, each clipping only what it trains.
            self.layer_groups = layer_groups.lm_layer_groups(self.model_vars,
                                                             scope=self.model.scope)
            opt = discriminative.DiscriminativeOptimizer(
                make, self.lr_applied, self.layer_groups,
                factor=cfg.disc_factor if cfg.discriminative else 1.0)
            if cfg.unfreeze:
                train_ops = unfreezing.stage_train_ops(
                    opt, lambda variables: clipped(variables)[1], self.global_step)
            else:
                train_ops = [opt.apply_gradients(grads_and_vars, global_step=self.global_step)]
        else:
            self.layer_groups = None
            train_ops = [make(self.lr_applied).apply_gradients(grads_and_vars,
                                                               global_step=self.global_step)]
        self.averager = asgd.WeightAverager(self.model_vars)
        self.stage_step_ops = []  # op s: step of unfreezing stage s (one op without unfreeze)
        for train_op in train_ops:
            with tf.control_dependencies([train_op]):
                self.stage_step_ops.append(self.averager.update_op())
        self.step_op = self.stage_step_ops[-1]
        self.saved_vars = tf.compat.v1.global_variables()
        self.saver = tf.compat.v1.train.Saver(self.saved_vars, max_to_keep=None,
                                              save_relative_paths=True)

    def feed(self, x, state, y=None, training=False):
        feed = self.model.state_feed(self.out.initial_state, state)
        feed[self.ids] = x
        if y is not None:
            feed[self.targets] = y
        if isinstance(self.training, bool):
            if training:
                raise ValueError("this LMGraph was built for inference only (no "
                                 "train_config): it has no training mode.")
        else:
            feed[self.training] = training
        return feed


def _after(grads, op):
    """`grads` (tensors, `IndexedSlices` or None) as identities that run after `op`."""
    out = []
    with tf.control_dependencies([op]):
        for grad in grads:
            if isinstance(grad, tf.IndexedSlices):
                grad = tf.IndexedSlices(tf.identity(grad.values), grad.indices, grad.dense_shape)
            elif grad is not None:
                grad = tf.identity(grad)
            out.append(grad)
    return out


def learning_rate(cfg, step, total_steps, lr):
    """The learning rate applied and Adam's beta1 at `step`, in the graph.

    With `u = step` (updates done) and `T = total_steps`:

        constant:  lr_t = lr                                    beta1 = adam_beta1
        stlr:      lr_t = lr * slanted_triangular(u, T, 1)      beta1 = adam_beta1
        one_cycle: lr_t = lr * one_cycle(u, T, 1)[0]            beta1 = one_cycle(u, T, 1, moms)[1]

(one_cycle cycles beta1 for "adamw" only, whose bias correction uses the
current beta1 as PyTorch's does; TF's `AdamOptimizer` accumulates `beta1**t`
from the beta1 of its first step, so "adam" keeps `adam_beta1`.)

    Both schedules are proportional to their peak rate, so computing them
    with peak 1 and multiplying by the fed `lr` (base rate times `seq_len /
    bptt`) keeps the variable-BPTT rescaling; the formulas are those of
    `awdrnn.training.schedules` (cut_frac 0.1, ratio 32; pct_start 0.3,
    div_factor 25, final_div 25e4).

    Args:
      cfg: `TrainConfig`.
      step: int tensor, the global step.
      total_steps: T (required unless `cfg.lr_schedule == "constant"`).
      lr: float32 scalar tensor, the fed rate.

    Returns:
      `(lr_t, beta1)`: float32 tensor and float or tensor.
    """
    if cfg.lr_schedule == "constant":
        return lr, cfg.adam_beta1
    if total_steps is None:
        raise ValueError(f"lr_schedule={cfg.lr_schedule!r} needs total_steps.")
    try:
        if cfg.lr_schedule == "stlr":
            return lr * schedules.slanted_triangular(step, total_steps, 1.0), cfg.adam_beta1
        factor, beta1 = schedules.one_cycle(step, total_steps, 1.0, moms=cfg.moms)
    except ValueError as e:
        raise ValueError(f"lr_schedule={cfg.lr_schedule!r} over {total_steps} steps "
                         f"(epochs={cfg.epochs} times the steps of an epoch): {e}") from None
    if cfg.optimizer != "adamw":  # TF's Adam keeps beta1**t from its first beta1
        beta1 = cfg.adam_beta1
    return lr * factor, beta1


def evaluate(session, g, ids, batch_size, bptt_len):
    """Mean per-token cross-entropy (nats) of `ids` with dropout off.

    The text is cut into `batch_size` streams and read in segments of
    `bptt_len`, carrying the state (the paper uses batch size 10 on valid
    and 1 on test).

    Raises:
      ValueError: `g` was built for another static batch size.
    """
    if g.batch_size not in (None, batch_size):
        raise ValueError(f"the graph was built for batch size {g.batch_size}, "
                         f"evaluate was asked for {batch_size}.")
    streams = corpus.batchify(ids, batch_size)
    state = g.model.zero_state(batch_size)
    total, count = 0.0, 0
    for start, seq_len in bptt.SegmentSampler(bptt_len, variable=False).epoch(streams.shape[1]):
        x = streams[:, start:start + seq_len]
        y = streams[:, start + 1:start + 1 + seq_len]
        loss_sum, state = session.run([g.loss_sum, g.out.final_state], g.feed(x, state, y))
        total += float(loss_sum)
        count += y.size
    return total / count


def save_model(session, g, folder):
    """Writes the model variables of `g` to `folder/model`."""
    with g.graph.as_default():  # v1 savers work only in their graph
        g.model_saver.save(session, os.path.join(folder, "model"), write_meta_graph=False,
                           write_state=False)


def restore_model(session, g, folder, what="checkpoint"):
    """Restores the model variables from a `best/` (or checkpoint) folder.

    Raises:
      CheckpointMismatch: variables missing or of another shape.
    """
    with g.graph.as_default():
        restore_variables(session, g.model_saver, g.model_vars, folder, what)
