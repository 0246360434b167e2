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
    w    <- SGD or Adam(w, g, lr)            then, once switched on, avg <- average
`evaluate` gives the mean cross-entropy of a text with the state carried
across segments; `save_model` / `restore_model` write and read the model's
variables (shapes checked first).

    from awdrnn import lm_graph, lm_model
    g = lm_graph.LMGraph(lm_model.LMConfig(vocab_size=100, emsize=16, nhid=32))
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init)
        loss = lm_graph.evaluate(sess, g, ids, batch_size=10, bptt_len=70)
"""

import os

import tensorflow as tf

from awdrnn import asgd, bptt, clipping, corpus, lm_model, regularizers
from awdrnn.lm_errors import CheckpointMismatch


class LMGraph:
    """The tensors of one language-model graph (inference, plus training ops).

    Args:
      model_config: `lm_model.LMConfig`.
      train_config: `TrainConfig`, or None for an inference-only graph.
      graph_seed: graph-level random seed (dropout masks).
      batch_size: static batch size of `ids` (None: any). Lets an
        inference-only graph pick the fastest path for that batch.
    """

    def __init__(self, model_config, train_config=None, graph_seed=None, batch_size=None):
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
                self._build_training(train_config)
            self.init = tf.group(tf.compat.v1.global_variables_initializer(),
                                 tf.compat.v1.local_variables_initializer())
        self.graph.finalize()

    def _build_training(self, cfg):
        self.lr = tf.compat.v1.placeholder(tf.float32, [], name="lr")
        self.ar = regularizers.activation_regularization(self.out.dropped_output, cfg.alpha)
        self.tar = regularizers.temporal_activation_regularization(self.out.raw_output, cfg.beta)
        self.loss = loss = self.xent + self.ar + self.tar
        grads = tf.gradients(loss, self.model_vars)
        self.dense_grads = [tf.convert_to_tensor(g) for g in grads]  # for inspection
        grads, self.grad_norm = clipping.clip_by_global_norm(grads, cfg.clip)
        grads_and_vars = regularizers.add_weight_decay(zip(grads, self.model_vars), cfg.wdecay)
        self.global_step = tf.compat.v1.train.get_or_create_global_step()
        if cfg.optimizer == "adam":
            opt = tf.compat.v1.train.AdamOptimizer(self.lr)
        else:
            opt = tf.compat.v1.train.GradientDescentOptimizer(self.lr)
        train_op = opt.apply_gradients(grads_and_vars, global_step=self.global_step)
        self.averager = asgd.WeightAverager(self.model_vars)
        with tf.control_dependencies([train_op]):
            self.step_op = self.averager.update_op()
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


def check_checkpoint_shapes(prefix, variables, what="checkpoint"):
    """Raises CheckpointMismatch unless `prefix` holds every variable with its shape.

    (A v1 `Saver` restoring resource variables does not check shapes itself.)
    """
    try:
        saved = dict(tf.train.list_variables(prefix))
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:300]
        raise CheckpointMismatch(f"cannot read {what} {prefix!r}: {first}") from None
    for v in variables:
        name, shape = v.op.name, v.shape.as_list()
        if name not in saved:
            raise CheckpointMismatch(
                f"{what} {prefix!r} does not match this model: it has no variable {name}.")
        if list(saved[name]) != shape:
            raise CheckpointMismatch(
                f"{what} {prefix!r} does not match this model: {name} has shape "
                f"{list(saved[name])} there but {shape} here.")


def restore_model(session, g, folder, what="checkpoint"):
    """Restores the model variables from a `best/` (or checkpoint) folder.

    Raises:
      CheckpointMismatch: variables missing or of another shape.
    """
    with g.graph.as_default():
        restore_variables(session, g.model_saver, g.model_vars, folder, what)


def restore_variables(session, saver, variables, folder, what="checkpoint"):
    """`saver.restore` from `<folder>/model`, shapes checked first.

    Raises:
      CheckpointMismatch: variables missing or of another shape.
    """
    check_checkpoint_shapes(os.path.join(folder, "model"), variables, what)
    try:
        saver.restore(session, os.path.join(folder, "model"))
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, ValueError) as e:
        first = str(e).strip().splitlines()[0][:300]
        raise CheckpointMismatch(
            f"{what} {folder!r} does not match this model's shape: {first}") from None
