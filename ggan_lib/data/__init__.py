"""Datasets: folders of labelled audio as cached spectrograms, the label protocol (splits) and training data.

``paths`` (where the data lives, how to get it, errors), ``cache`` (spectrograms on disk), ``folders``
(the datasets), ``splits`` (the label protocol), ``sources`` (FSDD training data, digit-folder waveforms).
"""
from ggan_lib.data.cache import cached_spectrograms, compute_spectrograms, listing_key
from ggan_lib.data.folders import (
                                   AUDIO_SUFFIXES,
                                   DIGIT_PATTERN,
                                   LABEL_PATTERN,
                                   DigitFolder,
                                   Entry,
                                   LabelledFolder,
                                   SpectrogramFolder,
                                   infinite_batches,
                                   librispeech_gender,
                                   sc09,
                                   synthetic_voices,
)
from ggan_lib.data.paths import (
                                   FSDD_HOWTO,
                                   LIBRI_HOWTO,
                                   SC09_HOWTO,
                                   VOICES_HOWTO,
                                   BadFilesError,
                                   DataError,
                                   DatasetNotFoundError,
                                   default_cache_dir,
                                   default_fsdd_dir,
                                   default_librispeech_dir,
                                   default_sc09_dir,
                                   default_voices_dir,
                                   repo_root,
)
from ggan_lib.data.sources import (
                                   folder_speakers,
                                   fsdd_data,
                                   fsdd_validation,
                                   list_digit_folder,
                                   load_digit_folder,
                                   synthetic_data,
)
from ggan_lib.data.splits import label_draws, labelled_subset

__all__ = ["folder_speakers", "AUDIO_SUFFIXES", "DIGIT_PATTERN", "FSDD_HOWTO", "LABEL_PATTERN", "LIBRI_HOWTO", "SC09_HOWTO",
           "VOICES_HOWTO", "BadFilesError", "DataError", "DatasetNotFoundError", "DigitFolder", "Entry",
           "LabelledFolder", "SpectrogramFolder", "cached_spectrograms", "compute_spectrograms", "default_cache_dir",
           "default_fsdd_dir", "default_librispeech_dir", "default_sc09_dir", "default_voices_dir",
           "infinite_batches", "label_draws", "labelled_subset", "librispeech_gender", "listing_key", "repo_root",
           "sc09", "synthetic_voices", "fsdd_data", "fsdd_validation", "list_digit_folder", "load_digit_folder",
           "synthetic_data"]
