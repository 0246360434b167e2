"""Training pieces usable from any TF1 graph: learning-rate and momentum
schedules (`schedules`: slanted triangular, one-cycle), Adam with decoupled
weight decay (`adamw.AdamWOptimizer`), ULMFiT's layer groups, discriminative
learning rates and gradual unfreezing (`layer_groups`, `discriminative`,
`unfreezing`), and the session loop every training task plugs into
(`loop.TrainingLoop`, `loop.Task`). See doc/schedules.md, doc/fine_tuning.md
and doc/training_loop.md."""

from awdrnn.training import adamw
from awdrnn.training import discriminative
from awdrnn.training import layer_groups
from awdrnn.training import loop
from awdrnn.training import schedules
from awdrnn.training import unfreezing
from awdrnn.training.adamw import AdamWOptimizer
from awdrnn.training.discriminative import DiscriminativeOptimizer

__all__ = ["AdamWOptimizer", "DiscriminativeOptimizer", "adamw", "discriminative",
           "layer_groups", "loop", "schedules", "unfreezing"]
