"""GGAN: guided generative adversarial networks for audio (the ggan-book library)."""
__version__ = "0.1.0"
