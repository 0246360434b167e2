"""Smoke test of the one-command benchmark (bench/run.py) at a tiny size."""

import json
import os
import subprocess
import sys


from conftest import own_world_subprocess, own_world_subprocess_tf1_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@own_world_subprocess  # bench/run.py runs in subprocesses of its own (TF2 graph defaults)
def test_bench_writes_table_json_and_chart(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "run.py"), "--sizes=tiny",
         "--modes=train,infer_b1", "--paths=lstm/tf,wd_lstm/awdrnn,qrnn/awdrnn",
         "--allocators=glibc", "--warmup=1", "--rounds=1", "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=900)  # a hang guard, not a speed check (slow on a loaded machine)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "speed.json").read_text())
    rows = {(r["mode"], r["path"]): r for r in result["rows"]}
    assert set(rows) == {(m, p) for m in ("train", "infer_b1")
                         for p in ("lstm/tf", "wd_lstm/awdrnn", "qrnn/awdrnn")}
    assert rows[("train", "wd_lstm/awdrnn")]["route"] == "fused_lstm"
    assert rows[("train", "qrnn/awdrnn")]["route"] == "qrnn"
    assert rows[("train", "lstm/tf")]["x_stock"] == 1.0
    assert all(r["tokens_per_s"] > 0 and r["allocator"] == "glibc" for r in rows.values())
    assert rows[("train", "lstm/tf")]["peak_mb"] >= 0
    assert "| tiny | train | wd_lstm/awdrnn | glibc | fused_lstm |" in (
        tmp_path / "speed.md").read_text()
    assert (tmp_path / "speed.png").stat().st_size > 1000


@own_world_subprocess_tf1_run  # its own program (TF2 defaults): in the TF1 run, which has time
def test_serving_bench_agrees_with_keras_and_prints_its_table():
    # Its own check is the test: the exported classifier's probabilities must equal
    # those of the same weights in stock tf_keras LSTM layers to 1e-5 before timing.
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "serving_speed.py"), "--size=tiny",
         "--batches=1,4", "--rounds=1", "--warmup=0"],
        env=env, capture_output=True, text=True, timeout=900)  # a hang guard only
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "probabilities agree to" in out.stdout
    rows = [l for l in out.stdout.splitlines() if l.startswith("| 1 |") or l.startswith("| 4 |")]
    assert len(rows) == 2 and all(l.endswith("x |") for l in rows), out.stdout


@own_world_subprocess  # its own program (TF2 defaults): the same in either world
def test_inference_routing_bench_forces_each_path_and_prints_its_table():
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "bench", "inference_routing.py"), "--size=tiny",
         "--batches=1,64", "--rounds=1", "--warmup=0"],
        env=env, capture_output=True, text=True, timeout=900)  # a hang guard only
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    rows = [l for l in out.stdout.splitlines() if l.startswith(("| 1 |", "| 64 |"))]
    assert [r.split("|")[-2].strip() for r in rows] == ["fused_lstm_xla", "stock"], out.stdout
