"""Errors of the language-model recipe that a user can fix, with exit codes.

Each carries the exit code the example scripts return:

    try:
        trainer.run()
    except awdrnn.lm.errors.TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
"""


class TrainingError(Exception):
    """A problem reported to the user with a message and an exit code."""

    exit_code = 1


class DataError(TrainingError):
    exit_code = 2


class CheckpointMismatch(TrainingError):
    exit_code = 4


class NaNLoss(TrainingError):
    exit_code = 3


class Interrupted(TrainingError):
    exit_code = 130


class Aborted(TrainingError):
    """A second SIGINT/SIGTERM: stopped without saving the current position."""

    exit_code = 130
