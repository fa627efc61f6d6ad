"""Generation metrics: the project's spoken-digit classifier, Inception Score and FID.

Train the classifier once with ``python -m ggan_lib.cli.classifier --data <folder>
--out <ckpt>``, load it with :func:`load_classifier`, then score audio with
:func:`compute_is_fid` or generated spectrograms (PGHI -> audio) with :func:`score_spectrograms`. The real
reference of every IS / FID comes from :mod:`ggan_lib.metrics.reference` (:func:`reference_statistics`,
:func:`folder_reference`), set by a :class:`ggan_lib.config.EvalConfig`.
"""
from ggan_lib.metrics.classifier import (
    CheckpointError,
    ClassifierConfig,
    DigitClassifier,
    MelFrontEnd,
    load_classifier,
    save_classifier,
)
from ggan_lib.metrics.reference import folder_reference, real_statistics, reference_scores, reference_statistics
from ggan_lib.metrics.scores import (
    FeatureStats,
    NonFiniteSpectrogramError,
    ScoreResult,
    classifier_outputs,
    feature_statistics,
    frechet_distance,
    inception_score,
    roundtrip_audio,
)
from ggan_lib.metrics.scoring import compute_is_fid, score_spectrograms

__all__ = [
    "CheckpointError", "ClassifierConfig", "DigitClassifier", "MelFrontEnd", "load_classifier",
    "save_classifier", "FeatureStats", "NonFiniteSpectrogramError", "ScoreResult",
    "classifier_outputs", "compute_is_fid", "feature_statistics", "frechet_distance",
    "inception_score", "real_statistics", "roundtrip_audio", "score_spectrograms",
    "folder_reference", "reference_scores", "reference_statistics",
]
