"""Training pieces usable from any TF1 graph: learning-rate and momentum
schedules (`schedules`: slanted triangular, one-cycle), Adam with decoupled
weight decay (`adamw.AdamWOptimizer`), ULMFiT's layer groups, discriminative
learning rates and gradual unfreezing (`layer_groups`, `discriminative`,
`unfreezing`), AWD-LSTM's NT-ASGD (`asgd`), gradient clipping with sparse
gradients counted per row (`clipping`), AR/TAR and weight decay
(`regularizers`), crash-safe checkpoint folders and checkpoint files
(`checkpoints`, `checkpoint_files`), and the session loop every training task
plugs into (`loop.TrainingLoop`, `loop.Task`). See doc/schedules.md,
doc/fine_tuning.md, doc/training_loop.md and doc/language_model.md."""

from awdrnn.training import adamw
from awdrnn.training import asgd
from awdrnn.training import checkpoint_files
from awdrnn.training import checkpoints
from awdrnn.training import clipping
from awdrnn.training import discriminative
from awdrnn.training import layer_groups
from awdrnn.training import loop
from awdrnn.training import regularizers
from awdrnn.training import schedules
from awdrnn.training import unfreezing
from awdrnn.training.adamw import AdamWOptimizer
from awdrnn.training.discriminative import DiscriminativeOptimizer

__all__ = ["AdamWOptimizer", "DiscriminativeOptimizer", "adamw", "asgd", "checkpoint_files",
           "checkpoints", "clipping", "discriminative", "layer_groups", "loop", "regularizers",
           "schedules", "unfreezing"]
