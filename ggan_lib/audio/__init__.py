"""Audio: loading, the exact Gabor transform, the TiFGAN log-magnitude spectrogram and PGHI back to audio.

``load`` (files -> clips, input errors), ``gabor`` (DGT / inverse DGT), ``spectrogram`` (audio -> log-magnitude
and back to a magnitude) go audio -> spectrogram; ``pghi`` goes spectrogram -> audio (phase reconstruction).
"""
from ggan_lib.audio.gabor import canonical_dual, dgt, gauss_window, idgt, windows
from ggan_lib.audio.load import (
                                 AudioConfig,
                                 AudioError,
                                 BadSpectrogramError,
                                 CorruptAudioError,
                                 EmptyAudioError,
                                 SilentClipError,
                                 TruncatedAudioError,
                                 load_audio,
                                 prepare_waveform,
)
from ggan_lib.audio.pghi import fgla, pghi, phase_gradients, spectral_convergence, spectrogram_to_audio
from ggan_lib.audio.spectrogram import (
                                 audio_to_spectrogram,
                                 check_spectrogram,
                                 logmag_from_dgt,
                                 spectrogram_to_magnitude,
)

__all__ = ["AudioConfig", "AudioError", "BadSpectrogramError", "CorruptAudioError", "EmptyAudioError",
           "SilentClipError", "TruncatedAudioError", "audio_to_spectrogram", "canonical_dual", "check_spectrogram",
           "dgt", "gauss_window", "idgt", "load_audio", "logmag_from_dgt", "prepare_waveform",
           "spectrogram_to_magnitude", "windows", "fgla", "pghi", "phase_gradients", "spectral_convergence",
           "spectrogram_to_audio"]
