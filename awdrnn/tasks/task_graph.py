"""The graph of a task model: pretrained encoder(s), a task head, its loss and fine-tuning ops.

    ids [batch, time] (right-padded, pad id 1), lengths [batch]
    h   = encoder(ids, lengths)                              # [batch, time, emsize]
    classify: p = softmax(blocks(concat_pool(h, mask)))      # [batch, n_classes]
    regress:  s = blocks(concat_pool(h, mask))[:, 0]         # [batch]
      siamese pairs (rows 0..B-1 the first sentences, B..2B-1 the second ones):
              u, v = concat_pool(h, mask)[:B], [B:]           # [B, 3 emsize] each
              s = blocks([u, v, |u - v|, u * v])[:, 0]        # [B]
    tag:      p = softmax(dense(drop([h_fwd, h_bwd])))       # [batch, time, n_tags]

`blocks` is fastai's `PoolingLinearClassifier` body (`heads.linear_blocks`:
BatchNorm, dropout, dense; ReLU between blocks), `concat_pool` ULMFiT's
`[h_T, max, mean]` over real tokens (`pooling.concat_pooling`). The tagger's
backward encoder reads each row reversed within its length
(`tf.reverse_sequence`: pads stay on the right) and its outputs are reversed
back, so position t sees the whole sentence: left context from the forward
encoder, right context from the backward one.

Training ops (a graph built with `training=True`): the layer groups
`[embedding] [layer0] .. [layer L-1] [head]` (fastai's `awd_lstm_clas_split`;
the forward and backward encoders' groups of the same level are one group),
one optimizer per group at `lr / disc_factor ** (n - 1 - g)`
(`training.discriminative`), one train op per gradual-unfreezing stage
(`training.unfreezing`: stage s trains the top s + 1 groups), the schedule
of `lm.graph.learning_rate` over `total_steps`, the head's BatchNorm updates
run by every train op. No weight changes before every gradient is computed.

    import tensorflow as tf
    from awdrnn.lm import model as lm_model
    from awdrnn.tasks import task_config, task_graph
    enc = lm_model.LMConfig(vocab_size=30, emsize=8, nhid=16, nlayers=2)
    g = task_graph.TaskGraph(task_config.TaskConfig(kind="classify", n_outputs=3),
                             enc, total_steps=10)
    with tf.compat.v1.Session(graph=g.graph) as sess:
        sess.run(g.init_op)
        feed = g.feed([[2, 5, 6, 3], [2, 7, 3, 1]], [4, 3], labels=[0, 2], training=True)
        loss, _ = sess.run([g.loss, g.stage_ops[-1]], feed)
    print(len(g.layer_groups))   # 4: embedding, layer0, layer1, head
"""

import dataclasses

import tensorflow as tf

from awdrnn.lm import model as lm_model
from awdrnn.lm.graph import _after, learning_rate
from awdrnn.tasks import heads, lr_finder, pooling
from awdrnn.training import clipping, discriminative, layer_groups, regularizers, unfreezing
from awdrnn.training.adamw import AdamWOptimizer
from awdrnn.variational_dropout import locked_dropout

SCOPES = ("encoder", "encoder_bwd")
HEAD_SCOPE = "head"
IGNORE = -1  # tag label of pieces that are not a word's first piece


class TaskGraph:
    """A task model in its own `tf.Graph`.

    Args:
      config: `task_config.TaskConfig` (validated here).
      encoder_config: the encoder's `lm_model.LMConfig` (its dropouts are
        replaced by `config.encoder_keep_rates`).
      encoders: optional `encoder_io.Encoder`s to initialise from (forward,
        then backward for a backward tagger); None: fresh weights from the
        LM's initialisers (a trained task model restores its checkpoint over
        them; a from-scratch baseline trains them).
      training: build the training ops and a fed `training` switch; False:
        an inference graph (dropout fixed off, the encoder's inference pass).
      graph_seed: graph-level seed.
      total_steps: updates the learning-rate schedule spans.
      batch_size: static batch size of `ids` (None: any).

    Attributes: `ids`, `lengths`, `labels` (placeholders), `training`,
    `outputs` (probabilities `[batch, n]` / scores `[batch]` / tag
    probabilities `[batch, time, n]`), `head_features` (what the head reads:
    pooled `[batch, 3 emsize]`, siamese `[pairs, 12 emsize]`, tagger
    `[batch, time, width]`), `loss`, `size` (examples in the loss), `models`
    (the encoders' `LanguageModel`s), `encoder_outputs`, `init_op`, `saver`,
    `saved_vars`. A siamese regressor (`pair_encoding="siamese"`) is fed
    `2 * pairs` rows, the first sentences then the second ones, and `pairs`
    labels;
    with `training`: `global_step`, `lr` (the applied rate; feed it to
    override the schedule, as the LR finder does), `grad_norm`,
    `loss_gradients` (`{variable.op.name: d loss / d variable}` of every
    trainable variable, before clipping and weight decay; None where the
    loss does not depend on it), `layer_groups`, `stage_ops` (op s: one
    update at unfreezing stage s),
    `snapshot` (`lr_finder.VariableSnapshot` of every variable).
    """

    def __init__(self, config, encoder_config, encoders=None, training=True, graph_seed=None,
                 total_steps=None, batch_size=None):
        self.config = cfg = config.validate()
        n_encoders = 2 if cfg.backward else 1
        if encoders is not None and len(encoders) != n_encoders:
            raise ValueError(f"{n_encoders} encoder(s) needed (backward={cfg.backward}), got "
                             f"{len(encoders)}.")
        self.encoder_config = dataclasses.replace(
            encoder_config, **cfg.encoder_keep_rates(encoder_config.model))
        self.graph = tf.Graph()
        with self.graph.as_default():
            if graph_seed is not None:
                tf.compat.v1.set_random_seed(graph_seed)
            self.ids = tf.compat.v1.placeholder(tf.int32, [batch_size, None], name="ids")
            self.lengths = tf.compat.v1.placeholder(tf.int32, [batch_size], name="lengths")
            self.training = (tf.compat.v1.placeholder_with_default(False, [], name="training")
                             if training else False)
            self.mask = tf.sequence_mask(self.lengths, tf.shape(self.ids)[1])
            self._build_encoders(encoders, n_encoders)
            self._build_head()
            if training:
                self._build_training(total_steps)
            self.saved_vars = tf.compat.v1.global_variables()
            # The LR finder's save/restore of every variable (weights, slots, step).
            self.snapshot = lr_finder.VariableSnapshot(self.saved_vars) if training else None
            self.saver = tf.compat.v1.train.Saver(self.saved_vars, max_to_keep=None,
                                                  save_relative_paths=True)
            self.init_op = tf.group(tf.compat.v1.global_variables_initializer(),
                                    tf.compat.v1.local_variables_initializer())
        self.graph.finalize()

    # --- the model -------------------------------------------------------------------
    def _build_encoders(self, encoders, n_encoders):
        self.models, self.encoder_outputs = [], []
        keeps = self.config.encoder_keep_rates(self.encoder_config.model)
        for k in range(n_encoders):
            ids = self.ids if k == 0 else tf.reverse_sequence(
                self.ids, self.lengths, seq_axis=1, batch_axis=0)
            if encoders is not None:
                out = encoders[k].build(ids, self.training, scope=SCOPES[k],
                                        lengths=self.lengths,
                                        rnn_impl=self.encoder_config.rnn_impl, **keeps)
                model = encoders[k].model
            else:
                model = lm_model.LanguageModel(self.encoder_config, scope=SCOPES[k])
                out = model.encode(ids, self.training, lengths=self.lengths)
            self.models.append(model)
            self.encoder_outputs.append(out)
        self.initial_state = [out.initial_state for out in self.encoder_outputs]
        self.final_state = [out.final_state for out in self.encoder_outputs]

    def _build_head(self):
        cfg = self.config
        keeps = cfg.head_keep_rates()
        seed = cfg.seed
        if cfg.kind == "tag":
            fwd = self.encoder_outputs[0].raw_output
            features = [fwd]
            if cfg.backward:
                bwd = self.encoder_outputs[1].raw_output
                features.append(tf.reverse_sequence(bwd, self.lengths, seq_axis=1,
                                                    batch_axis=0))
            x = tf.concat(features, axis=-1) if len(features) > 1 else fwd
            self.head_features = x
            x = locked_dropout(x, keeps[0], self.training, seed=seed)
            with tf.compat.v1.variable_scope(HEAD_SCOPE):
                self.logits = _dense(x, cfg.n_outputs, seed)
            self.labels = tf.compat.v1.placeholder(tf.int32, [None, None], name="labels")
            self.outputs = tf.nn.softmax(self.logits)
            labelled = tf.greater_equal(self.labels, 0)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.maximum(self.labels, 0), logits=self.logits)
            weights = tf.cast(labelled, tf.float32)
            self.loss = tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
            self.size = tf.reduce_sum(tf.cast(labelled, tf.int32))
            return
        pooled = pooling.concat_pooling(self.encoder_outputs[0].raw_output, self.mask)
        self.size = tf.shape(self.ids)[0]
        if cfg.pair_encoding == "siamese":
            pooled = siamese_features(pooled)
            self.size = tf.shape(pooled)[0]
        self.head_features = pooled
        sizes = ([cfg.head_hidden] if cfg.head_hidden else []) + [cfg.n_outputs]
        self.logits = heads.linear_blocks(pooled, sizes, keeps, self.training, seed=seed,
                                          scope=HEAD_SCOPE)
        if cfg.kind == "classify":
            self.labels = tf.compat.v1.placeholder(tf.int32, [None], name="labels")
            self.outputs = tf.nn.softmax(self.logits)
            self.loss = heads.classification_loss(self.logits, self.labels,
                                                  cfg.label_smoothing)
        else:
            self.labels = tf.compat.v1.placeholder(tf.float32, [None], name="labels")
            self.outputs = self.logits[:, 0]
            self.loss = heads.regression_loss(self.outputs, self.labels, cfg.loss)

    # --- fine-tuning -----------------------------------------------------------------
    def _groups(self, variables):
        """ULMFiT's classifier split: embedding, each layer, head (lowest first)."""
        per_level = None
        for k, scope in enumerate(SCOPES[:len(self.models)]):
            mine = [v for v in variables if v.op.name.startswith(scope + "/")]
            groups = layer_groups.lm_layer_groups(mine, scope=scope, embedding_last=False)
            per_level = groups if per_level is None else [
                layer_groups.LayerGroup(a.name, a.variables + b.variables)
                for a, b in zip(per_level, groups)]
        head = [v for v in variables if v.op.name.startswith(HEAD_SCOPE + "/")]
        return per_level + [layer_groups.LayerGroup(HEAD_SCOPE, head)]

    def _build_training(self, total_steps):
        cfg = self.config
        variables = tf.compat.v1.trainable_variables()
        self.layer_groups = self._groups(variables)
        self.global_step = tf.compat.v1.train.get_or_create_global_step()
        scheduled, beta1 = learning_rate(cfg, self.global_step, total_steps,
                                         tf.constant(cfg.lr, tf.float32))
        self.lr = tf.compat.v1.placeholder_with_default(scheduled, [], name="lr")
        if cfg.optimizer == "adamw":
            make = lambda lr: AdamWOptimizer(lr, beta1=beta1, beta2=cfg.adam_beta2,  # noqa
                                             weight_decay=cfg.weight_decay)
        elif cfg.optimizer == "adam":
            make = lambda lr: tf.compat.v1.train.AdamOptimizer(  # noqa: E731
                lr, beta1=cfg.adam_beta1, beta2=cfg.adam_beta2)
        else:
            make = tf.compat.v1.train.GradientDescentOptimizer
        grads = [None if g is None else tf.convert_to_tensor(g)
                 for g in tf.gradients(self.loss, variables)]
        self.loss_gradients = grad_of = {v.op.name: g for v, g in zip(variables, grads)}

        def clipped(subset):
            """Clipped (and, but for AdamW, L2-decayed) gradients of `subset` only."""
            subset = [v for v in subset if grad_of[v.op.name] is not None]
            gs, norm = clipping.clip_by_global_norm([grad_of[v.op.name] for v in subset],
                                                    cfg.clip)
            pairs = list(zip(_after(gs, norm), subset))
            if cfg.optimizer != "adamw":
                pairs = regularizers.add_weight_decay(pairs, cfg.weight_decay)
            return norm, pairs

        self.grad_norm, all_pairs = clipped(variables)
        opt = discriminative.DiscriminativeOptimizer(
            make, self.lr, self.layer_groups,
            factor=cfg.disc_factor if cfg.discriminative else 1.0)
        if cfg.unfreeze:
            ops = unfreezing.stage_train_ops(opt, lambda vs: clipped(vs)[1], self.global_step)
        else:
            ops = [opt.apply_gradients(all_pairs, global_step=self.global_step)]
        updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, HEAD_SCOPE)
        self.stage_ops = [tf.group(op, *updates) for op in ops]

    def stage_op(self, epoch):
        """The train op of `epoch` (1-based): stage `epoch - 1`, the last one after."""
        return self.stage_ops[min(epoch - 1, len(self.stage_ops) - 1)]

    # --- feeding ---------------------------------------------------------------------
    def zero_state(self, batch_size):
        """Zero initial states of every encoder (NumPy)."""
        return [model.zero_state(batch_size) for model in self.models]

    def feed(self, ids, lengths, labels=None, state=None, training=False):
        """The feed dict of a batch; `state`: the encoders' initial states
        (default zeros), as `zero_state` or `final_state` values."""
        feed = {self.ids: ids, self.lengths: lengths}
        if state is None:
            state = self.zero_state(len(lengths))
        for model, placeholders, value in zip(self.models, self.initial_state, state):
            feed.update(model.state_feed(placeholders, value))
        if labels is not None:
            feed[self.labels] = labels
        if isinstance(self.training, bool):
            if training:
                raise ValueError("this TaskGraph was built for inference (training=False).")
        else:
            feed[self.training] = training
        return feed


def siamese_features(pooled):
    """The features of sentence pairs from the pooled rows of both sentences.

        u = pooled[:B], v = pooled[B:]          (B = rows / 2)
        features = [u, v, |u - v|, u * v]       # [B, 4 * width]

    (InferSent's pair features, Conneau et al. 2017, which its STS-B and SICK
    heads read.) The encoder and the pooling are shared by both
    sentences, so the features of (a, b) and (b, a) hold the same numbers,
    in another order.

    Args:
      pooled: float `[2 B, width]`, rows `0..B-1` the first sentences of the
        pairs, rows `B..2B-1` their second sentences, in the same order.

    Returns:
      float `[B, 4 * width]`; running it on an odd number of rows fails
      (`InvalidArgumentError`).
    """
    rows = tf.shape(pooled)[0]
    even = tf.debugging.assert_equal(
        rows % 2, 0, message="siamese pairs need an even number of rows (first sentences, "
                             "then second ones)")
    with tf.control_dependencies([even]):
        half = rows // 2
    u, v = pooled[:half], pooled[half:]
    return tf.concat([u, v, tf.abs(u - v), u * v], axis=-1)


def _dense(x, units, seed):
    """`x W + b` over the last axis, W and b drawn as PyTorch's `nn.Linear` draws them."""
    depth = x.shape[-1]
    depth = tf.compat.dimension_value(depth)
    bound = 1.0 / depth ** 0.5
    init = lambda k: tf.compat.v1.random_uniform_initializer(  # noqa: E731
        -bound, bound, seed=None if seed is None else seed * 100 + k)
    kernel = tf.compat.v1.get_variable("dense/kernel", [depth, units], initializer=init(1))
    bias = tf.compat.v1.get_variable("dense/bias", [units], initializer=init(2))
    return tf.tensordot(x, kernel, [[x.shape.rank - 1], [0]]) + bias
