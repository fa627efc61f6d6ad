"""Where the repository's own folders are: the models shipped with it, its cache, its notebooks."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]   # ggan_lib/io/paths.py -> the repository
MODELS_DIR = REPO_ROOT / "models"                  # shipped models and their cards
CACHE_DIR = REPO_ROOT / ".cache"                   # spectrogram / reference caches (git-ignored)
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"            # the papermill notebooks
SHIPPED_CLASSIFIER = MODELS_DIR / "metric_classifier_fsdd.pt"  # the project's IS / FID classifier
