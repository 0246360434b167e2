"""Command lines for running the example scripts as subprocesses in the test's world.

In the TF1 world (`AWDRNN_TF1=1`) a script runs as it would inside a TF1
program: `tf.compat.v1.disable_v2_behavior()` first, then the script as
`__main__` with its own command line. In the TF2 world it runs as is.
"""

import os
import sys

from conftest import TF1_WORLD

_TF1_LAUNCHER = (
    "import runpy, sys\n"
    "import tensorflow.compat.v1 as tf\n"
    "tf.disable_v2_behavior()\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def python_command(script, *args):
    """`[python, script, *args]`, launched under `disable_v2_behavior()` in the TF1 world."""
    if TF1_WORLD:
        return [sys.executable, "-c", _TF1_LAUNCHER, str(script), *map(str, args)]
    return [sys.executable, str(script), *map(str, args)]


_MODULES = {}


def script_module(path):
    """The example script at `path` imported as a module, once per process: its
    absl flags can be defined only once, and several test files run its `main`."""
    import importlib.util

    from absl import flags

    path = str(path)
    if path not in _MODULES:
        name = "script_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        before = set(flags.FLAGS)
        spec.loader.exec_module(module)
        module._defined_flags = set(flags.FLAGS) - before
        _MODULES[path] = module
    return _MODULES[path]


def _silence_other_scripts_validators(module):
    """Empties, for the duration of one run, the validators (`mark_flag_as_required`
    and the like) of flags that another script loaded in this process defined:
    they belong to that script's command line, not to this one's. Returns
    `[(flag, validators)]` to restore afterwards."""
    from absl import flags

    silenced = []
    for other in _MODULES.values():
        if other is module:
            continue
        for flag in (flags.FLAGS[name] for name in other._defined_flags):
            if flag.validators:
                silenced.append((flag, flag.validators))
                flag.validators = []
    return silenced


def in_process_runner(path):
    """`run(*args) -> exit code`: the script's `main` called in this process with
    `args` as its command line (flags parsed anew for each call)."""
    from absl import flags

    module = script_module(path)
    name = os.path.basename(str(path))

    def run(*args):
        silenced = _silence_other_scripts_validators(module)
        flags.FLAGS.unparse_flags()
        try:
            flags.FLAGS([name, *args])
            module.main([])
        except SystemExit as e:
            return e.code
        finally:
            flags.FLAGS.unparse_flags()
            for flag, validators in silenced:
                flag.validators = validators
        return 0

    return run
