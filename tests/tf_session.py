"""Session helpers shared by the graph-mode tests."""

import tensorflow as tf


def new_session(graph=None):
    """A session limited to the machine's 2 cores."""
    return tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=2, inter_op_parallelism_threads=2))


def init_variables(sess):
    """Initialises global variables and the local ones (dropout masks)."""
    sess.run([tf.compat.v1.global_variables_initializer(),
              tf.compat.v1.local_variables_initializer()])
