"""awdrnn: regularised recurrent networks (AWD-LSTM, ULMFiT, MultiFiT) for
TensorFlow used in TF1 style (`tf.compat.v1` graphs, sessions, `dynamic_rnn`).

    import tensorflow as tf
    import awdrnn

    tf.compat.v1.disable_eager_execution()   # or a TF1 program's disable_v2_behavior()
    cell = awdrnn.WeightDropLSTMCell(64, weight_drop_kr=0.5, use_vd=True)
    x = tf.compat.v1.placeholder(tf.float32, [None, 35, 32])
    outputs, _ = tf.compat.v1.nn.dynamic_rnn(cell, awdrnn.locked_dropout(x, 0.6),
                                             dtype=tf.float32)
    update_masks = cell.get_vd_update_op()

The legacy cell classes (`LSTMCell`, `MultiRNNCell`, `DropoutWrapper`, ...) are
in `awdrnn.rnn_cell`, usable without setting `TF_USE_LEGACY_KERAS`.
"""

# The subpackages first, in the order their imports need: `kernels` (its
# `fast_rnn` imports the cells at top level, which import `kernels` modules),
# then `data`, then `lm`, which brings in `training` (whose `loop` and
# `checkpoint_files` use `lm.curves` and `lm.errors`). `awdrnn.text` is not
# imported here: it needs sentencepiece.
from awdrnn import kernels
from awdrnn import data
from awdrnn import lm
from awdrnn import training
from awdrnn import rnn_cell
from awdrnn.data import bptt
from awdrnn.data import corpus
from awdrnn.data import synthetic_corpus
from awdrnn.dropout_masks import MaskUpdate
from awdrnn.dropout_masks import PersistentMask
from awdrnn.kernels.fast_rnn import dynamic_rnn
from awdrnn.lm import backward as backward_lm
from awdrnn.lm import generation
from awdrnn.lm import graph as lm_graph
from awdrnn.lm import model as lm_model
from awdrnn.lm import presets
from awdrnn.lm import training as lm_training
from awdrnn.lm import word_perplexity
from awdrnn.lm.model import LanguageModel
from awdrnn.lm.model import LMConfig
from awdrnn.lm.training import TrainConfig
from awdrnn.lm.training import Trainer
from awdrnn.qrnn_cell import QRNNCell
from awdrnn.qrnn_cell import QRNNStateTuple
from awdrnn.qrnn_cell import dynamic_qrnn
from awdrnn.training import asgd
from awdrnn.training import regularizers
from awdrnn.variational_dropout import VariationalDropout
from awdrnn.variational_dropout import embedding_dropout
from awdrnn.variational_dropout import locked_dropout
from awdrnn.weight_drop_lstm import WeightDropLSTMCell

__version__ = "0.1.0"

__all__ = [
    "LMConfig",
    "LanguageModel",
    "MaskUpdate",
    "PersistentMask",
    "QRNNCell",
    "QRNNStateTuple",
    "TrainConfig",
    "Trainer",
    "VariationalDropout",
    "WeightDropLSTMCell",
    "asgd",
    "backward_lm",
    "bptt",
    "corpus",
    "dynamic_qrnn",
    "dynamic_rnn",
    "embedding_dropout",
    "generation",
    "lm_graph",
    "lm_model",
    "lm_training",
    "locked_dropout",
    "presets",
    "regularizers",
    "rnn_cell",
    "synthetic_corpus",
    "word_perplexity",
]
