"""awdrnn: regularised recurrent networks (AWD-LSTM, ULMFiT, MultiFiT) for
TensorFlow used in TF1 style (`tf.compat.v1` graphs, sessions, `dynamic_rnn`).

    import tensorflow as tf
    import awdrnn

    tf.compat.v1.disable_eager_execution()
    cell = awdrnn.WeightDropLSTMCell(64, weight_drop_kr=0.5, use_vd=True)
    x = tf.compat.v1.placeholder(tf.float32, [None, 35, 32])
    outputs, _ = tf.compat.v1.nn.dynamic_rnn(cell, awdrnn.locked_dropout(x, 0.6),
                                             dtype=tf.float32)
    update_masks = cell.get_vd_update_op()

The legacy cell classes (`LSTMCell`, `MultiRNNCell`, `DropoutWrapper`, ...) are
in `awdrnn.rnn_cell`, usable without setting `TF_USE_LEGACY_KERAS`.
"""

from awdrnn import rnn_cell
from awdrnn.dropout_masks import PersistentMask
from awdrnn.fast_rnn import dynamic_rnn
from awdrnn.qrnn_cell import QRNNCell
from awdrnn.qrnn_cell import QRNNStateTuple
from awdrnn.qrnn_cell import dynamic_qrnn
from awdrnn.variational_dropout import VariationalDropout
from awdrnn.variational_dropout import embedding_dropout
from awdrnn.variational_dropout import locked_dropout
from awdrnn.weight_drop_lstm import WeightDropLSTMCell

__version__ = "0.1.0"

__all__ = [
    "PersistentMask",
    "QRNNCell",
    "QRNNStateTuple",
    "VariationalDropout",
    "WeightDropLSTMCell",
    "dynamic_qrnn",
    "dynamic_rnn",
    "embedding_dropout",
    "locked_dropout",
    "rnn_cell",
]
