"""Every configuration of the library, as frozen dataclasses with the paper's defaults and named presets.

AudioConfig (the front end), ModelConfig (the networks), TrainConfig (Algorithm 1), BaselineConfig (the
baselines' loops), EvalConfig (how IS / FID are scored: feature layer, reference, PGHI settings, clip
counts) and MonitorConfig (evaluation during training, scored by its EvalConfig). Nothing here imports the rest of the library.
Modules: base (PresetConfig), model (ModelConfig, AudioConfig), training (TrainConfig, BaselineConfig),
evaluation (EvalConfig, MonitorConfig).
"""
from ggan_lib.config.base import PresetConfig
from ggan_lib.config.evaluation import CRITERIA, EVAL_PRESETS, PGHI_TOL, EvalConfig, MonitorConfig
from ggan_lib.config.model import PRESETS, AudioConfig, ModelConfig
from ggan_lib.config.training import BASELINE_PRESETS, RUNTIME_FIELDS, TRAIN_PRESETS, BaselineConfig, TrainConfig

__all__ = ["PresetConfig", "CRITERIA", "EVAL_PRESETS", "PGHI_TOL", "EvalConfig", "MonitorConfig", "PRESETS",
           "AudioConfig", "ModelConfig", "BASELINE_PRESETS", "RUNTIME_FIELDS", "TRAIN_PRESETS", "BaselineConfig",
           "TrainConfig"]
