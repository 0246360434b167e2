"""Training pieces usable from any TF1 graph: learning-rate and momentum
schedules (`schedules`: slanted triangular, one-cycle), Adam with decoupled
weight decay (`adamw.AdamWOptimizer`), and ULMFiT's layer groups,
discriminative learning rates and gradual unfreezing (`layer_groups`,
`discriminative`, `unfreezing`). See doc/schedules.md and doc/fine_tuning.md."""

from awdrnn.training import adamw
from awdrnn.training import discriminative
from awdrnn.training import layer_groups
from awdrnn.training import schedules
from awdrnn.training import unfreezing
from awdrnn.training.adamw import AdamWOptimizer
from awdrnn.training.discriminative import DiscriminativeOptimizer

__all__ = ["AdamWOptimizer", "DiscriminativeOptimizer", "adamw", "discriminative",
           "layer_groups", "schedules", "unfreezing"]
