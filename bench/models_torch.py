"""PyTorch word-LM steps for bench/run.py (used only when torch is installed).

`lstm`: `nn.LSTM` layers with AWD weight drop (salesforce `WeightDrop`:
DropConnect on `weight_hh`, mask drawn once per step, the flat weights rebuilt
each forward as `torch._VF.lstm` takes them). `qrnn`: a QRNN layer as the
salesforce/fastai reference (one linear layer for all gates over a window of
2 inputs for the first layer, 1 after; fo-pooling as a loop over time).
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

WEIGHT_DROP_KR = 0.5


class _WeightDropLSTM(nn.Module):
    def __init__(self, inp, units):
        super().__init__()
        self.lstm = nn.LSTM(inp, units)
        self.raw_hh = nn.Parameter(self.lstm.weight_hh_l0.detach().clone())
        del self.lstm.weight_hh_l0

    def forward(self, x):
        w_hh = F.dropout(self.raw_hh, p=1 - WEIGHT_DROP_KR, training=self.training)
        weights = [self.lstm.weight_ih_l0, w_hh, self.lstm.bias_ih_l0, self.lstm.bias_hh_l0]
        zeros = x.new_zeros(1, x.shape[1], w_hh.shape[1])
        out, _, _ = torch._VF.lstm(x, (zeros, zeros), weights, True, 1, 0.0,
                                   self.training, False, False)
        return out


class _QRNNLayer(nn.Module):
    def __init__(self, inp, units, window):
        super().__init__()
        self.window = window
        self.units = units
        self.linear = nn.Linear(window * inp, 3 * units)

    def forward(self, x):
        if self.window == 2:
            prev = torch.cat([x.new_zeros(1, *x.shape[1:]), x[:-1]], 0)
            x = torch.cat([x, prev], 2)
        w = F.dropout(self.linear.weight, p=1 - WEIGHT_DROP_KR, training=self.training)
        z, f, o = F.linear(x, w, self.linear.bias).chunk(3, dim=2)
        z, f, o = torch.tanh(z), torch.sigmoid(f), torch.sigmoid(o)
        c = x.new_zeros(x.shape[1], self.units)
        cs = []
        for t in range(x.shape[0]):
            c = f[t] * z[t] + (1 - f[t]) * c
            cs.append(c)
        return o * torch.stack(cs)


class _LM(nn.Module):
    def __init__(self, kind, size):
        super().__init__()
        self.emb = nn.Embedding(size["vocab"], size["emb"])
        nn.init.uniform_(self.emb.weight, -0.1, 0.1)
        layers, depth = [], size["emb"]
        for k, units in enumerate(size["sizes"]):
            layers.append(_WeightDropLSTM(depth, units) if kind == "lstm"
                          else _QRNNLayer(depth, units, 2 if k == 0 else 1))
            depth = units
        self.layers = nn.ModuleList(layers)
        self.bias = nn.Parameter(torch.zeros(size["vocab"]))

    def forward(self, ids):
        x = self.emb(ids[:-1])
        for layer in self.layers:
            x = layer(x)
        logits = F.linear(x.reshape(-1, x.shape[-1]), self.emb.weight, self.bias)
        return F.cross_entropy(logits, ids[1:].reshape(-1))


class TorchStep:
    """Same interface as models_tf.TFStep (time-major ids, SGD lr 1)."""

    def __init__(self, kind, size, batch, train, seed=0):
        torch.manual_seed(seed)
        self.tokens = batch * size["bptt"]
        self.path = "pytorch"
        self.model = _LM(kind, size)
        self.model.train(train)
        self.train = train
        rng = np.random.RandomState(seed)
        self.ids = torch.from_numpy(
            rng.randint(0, size["vocab"], [size["bptt"] + 1, batch]).astype(np.int64))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=1.0)

    def run(self):
        if not self.train:
            with torch.no_grad():
                return float(self.model(self.ids))
        self.opt.zero_grad(set_to_none=True)
        loss = self.model(self.ids)
        loss.backward()
        self.opt.step()
        return loss.item()

    def close(self):
        pass


def serve(stdin, stdout):
    """Runs TorchSteps for a parent process: one JSON request per line.

    Requests: {"build": [kind, size, batch, train]} -> {"id": n, "tokens": t};
    {"run": n} -> {"seconds": s} (timed here, excluding the pipe);
    {"close": n} -> {}. PyTorch runs in its own process so that its OpenMP
    threads and TensorFlow's thread pools never share one process.
    """
    import json
    import time
    torch.set_num_threads(torch.get_num_threads())
    steps = {}
    for line in stdin:
        request = json.loads(line)
        if "build" in request:
            step = TorchStep(*request["build"])
            steps[len(steps)] = step
            reply = {"id": len(steps) - 1, "tokens": step.tokens}
        elif "run" in request:
            start = time.perf_counter()
            steps[request["run"]].run()
            reply = {"seconds": time.perf_counter() - start}
        else:
            steps.pop(request["close"], None)
            reply = {}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


if __name__ == "__main__":
    import sys
    serve(sys.stdin, sys.stdout)
