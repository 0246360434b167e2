"""What every example script shares: a quiet TensorFlow import and absl's entry point
with one-line errors.

    import script_support                            # examples/ is the script's folder
    tf = script_support.import_tensorflow()         # before anything imports TensorFlow
    ...
    def main(argv):
        with script_support.errors_reported(TrainingError, ValueError):
            ...                                     # the library's work
    if __name__ == "__main__":
        script_support.run(main)

Kept out of `awdrnn/` because it must run before TensorFlow is imported (and
importing `awdrnn` imports it) and because the library never touches flags.
"""

import contextlib
import os
import sys
import tempfile

# Lines TensorFlow's C++ start-up writes to stderr before absl logging is
# initialised, where TF_CPP_MIN_LOG_LEVEL cannot reach them (TF 2.16-2.21).
START_UP_NOISE = ("WARNING: All log messages before absl::InitializeLog() is called",
                  "oneDNN custom operations are on")


def import_tensorflow():
    """Imports TensorFlow without its start-up noise; returns the module.

    Sets `TF_CPP_MIN_LOG_LEVEL=3` unless the environment sets it, and
    captures the process's stderr (file descriptor 2) during the import: the
    lines in `START_UP_NOISE` are dropped, anything else is written back, so
    a real warning or error is never lost.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if not any(noise in line for noise in START_UP_NOISE)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def errors_reported(*error_types):
    """Runs the `with` body; an error of `error_types` (the library's errors a user
    can fix, whose messages say how) becomes one `error: <message>` line on stderr
    and exit code `error.exit_code` (2, a usage or data error, when it has none).
    Any other exception propagates with its traceback: it is a bug, not bad input.
    """
    try:
        yield
    except error_types as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(getattr(e, "exit_code", 2))


def parse_flags(argv):
    """absl `flags_parser`: a bad or missing flag is one `error:` line and exit code 2.

    (absl's own parser prints `FATAL Flags parsing error` and exits 1.)
    """
    from absl import flags

    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        message = " ".join(str(e).split())
        print(f"error: {message} (--helpfull lists the flags)", file=sys.stderr)
        sys.exit(2)


def run(main):
    """`absl.app.run(main)` with `parse_flags`; Ctrl-C outside training exits 130
    with one line instead of a traceback."""
    from absl import app

    def main_without_traceback(argv):
        try:
            main(argv)
        except KeyboardInterrupt:
            print("error: interrupted (Ctrl-C)", file=sys.stderr)
            sys.exit(130)

    app.run(main_without_traceback, flags_parser=parse_flags)
