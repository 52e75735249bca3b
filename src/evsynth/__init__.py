"""evsynth: a living, reproducible systematic review of small clinical studies.

Data flow (one module per step): queries -> harvest -> records -> screening ->
sheets -> pooling -> report.
"""

__version__ = "0.1.0"
