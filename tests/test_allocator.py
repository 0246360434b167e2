"""awdrnn.kernels.allocator: finding jemalloc, the preload environment, and the re-exec."""

import os
import subprocess
import sys
import textwrap

import pytest

from awdrnn.kernels import allocator
from conftest import own_world_subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code, env_extra=None, drop=("LD_PRELOAD", allocator.ENV_CHOICE)):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = REPO
    env.update(env_extra or {})
    script = textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_jemalloc_env_preloads_and_keeps_other_preloads():
    env = allocator.jemalloc_env(path="/x/libjemalloc.so.2",
                                 env={"LD_PRELOAD": "/y/other.so", "MALLOC_CONF": ""})
    assert env["LD_PRELOAD"] == "/x/libjemalloc.so.2:/y/other.so"
    assert env["MALLOC_CONF"] == allocator.JEMALLOC_CONF
    assert env[allocator.ENV_CHOICE] == "jemalloc"


def test_missing_jemalloc_says_how_to_install(monkeypatch):
    monkeypatch.setattr(allocator, "find_jemalloc", lambda: None)
    with pytest.raises(FileNotFoundError, match="apt-get install -y libjemalloc2"):
        allocator.jemalloc_env()


@own_world_subprocess  # a fresh interpreter of its own: the same in either world
def test_current_is_glibc_without_preload():
    assert _run("from awdrnn.kernels import allocator; print(allocator.current())") == "glibc"


@own_world_subprocess  # a fresh interpreter of its own: the same in either world
@pytest.mark.skipif(allocator.find_jemalloc() is None,
                    reason="libjemalloc2 not installed (apt-get install -y libjemalloc2)")
def test_use_jemalloc_reexecs_once_under_jemalloc(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text("from awdrnn.kernels import allocator\nallocator.use_jemalloc()\n"
                      "print(allocator.current())\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", allocator.ENV_CHOICE)}
    env["PYTHONPATH"] = REPO
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == ["jemalloc"]     # printed once
    assert out.stderr.count("re-executing under jemalloc") == 1


@pytest.mark.skipif(allocator.find_jemalloc() is None,
                    reason="libjemalloc2 not installed (apt-get install -y libjemalloc2)")
@own_world_subprocess
@pytest.mark.parametrize("how", ["-m", "-c", "-I"])
def test_use_jemalloc_reexecs_the_same_command_line(tmp_path, how):
    """`python -m mod`, `python -c code` and interpreter options survive the
    re-exec (sys.argv[0] would be the module path or "-c")."""
    (tmp_path / "probe_mod.py").write_text(
        "import sys\nfrom awdrnn.kernels import allocator\nallocator.use_jemalloc()\n"
        "print(allocator.current(), sys.argv[1:], sys.flags.isolated)\n")
    code = (f"import sys; sys.path[:0] = [{REPO!r}, {str(tmp_path)!r}]; "
            "import probe_mod")
    cmd = {"-m": ["-m", "probe_mod", "a", "--b"], "-c": ["-c", code, "a", "--b"],
           "-I": ["-I", "-c", code, "a", "--b"]}[how]
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_PRELOAD", allocator.ENV_CHOICE)}
    env["PYTHONPATH"] = os.pathsep.join([REPO, str(tmp_path)])
    out = subprocess.run([sys.executable] + cmd, env=env, capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    isolated = 1 if how == "-I" else 0
    assert out.stdout.strip().splitlines() == [f"jemalloc ['a', '--b'] {isolated}"]
    assert out.stderr.count("re-executing under jemalloc") == 1


@own_world_subprocess  # a fresh interpreter of its own: the same in either world
def test_opt_out_keeps_glibc():
    code = """
        from awdrnn.kernels import allocator
        print(allocator.use_jemalloc(verbose=False))
    """
    assert _run(code, {allocator.ENV_CHOICE: "system"}) == "glibc"
