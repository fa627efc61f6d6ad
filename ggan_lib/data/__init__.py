"""Datasets: folders of labelled audio as cached spectrograms, and the label protocol (splits)."""
from ggan_lib.data.core import (AUDIO_SUFFIXES, DIGIT_PATTERN, FSDD_HOWTO, LABEL_PATTERN, LIBRI_HOWTO, SC09_HOWTO,
                                VOICES_HOWTO, BadFilesError, DataError, DatasetNotFoundError, DigitFolder, Entry,
                                LabelledFolder, SpectrogramFolder, cached_spectrograms, compute_spectrograms,
                                default_cache_dir, default_fsdd_dir, default_librispeech_dir, default_sc09_dir,
                                default_voices_dir, infinite_batches, label_draws, labelled_subset,
                                librispeech_gender, listing_key, repo_root, sc09, synthetic_voices)

__all__ = ["AUDIO_SUFFIXES", "DIGIT_PATTERN", "FSDD_HOWTO", "LABEL_PATTERN", "LIBRI_HOWTO", "SC09_HOWTO",
           "VOICES_HOWTO", "BadFilesError", "DataError", "DatasetNotFoundError", "DigitFolder", "Entry",
           "LabelledFolder", "SpectrogramFolder", "cached_spectrograms", "compute_spectrograms", "default_cache_dir",
           "default_fsdd_dir", "default_librispeech_dir", "default_sc09_dir", "default_voices_dir",
           "infinite_batches", "label_draws", "labelled_subset", "librispeech_gender", "listing_key", "repo_root",
           "sc09", "synthetic_voices"]
