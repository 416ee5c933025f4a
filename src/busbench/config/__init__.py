"""Experiment settings: the schema (``experiment``, the training sections in ``training``), reading it
(``loading``), dataset roots in it (``paths``), warnings before a run (``checks``) and the documentation's
settings reference (``reference``).

``from busbench.config import ExperimentConfig, load_config`` is the public way in.
"""

from busbench.config.experiment import (
    DataConfig,
    EvalConfig,
    ExperimentConfig,
    GridConfig,
    InputConfig,
    ModelConfig,
    SplitConfig,
    TrackingConfig,
    TrackingTarget,
    TrainingRecipe,
)
from busbench.config.loading import apply_overrides, load_config, validate_config
from busbench.config.training import LossConfig, OptimizerConfig, ScheduleConfig, TrainConfig

__all__ = ["DataConfig", "EvalConfig", "ExperimentConfig", "GridConfig", "InputConfig", "LossConfig", "ModelConfig",
           "OptimizerConfig", "ScheduleConfig", "SplitConfig", "TrackingConfig", "TrackingTarget", "TrainConfig",
           "TrainingRecipe", "apply_overrides", "load_config", "validate_config"]
