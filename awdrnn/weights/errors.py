"""Errors of weight import, each with the exit code `examples/import_weights.py` returns.

    from awdrnn.weights import errors, importer
    try:
        importer.import_weights("lm.pth", "runs/imported", vocab="itos.pkl")
    except errors.WeightImportError as e:
        print(f"error: {e}")          # says what was wrong and what to do
        raise SystemExit(e.exit_code)

All are `awdrnn.lm.errors.TrainingError`s, so a script that already reports
those reports these the same way.
"""

from awdrnn.lm.errors import CheckpointMismatch, TrainingError


class WeightImportError(TrainingError):
    """A weights file, vocabulary or output path that cannot be imported as given."""

    exit_code = 2


class WeightFileError(WeightImportError):
    """Not a file of a format we read, or a corrupt or truncated one."""


class ForbiddenPickle(WeightFileError):
    """A pickle that names a class or function outside the allowed list, or uses an
    opcode that would call something; nothing it names is imported or called."""


class ArchitectureMismatch(WeightImportError, CheckpointMismatch):
    """A state dict that is not the architecture it is read as (names the first
    key that does not fit, with both shapes)."""

    exit_code = 4


class VocabularyMismatch(WeightImportError):
    """A vocabulary that does not fit the embedding, or is not a vocabulary."""
