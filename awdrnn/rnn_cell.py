"""The legacy TF1 RNN cell classes, importable without `TF_USE_LEGACY_KERAS`.

`tf.compat.v1.nn.rnn_cell.*` resolves to the `tf-keras` package only when the
environment variable `TF_USE_LEGACY_KERAS=1` is set before TensorFlow first
touches Keras; without it, TF 2.16+ points that name at Keras 3, which has no
legacy cells, and the attribute access fails. Setting the variable from a
library would change what `tf.keras` means for the user's whole process, so
awdrnn never does. Instead it imports the very same classes straight from
`tf_keras`. They are the same class objects that `tf.compat.v1.nn.rnn_cell`
exposes when the variable *is* set, so cells from either name mix freely:

    import tensorflow as tf
    from awdrnn import rnn_cell
    stack = rnn_cell.MultiRNNCell([rnn_cell.LSTMCell(32) for _ in range(2)])
    outputs, state = tf.compat.v1.nn.dynamic_rnn(
        stack, tf.zeros([4, 7, 16]), dtype=tf.float32)
"""

try:
    from tf_keras.src.layers.rnn.legacy_cell_wrappers import DeviceWrapper
    from tf_keras.src.layers.rnn.legacy_cell_wrappers import DropoutWrapper
    from tf_keras.src.layers.rnn.legacy_cell_wrappers import ResidualWrapper
    from tf_keras.src.layers.rnn.legacy_cells import BasicLSTMCell
    from tf_keras.src.layers.rnn.legacy_cells import BasicRNNCell
    from tf_keras.src.layers.rnn.legacy_cells import GRUCell
    from tf_keras.src.layers.rnn.legacy_cells import LayerRNNCell
    from tf_keras.src.layers.rnn.legacy_cells import LSTMCell
    from tf_keras.src.layers.rnn.legacy_cells import LSTMStateTuple
    from tf_keras.src.layers.rnn.legacy_cells import MultiRNNCell
    from tf_keras.src.layers.rnn.legacy_cells import RNNCell
except ImportError as error:
    import tensorflow as _tf

    raise ImportError(
        "awdrnn needs the tf-keras package (the legacy RNN cells) matching your "
        f"TensorFlow {_tf.__version__}: pip install \"tf-keras=={_tf.__version__}\" "
        "(add --no-deps if you use tensorflow-cpu, whose users should not get the "
        f"full tensorflow wheel pulled in). Original error: {error}") from error

__all__ = [
    "BasicLSTMCell",
    "BasicRNNCell",
    "DeviceWrapper",
    "DropoutWrapper",
    "GRUCell",
    "LSTMCell",
    "LSTMStateTuple",
    "LayerRNNCell",
    "MultiRNNCell",
    "RNNCell",
    "ResidualWrapper",
]
