"""Serving without awdrnn: SavedModels of encoders and task models with tokenization in
the graph (tensorflow-text). `savedmodel_export` writes them, `model_sources` reads
the folders they are made from, `text_inputs` lays text out as ids in the graph.
Exporting needs tensorflow-text and the `tasks` extra (doc/subwords.md, doc/tasks.md);
serving needs only tensorflow and tensorflow-text. See doc/serving.md."""

from awdrnn.serving import model_sources
from awdrnn.serving import savedmodel_export
from awdrnn.serving import text_inputs
from awdrnn.serving.model_sources import ExportError

__all__ = ["ExportError", "model_sources", "savedmodel_export", "text_inputs"]
