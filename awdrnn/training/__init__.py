"""Training pieces usable from any TF1 graph: learning-rate and momentum
schedules (`schedules`: slanted triangular, one-cycle) and Adam with decoupled
weight decay (`adamw.AdamWOptimizer`). See doc/schedules.md."""

from awdrnn.training import adamw
from awdrnn.training import schedules
from awdrnn.training.adamw import AdamWOptimizer

__all__ = ["AdamWOptimizer", "adamw", "schedules"]
