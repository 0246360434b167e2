"""Building ops once per `session.run`, outside the RNN time loop.

A cell's `call` runs inside the body of `dynamic_rnn`'s `while_loop`; any op it
creates there runs once per time step. Weight-dropped kernels and dropout masks
must instead be formed once per run and reused by every step, so the cells
build them under `outside_loops()`: in the outermost graph (out of v1 loop
contexts and out of control-flow-v2 body graphs alike), yet still after the
control dependencies that enclose the call. The latter matters for

    with tf.control_dependencies([cell.get_vd_update_op()]):
        outputs, _ = tf.compat.v1.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)

where the forward pass must read the mask *after* the update of that run.
"""

import contextlib

import tensorflow as tf


def _enclosing_control_inputs():
    """Ops named by every `tf.control_dependencies` block around this point."""
    inputs = []
    graph = tf.compat.v1.get_default_graph()
    while graph is not None:
        for controller in getattr(graph, "_control_dependencies_stack", []):
            inputs.extend(controller.control_inputs)
        graph = getattr(graph, "outer_graph", None)
    return inputs


def under_control_dependency_on(target):
    """True when ops created here would (transitively) run after op `target`:
    some enclosing `tf.control_dependencies` op is `target` or depends on it
    (through its inputs or control inputs)."""
    seen, stack = set(), list(_enclosing_control_inputs())
    while stack:
        op = stack.pop()
        if op is target:
            return True
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack.extend(op.control_inputs)
        stack.extend(tensor.op for tensor in op.inputs)
    return False


def _is_top_level(op, graph):
    return op.graph is graph and getattr(op, "_control_flow_context", None) is None


@contextlib.contextmanager
def outside_loops():
    """Context in which new ops run once per `session.run`, not once per step.

    Enters the outermost graph with no control-flow context (as
    `tf.init_scope()` does), then re-applies those enclosing control
    dependencies that are valid there (ops of the outermost graph that are not
    themselves inside a loop or a branch).
    """
    deps = _enclosing_control_inputs()
    with tf.init_scope():
        if tf.executing_eagerly():
            raise RuntimeError(
                "awdrnn builds its masks once per session.run and needs graph mode "
                "(tf.compat.v1): build the model inside `with tf.Graph().as_default():` "
                "or call tf.compat.v1.disable_eager_execution() first; eager "
                "execution and tf.function are not supported.")
        outer = tf.compat.v1.get_default_graph()
        valid = []
        for op in deps:
            if _is_top_level(op, outer) and op not in valid:
                valid.append(op)
        with tf.control_dependencies(valid):
            yield


class GraphCache:
    """Per-graph memo for tensors built once per run (not tracked by Keras)."""

    def __init__(self):
        self._entries = {}

    def get(self, key, build):
        """Returns the tensor cached under `key` for the default graph.

        Calls `build()` under `outside_loops()` the first time.
        """
        with tf.init_scope():
            graph = tf.compat.v1.get_default_graph()
        slot = (id(graph), key)
        entry = self._entries.get(slot)
        if entry is None or entry[0] is not graph:
            with outside_loops():
                entry = (graph, build())
            self._entries[slot] = entry
        return entry[1]
