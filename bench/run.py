"""One-command speed benchmark of awdrnn's recurrent paths (issue 5).

    python bench/run.py                      # SMALL and PTB-AWD sizes, all paths
    python bench/run.py --sizes=small --rounds=3 --no-memory    # a quick look

Word-LM steps (tied softmax over 10k words) at batch 20 (training: forward +
backward + SGD) and batch 1 and 64 (inference: forward + loss), for

    lstm/tf          stock LSTMCell + tf.compat.v1.nn.dynamic_rnn  (the baseline)
    wd_lstm/tf       WeightDropLSTMCell(kr 0.5, use_vd) + tf.compat.v1.nn.dynamic_rnn
    wd_lstm/awdrnn   the same cells through awdrnn.dynamic_rnn (fused LSTM)
    qrnn/tf          QRNNCell (window 2 then 1, kr 0.5) + tf.compat.v1.nn.dynamic_rnn
    qrnn/awdrnn      the same cells through awdrnn.dynamic_rnn (dynamic_qrnn)
    lstm/pytorch     torch nn.LSTM layers with AWD weight drop   (if torch is installed)
    qrnn/pytorch     a PyTorch QRNN (linear gates + fo-pooling loop)

All paths of one (size, mode) are built first and then timed interleaved
(round-robin, one step each per round; the median per path is reported), so
ratios are fair on a shared machine. Every allocator in `--allocators` runs in
its own child process (jemalloc via LD_PRELOAD, see awdrnn/kernels/allocator.py);
`auto` means both jemalloc and glibc when jemalloc is installed. Also printed:
achieved GFLOP/s (analytic matrix-product FLOPs of the step) next to the
machine's own large-matmul rate measured in the same run (and the rate of an
LSTM step's recurrent product alone, `[batch, units] x [units, 4 units]`, the
bound of the time loop), and the peak RSS
growth of a process that runs only that path (`--memory`). PyTorch runs
in a server process of its own (thread pools of the two frameworks never
share a process), timed there, with OMP_WAIT_POLICY=PASSIVE by default: on a
shared 2-core machine OpenMP's default busy-waiting made PyTorch's AWD step
6x slower (137 vs 872 tokens/s measured back to back), which is not its speed. The table (markdown and
JSON) and a PNG bar chart go to `--out` (default bench/results/).
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from awdrnn.kernels import allocator  # noqa: E402  (light: no TensorFlow import)

SIZES = {
    "small": dict(vocab=10000, emb=200, sizes=[200, 200], bptt=35),
    "awd": dict(vocab=10000, emb=400, sizes=[1150, 1150, 400], bptt=70),
    "tiny": dict(vocab=50, emb=8, sizes=[8, 8], bptt=5),   # smoke tests only
}
PATHS = ["lstm/tf", "wd_lstm/tf", "wd_lstm/awdrnn", "qrnn/tf", "qrnn/awdrnn",
         "lstm/pytorch", "qrnn/pytorch"]
MODES = {"train": 20, "infer_b1": 1, "infer_b64": 64}
BASELINE = "lstm/tf"


def step_flops(path, size, batch, train):
    """Matrix-product FLOPs of one step (elementwise work not counted)."""
    kind = path.split("/")[0]
    tokens = batch * size["bptt"]
    flops = 2.0 * tokens * size["emb"] * size["vocab"]          # tied softmax
    depth = size["emb"]
    for k, units in enumerate(size["sizes"]):
        if kind == "qrnn":
            flops += 2.0 * tokens * (2 if k == 0 else 1) * depth * 3 * units
        else:
            flops += 2.0 * tokens * (depth + units) * 4 * units
        depth = units
    return flops * (3 if train else 1)


class _RemoteTorchStep:
    """A models_torch.TorchStep living in the PyTorch server process."""

    server = None
    omp_wait_policy = "PASSIVE"

    def __init__(self, kind, size, batch, train):
        if _RemoteTorchStep.server is None:
            env = dict(os.environ)
            if _RemoteTorchStep.omp_wait_policy:
                env["OMP_WAIT_POLICY"] = _RemoteTorchStep.omp_wait_policy
            _RemoteTorchStep.server = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "models_torch.py")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        reply = self._ask({"build": [kind, size, batch, train]})
        self.id, self.tokens, self.path = reply["id"], reply["tokens"], "pytorch"
        self.seconds = None

    def _ask(self, request):
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        return json.loads(self.server.stdout.readline())

    def run(self):
        self.seconds = self._ask({"run": self.id})["seconds"]

    def close(self):
        self._ask({"close": self.id})


def _make_step(path, size, batch, train, remote_torch=True):
    kind, runner = path.split("/")
    if runner == "pytorch":
        if remote_torch:
            return _RemoteTorchStep(kind, size, batch, train)
        import models_torch
        return models_torch.TorchStep(kind, size, batch, train)
    import models_tf
    return models_tf.TFStep(kind, runner, size, batch, train)


def _torch_available():
    return importlib.util.find_spec("torch") is not None


def _interleaved(steps, warmup, rounds):
    """Median seconds per step of each step object, timed round-robin."""
    for step in steps.values():
        for _ in range(warmup):
            step.run()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step.run()
            elapsed = time.perf_counter() - start
            # A remote step reports the time measured in its own process.
            times[name].append(getattr(step, "seconds", None) or elapsed)
    return {name: statistics.median(t) for name, t in times.items()}


def _profile(step, top=8):
    """Share of traced op time per op type for one run of a TF step."""
    import tensorflow as tf
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    meta = tf.compat.v1.RunMetadata()
    step.sess.run(step._fetch, options=options, run_metadata=meta)
    totals = {}
    for dev in meta.step_stats.dev_stats:
        for node in dev.node_stats:
            op = node.timeline_label.split("(")[0].split(" = ")[-1] or node.node_name
            op = op.strip() or node.node_name
            totals[op] = totals.get(op, 0) + node.all_end_rel_micros
    whole = sum(totals.values()) or 1
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [(op, round(100.0 * us / whole, 1)) for op, us in ranked]


def worker(args):
    """Times every (size, mode, path) under this process's allocator."""
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    import models_tf
    paths = [p for p in args.paths if "pytorch" not in p or _torch_available()]
    alloc = allocator.current()
    _RemoteTorchStep.omp_wait_policy = args.torch_omp_wait_policy
    rows, profiles = [], {}
    probe = models_tf.MatmulProbe()
    matmul_s = _interleaved({"mm": probe}, 2, 5)["mm"]
    matmul_gflops = probe.flops / matmul_s / 1e9
    probe.close()
    print(f"[{alloc}] machine matmul (2048^3, float32): {matmul_gflops:.1f} GFLOP/s",
          flush=True)
    step_matmuls = {}
    for size_name in args.sizes:   # an LSTM time loop's recurrent products alone
        size = SIZES[size_name]
        units = max(size["sizes"])
        for batch in sorted(set(MODES[m] for m in args.modes)):
            probe = models_tf.MatmulProbe(batch, units, 4 * units, repeat=size["bptt"])
            rate = probe.flops / _interleaved({"mm": probe}, 2, 5)["mm"] / 1e9
            probe.close()
            name = f"[{batch},{units}]x[{units},{4 * units}]"
            step_matmuls[name] = round(rate, 1)
            print(f"[{alloc}] step matmul {name}: {rate:.1f} GFLOP/s", flush=True)
    for size_name in args.sizes:
        size = SIZES[size_name]
        for mode in args.modes:
            batch = MODES[mode]
            train = mode == "train"
            steps = {p: _make_step(p, size, batch, train) for p in paths}
            seconds = _interleaved(steps, args.warmup, args.rounds)
            if args.profile and train:
                for p, s in steps.items():
                    if hasattr(s, "sess"):
                        profiles[f"{size_name}/{p}"] = _profile(s)
            for p, s in steps.items():
                tokens_s = s.tokens / seconds[p]
                gflops = step_flops(p, size, batch, train) / seconds[p] / 1e9
                rows.append(dict(size=size_name, mode=mode, path=p, allocator=alloc,
                                 route=s.path, tokens_per_s=round(tokens_s, 1),
                                 gflops=round(gflops, 1),
                                 matmul_gflops=round(matmul_gflops, 1)))
                print(f"[{alloc}] {size_name:5s} {mode:9s} {p:15s} "
                      f"{tokens_s:8.0f} tokens/s  {gflops:6.1f} GFLOP/s", flush=True)
                s.close()
            if args.memory and train:
                for p in paths:
                    mem = subprocess.run(
                        [sys.executable, __file__, "--memory-probe", p, size_name],
                        capture_output=True, text=True, check=True)
                    peak = json.loads(mem.stdout.strip().splitlines()[-1])["peak_mb"]
                    for row in rows:
                        if (row["size"], row["mode"], row["path"]) == (size_name, mode, p):
                            row["peak_mb"] = peak
    if _RemoteTorchStep.server is not None:
        _RemoteTorchStep.server.stdin.close()
        _RemoteTorchStep.server.wait()
    with open(args.worker, "w", encoding="utf-8") as out:
        json.dump(dict(rows=rows, profiles=profiles,
                       matmuls={alloc: dict(step_matmuls, **{
                           "[2048,2048]x[2048,2048]": round(matmul_gflops, 1)})}), out)


def _status_kb(field):
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def memory_probe(path, size_name):
    """Peak RSS growth (MB) of a process while it builds one path and runs two
    training steps (parameters, activations, gradients, graph), over the RSS
    after imports; the kernel's high-water mark is reset first (clear_refs 5)."""
    _make_step(path, SIZES["small"], 1, False, remote_torch=False).close()  # imports
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as clear:
        clear.write("5")
    before = _status_kb("VmRSS")
    step = _make_step(path, SIZES[size_name], MODES["train"], True, remote_torch=False)
    for _ in range(2):
        step.run()
    print(json.dumps(dict(peak_mb=round((_status_kb("VmHWM") - before) / 1024.0))))


def _with_ratios(rows):
    base = {(r["size"], r["mode"], r["allocator"]): r["tokens_per_s"]
            for r in rows if r["path"] == BASELINE}
    for r in rows:
        b = base.get((r["size"], r["mode"], r["allocator"]))
        r["x_stock"] = round(r["tokens_per_s"] / b, 2) if b else None
    return rows


def table(rows):
    """Markdown table of the rows."""
    lines = ["| size | mode | path | allocator | route | tokens/s | x stock | "
             "GFLOP/s | % of matmul | peak MB |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        share = 100.0 * r["gflops"] / r["matmul_gflops"]
        lines.append(
            f"| {r['size']} | {r['mode']} | {r['path']} | {r['allocator']} | "
            f"{r['route']} | {r['tokens_per_s']:.0f} | {r['x_stock']} | "
            f"{r['gflops']:.1f} | {share:.0f}% | {r.get('peak_mb', '')} |")
    return "\n".join(lines)


def chart(rows, path):
    """Grouped bars: tokens/s per path, one panel per (size, mode)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = sorted({(r["size"], r["mode"]) for r in rows},
                    key=lambda sm: (list(SIZES).index(sm[0]), list(MODES).index(sm[1])))
    allocs = sorted({r["allocator"] for r in rows})
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.8 * len(panels)),
                             squeeze=False)
    for ax, (size, mode) in zip(axes[:, 0], panels):
        names = [p for p in PATHS if any(r["path"] == p and r["size"] == size
                                         and r["mode"] == mode for r in rows)]
        width = 0.8 / len(allocs)
        for k, alloc in enumerate(allocs):
            values = []
            for p in names:
                match = [r["tokens_per_s"] for r in rows if (r["size"], r["mode"],
                         r["path"], r["allocator"]) == (size, mode, p, alloc)]
                values.append(match[0] if match else 0)
            xs = [i + k * width for i in range(len(names))]
            bars = ax.bar(xs, values, width, label=alloc)
            ax.bar_label(bars, fmt="%.0f", fontsize=7)
        ax.set_xticks([i + width * (len(allocs) - 1) / 2 for i in range(len(names))])
        ax.set_xticklabels(names, fontsize=8)
        ax.set_ylabel("tokens/s")
        ax.set_title(f"{size} / {mode}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,awd")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--allocators", default="auto",
                        help="comma list of jemalloc,glibc; auto = all available")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--profile", action="store_true",
                        help="also print the top op types of one traced TF training step")
    parser.add_argument(
        "--torch-omp-wait-policy", default="PASSIVE",
        help="OMP_WAIT_POLICY of the PyTorch process ('' keeps OpenMP's default, "
             "busy-waiting, which collapses when other processes share the cores)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        return memory_probe(*args.memory_probe)
    for name in ("sizes", "modes", "paths"):
        setattr(args, name, [v for v in getattr(args, name).split(",") if v])
    unknown = ([s for s in args.sizes if s not in SIZES]
               + [m for m in args.modes if m not in MODES]
               + [p for p in args.paths if p not in PATHS])
    if unknown:
        parser.error(f"unknown size/mode/path {unknown}; sizes {list(SIZES)}, "
                     f"modes {list(MODES)}, paths {PATHS}")
    if args.worker:
        return worker(args)

    allocs = args.allocators.split(",")
    if allocs == ["auto"]:
        allocs = (["jemalloc", "glibc"] if allocator.find_jemalloc() else ["glibc"])
    if "jemalloc" in allocs and not allocator.find_jemalloc():
        parser.error("jemalloc requested but not installed: apt-get install -y libjemalloc2")
    if not allocator.find_jemalloc():
        print("jemalloc not installed: timing glibc malloc only "
              "(apt-get install -y libjemalloc2 to compare)")
    if not _torch_available():
        print("PyTorch not installed: skipping the pytorch paths "
              "(pip install torch to include them)")
    rows, profiles, matmuls = [], {}, {}
    started = time.time()
    for alloc in allocs:
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        env[allocator.ENV_CHOICE] = "system"
        if alloc == "jemalloc":
            env = allocator.jemalloc_env(env=env)
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            argv = [sys.executable, __file__, "--worker", tmp.name] + [
                a for a in sys.argv[1:] if not a.startswith("--allocators")]
            subprocess.run(argv, env=env, check=True)
            with open(tmp.name, encoding="utf-8") as f:
                result = json.load(f)
        rows += result["rows"]
        matmuls.update(result["matmuls"])
        profiles.update({f"{alloc}/{k}": v for k, v in result["profiles"].items()})
    rows = _with_ratios(rows)
    text = table(rows) + "\n\nMatrix products alone (GFLOP/s, float32): " + "; ".join(
        f"{alloc}: " + ", ".join(f"{k} {v}" for k, v in rates.items())
        for alloc, rates in matmuls.items())
    print("\n" + text)
    for name, ops in profiles.items():
        print(f"\nprofile {name}: " + ", ".join(f"{op} {pct}%" for op, pct in ops))
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    with open(os.path.join(args.out, "speed.md"), "w", encoding="utf-8") as f:
        f.write(f"# bench/run.py results ({stamp}, {os.cpu_count()} CPUs, "
                f"{time.time() - started:.0f} s)\n\n`{command.strip()}`\n\n{text}\n")
        for name, ops in profiles.items():
            f.write(f"\nprofile {name}: " + ", ".join(f"{op} {p}%" for op, p in ops) + "\n")
    with open(os.path.join(args.out, "speed.json"), "w", encoding="utf-8") as f:
        json.dump(dict(command=command, when=stamp, rows=rows, profiles=profiles,
                       matmuls=matmuls), f, indent=1)
    chart(rows, os.path.join(args.out, "speed.png"))
    print(f"\nwrote {args.out}/speed.md, speed.json, speed.png")


if __name__ == "__main__":
    main()
