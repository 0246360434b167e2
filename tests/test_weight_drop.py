"""WeightDropMixin behaviour common to both cells: the dropped kernel is one
tensor per graph, built outside the time loop, in v1 and v2 control flow."""

import pytest
import tensorflow as tf

import awdrnn
from conftest import restore_world_flavour

CELLS = {
    "lstm": (lambda **kw: awdrnn.WeightDropLSTMCell(5, **kw), lambda c: c._dropped_kernel()),
    "qrnn": (lambda **kw: awdrnn.QRNNCell(5, **kw), lambda c: c._gate_kernel()),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_masked_kernel_is_built_outside_the_time_loop(kind):
    make, dropped_kernel = CELLS[kind]
    with tf.Graph().as_default():
        tf.compat.v1.disable_control_flow_v2()  # v1 loops have visible contexts
        try:
            for use_vd in (True, False):
                cell = make(weight_drop_kr=0.5, use_vd=use_vd)
                tf.compat.v1.nn.dynamic_rnn(cell, tf.zeros([2, 3, 4]), dtype=tf.float32,
                                            scope=f"vd{use_vd}")
                kernel = dropped_kernel(cell)
                assert kernel.op._control_flow_context is None
                assert dropped_kernel(cell) is kernel  # one tensor per graph
                loop_ops = [op for op in tf.compat.v1.get_default_graph().get_operations()
                            if op._control_flow_context is not None
                            and op._control_flow_context.GetWhileContext() is not None]
                assert loop_ops, "expected a v1 while loop"
                assert not any(op.type in ("RandomUniform", "Floor") for op in loop_ops
                               if "zoneout" not in op.name)
        finally:
            restore_world_flavour()


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_no_op_update_when_nothing_is_dropped(kind):
    make, _ = CELLS[kind]
    with tf.Graph().as_default():
        for cell in (make(weight_drop_kr=0.5, use_vd=False), make(weight_drop_kr=1.0, use_vd=True)):
            assert cell.get_vd_update_op().op.type == "NoOp"
