"""Fast whole-sequence kernels behind `awdrnn.dynamic_rnn`: the dispatcher that
runs a cell stack by its fastest correct path (`fast_rnn`, `fast_rnn.path_of`
says which), the fused LSTM with a hand-written gradient (`fused_lstm`), the
linear recurrence of the QRNN's fo-pooling (`linear_scan`), ops built once per
`session.run` outside the time loop (`graph_context`), and running a script
under jemalloc (`allocator`, no TensorFlow import). See doc/speed.md.

`fast_rnn` is imported last: it dispatches to the cells at `awdrnn/` top level,
which import `graph_context` and `linear_scan` from here."""

from awdrnn.kernels import allocator
from awdrnn.kernels import graph_context
from awdrnn.kernels import linear_scan
from awdrnn.kernels import fused_lstm
from awdrnn.kernels import fast_rnn
from awdrnn.kernels.fast_rnn import dynamic_rnn

__all__ = ["allocator", "dynamic_rnn", "fast_rnn", "fused_lstm", "graph_context", "linear_scan"]
