"""Run a TensorFlow script under jemalloc when it is installed.

On CPU, TensorFlow allocates every tensor with the C library's `malloc`. A
training step of an AWD-LSTM language model allocates and frees gigabytes of
short-lived buffers; glibc's `malloc` hands large blocks back to the kernel
(`munmap`) and page-faults them in again on the next step. jemalloc, told
never to return memory (`dirty_decay_ms:-1,muzzy_decay_ms:-1`), reuses them.
Which one is faster depends on the machine (issue 5 measured 217 -> 391
tokens/s with jemalloc; the final run in doc/speed.md found glibc faster for
TensorFlow and jemalloc faster for PyTorch): measure with `bench/run.py`.
The allocator must be chosen before the process starts, so `use_jemalloc()`
re-executes the current script with it preloaded:

    from awdrnn.kernels import allocator

    if __name__ == "__main__":
        allocator.use_jemalloc()      # first line of main(): may re-exec
        print(allocator.current())    # "jemalloc" or "glibc"

Install it with `apt-get install -y libjemalloc2` (Debian/Ubuntu). Set the
environment variable `AWDRNN_ALLOCATOR=system` to keep the default allocator.
"""

import ctypes.util
import glob
import os
import sys

JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
ENV_CHOICE = "AWDRNN_ALLOCATOR"
_SEARCH = ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
           "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
           "/usr/lib64/libjemalloc.so.2", "/usr/lib/libjemalloc.so.2",
           "/usr/local/lib/libjemalloc.so.2")


def find_jemalloc():
    """Path of `libjemalloc.so.2` if installed, else None."""
    for path in _SEARCH:
        if os.path.exists(path):
            return path
    name = ctypes.util.find_library("jemalloc")
    if name:
        for directory in ("/usr/lib", "/usr/lib64", "/usr/local/lib",
                          *glob.glob("/usr/lib/*-linux-gnu")):
            path = os.path.join(directory, name)
            if os.path.exists(path):
                return path
    return None


def current():
    """`"jemalloc"` if jemalloc is loaded in this process, else `"glibc"`."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            if "libjemalloc" in maps.read():
                return "jemalloc"
    except OSError:
        pass
    return "glibc"


def jemalloc_env(path=None, env=None):
    """A copy of `env` (default `os.environ`) that preloads jemalloc.

    Raises:
      FileNotFoundError: jemalloc is not installed (and no `path` given).
    """
    path = path or find_jemalloc()
    if path is None:
        raise FileNotFoundError(
            "libjemalloc.so.2 not found; install it with `apt-get install -y "
            "libjemalloc2`.")
    env = dict(os.environ if env is None else env)
    preload = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = f"{path}:{preload}" if preload else path
    env["MALLOC_CONF"] = env.get("MALLOC_CONF") or JEMALLOC_CONF
    env[ENV_CHOICE] = "jemalloc"
    return env


def use_jemalloc(argv=None, verbose=True):
    """Re-executes this Python program under jemalloc, once, if possible.

    Does nothing if jemalloc is already loaded, if `AWDRNN_ALLOCATOR` is set
    (to anything: `system` keeps the default, `jemalloc` marks the re-exec),
    or if jemalloc is not installed (then prints how to install it). Call it
    first thing in a script's `main`, before any heavy work: on success it
    does not return (the process is replaced by the same command line: script,
    `python -m module` or `python -c code`, with the interpreter's options).

    Args:
      argv: arguments of the new process after the interpreter; default
        `sys.orig_argv[1:]`, the original command line (so `-m` and `-c` runs
        re-execute what was run, not `sys.argv[0]`).
      verbose: print one line to stderr saying which allocator is used.

    Returns:
      The allocator of this process when not re-executing.
    """
    name = current()
    if name == "jemalloc" or os.environ.get(ENV_CHOICE):
        return name
    path = find_jemalloc()
    if path is None:
        if verbose:
            print("awdrnn.kernels.allocator: jemalloc not installed, using glibc malloc "
                  "(apt-get install -y libjemalloc2 for faster CPU training)",
                  file=sys.stderr)
        return name
    argv = list(sys.orig_argv[1:] if argv is None else argv)
    if verbose:
        print(f"awdrnn.kernels.allocator: re-executing under jemalloc ({path})", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + argv, jemalloc_env(path))
