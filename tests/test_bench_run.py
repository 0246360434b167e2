"""Smoke test of the one-command benchmark (bench/run.py) at a tiny size."""

import json
import os
import subprocess
import sys


from conftest import own_world_subprocess

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
