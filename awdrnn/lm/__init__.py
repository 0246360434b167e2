"""The AWD-LSTM / ULMFiT / MultiFiT language model and its training recipe: the
model (`model.LanguageModel`, `model.LMConfig`), its graph of one training step,
evaluation and saving (`graph`), the recipe's loop (`training.Trainer`,
`training.TrainConfig`), its errors with exit codes (`errors`), `curves.png`
(`curves`), named hyper-parameter sets (`presets`), backward LMs (`backward`),
per-word perplexity (`word_perplexity`), sampling (`generation`), moving a
trained LM to a new vocabulary (`vocab_remap`) and saving its encoder for a task
head (`encoder_io`). See doc/language_model.md and doc/fine_tuning.md."""

from awdrnn.lm import backward
from awdrnn.lm import curves
from awdrnn.lm import encoder_io
from awdrnn.lm import errors
from awdrnn.lm import generation
from awdrnn.lm import graph
from awdrnn.lm import model
from awdrnn.lm import presets
from awdrnn.lm import training
from awdrnn.lm import vocab_remap
from awdrnn.lm import word_perplexity
from awdrnn.lm.model import LanguageModel
from awdrnn.lm.model import LMConfig
from awdrnn.lm.training import TrainConfig
from awdrnn.lm.training import Trainer

__all__ = ["LMConfig", "LanguageModel", "TrainConfig", "Trainer", "backward", "curves",
           "encoder_io", "errors", "generation", "graph", "model", "presets", "training",
           "vocab_remap", "word_perplexity"]
