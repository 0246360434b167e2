"""DropConnect on a cell's kernel, shared by `WeightDropLSTMCell` and `QRNNCell`.

    W~ = W * M / keep     (on the rows the cell chooses),   M ~ Bernoulli(keep)

`WeightDropMixin` holds what both cells do alike: argument checks, the mask
(persistent in a local variable with `use_vd=True`, fresh each run otherwise),
building the dropped kernel once per `session.run` outside the time loop, and
`get_vd_update_op()`. A cell supplies `_vd_mask_shape()` (the mask's shape,
asked at the cell's first call) and calls `_drop_connect(kernel, drop)` in its
step, where `drop(kernel, scaled_mask)` returns the dropped kernel.
"""

import tensorflow as tf
from tf_keras.src import backend as keras_backend

from awdrnn import dropout_masks
from awdrnn.kernels import graph_context
from awdrnn.kernels.graph_context import GraphCache


class WeightDropMixin:
    """DropConnect state and ops for a `LayerRNNCell` subclass.

    Subclasses set `_default_layer_name` and implement `_vd_mask_shape()`.
    """

    _default_layer_name = None

    def _init_weight_drop(self, weight_drop_kr, use_vd, training, seed):
        """Validates and stores the DropConnect arguments (call in `__init__`)."""
        weight_drop_kr = dropout_masks.check_keep_prob(weight_drop_kr, "weight_drop_kr")
        if not isinstance(weight_drop_kr, float):
            raise TypeError(
                "weight_drop_kr must be a Python float in (0, 1]; to switch "
                "DropConnect off in an evaluation graph pass training=False (or a "
                f"bool tensor), got {weight_drop_kr!r}.")
        self._weight_drop_kr = weight_drop_kr
        self._use_vd = bool(use_vd)
        self._training = dropout_masks.check_training(training)
        self._seed = seed
        self._mask = None  # PersistentMask, when use_vd (created at the first call)
        self._pending_update = None  # update op requested before the mask existed
        self._update_op = None  # the op that get_vd_update_op() hands out
        self._kernel_cache = GraphCache()

    def _make_unique_name(self, *args, **kwargs):
        # The stock default name (e.g. "lstm_cell"), so variable names match.
        del args, kwargs
        base_name = self._default_layer_name
        return keras_backend.unique_object_name(base_name, zero_based=False), base_name

    @property
    def weight_drop_kr(self):
        """Keep rate of DropConnect."""
        return self._weight_drop_kr

    @property
    def use_vd(self):
        """Whether the mask persists across runs until `get_vd_update_op()`."""
        return self._use_vd

    @property
    def _drops(self):
        return self._weight_drop_kr < 1.0

    def _read_persistent_mask(self, shape, dtype):
        """Reads the mask, created at the cell's first call under the cell's scope.

        An update op handed out before that (`get_vd_update_op()` before the
        first call) is a placeholder `NoOp`; the mask's real update becomes its
        control input here, so running the placeholder resamples the mask. If
        this read runs after the placeholder (built under
        `tf.control_dependencies` on it), the update is made before the read and
        the read sees the new sample; otherwise the update is made after the
        read and ordered after it, so the read sees the previous sample.
        """
        if self._mask is None:
            scope = self._scope.name if self._scope is not None else self.name
            self._mask = dropout_masks.PersistentMask(
                shape, self._weight_drop_kr, dtype, name=f"{scope}/weight_drop_mask",
                seed=self._seed)
        pending = self._pending_update
        if pending is not None and graph_context.under_control_dependency_on(pending):
            self._attach_pending_update()
        value = self._mask.read()
        if self._pending_update is not None:
            self._attach_pending_update()  # after the read: ordered after it
        return value

    def _attach_pending_update(self):
        self._pending_update._add_control_input(self._mask.update_op())
        self._pending_update = None

    def _drop_connect(self, kernel, drop):
        """The kernel the step uses; dropped once per graph, outside the time loop.

        Args:
          kernel: the kernel variable.
          drop: `drop(kernel, scaled_mask)` -> dropped kernel, where
            `scaled_mask = M / keep` has shape `_vd_mask_shape()`.

        Returns:
          `kernel` itself when nothing is dropped; otherwise one cached tensor
          per graph (every caller in a run sees the same mask), the undropped
          kernel when `training` is False.
        """
        if not self._drops:
            return kernel

        def build():
            value = tf.convert_to_tensor(kernel)
            dtype = value.dtype

            def dropped():
                shape = self._vd_mask_shape()
                if self._use_vd:
                    mask = self._read_persistent_mask(shape, dtype)
                else:
                    mask = dropout_masks.bernoulli_mask(
                        shape, self._weight_drop_kr, dtype, self._seed)
                return drop(value, mask * tf.constant(1.0 / self._weight_drop_kr, dtype))

            return dropout_masks.select_training(
                self._training, dropped, lambda: tf.identity(value))

        return self._kernel_cache.get("kernel", build)

    def get_vd_update_op(self):
        """The update that resamples this cell's persistent mask.

        Returns a `dropout_masks.MaskUpdate`: a list holding one op, as the TF1
        AWD-LSTM cell returned, usable as `sess.run(x)`,
        `tf.control_dependencies(x)`, `tf.control_dependencies([x])` and
        `tf.group(x)`. The op is a `tf.no_op` when there is nothing to update
        (`use_vd=False` or `weight_drop_kr=1.0`). The op is created on the
        first call and cached (each call returns a new list around it): call
        it before `graph.finalize()`. It may be requested
        before the cell's first call; the mask is then still created at that
        call, under the cell's variable scope, and the op updates it.

        Ordering guarantee, for a run that contains both the update and the
        forward pass:
          * forward pass not built under the update's control dependencies
            (e.g. `sess.run([train_op, update])`, or `tf.control_dependencies`
            around the train op only), whether the update was requested before
            or after the cell's first call: the forward pass sees the previous
            mask and the update prepares the next run's;
          * forward pass built inside `with tf.control_dependencies(x):` (or
            `[x]`), x requested before the cell's first call: it sees the new
            mask.
        """
        if self._update_op is None:
            if not (self._use_vd and self._drops):
                with tf.init_scope():
                    op = tf.no_op(name=f"{self._default_layer_name}_vd_update_noop")
            elif self._mask is not None:
                op = self._mask.update_op()
            else:
                with tf.init_scope():
                    op = self._pending_update = tf.no_op(
                        name=f"{self._default_layer_name}_vd_update")
            self._update_op = op
        return dropout_masks.MaskUpdate(self._update_op)

    def _vd_mask_shape(self):
        """Shape of the DropConnect mask (asked at the cell's first call, once built)."""
        raise NotImplementedError
