"""Training pieces usable from any TF1 graph: learning-rate and momentum
schedules (`schedules`: slanted triangular, one-cycle), Adam with decoupled
weight decay (`adamw.AdamWOptimizer`), and the session loop every training
task plugs into (`loop.TrainingLoop`, `loop.Task`). See doc/schedules.md and
doc/training_loop.md."""

from awdrnn.training import adamw
from awdrnn.training import loop
from awdrnn.training import schedules
from awdrnn.training.adamw import AdamWOptimizer

__all__ = ["AdamWOptimizer", "adamw", "loop", "schedules"]
