"""Audio: loading, the exact Gabor transform, the TiFGAN log-magnitude spectrogram and PGHI back to audio.

``core`` goes audio -> spectrogram; ``pghi`` goes spectrogram -> audio (phase reconstruction).
"""
from ggan_lib.audio.core import (AudioConfig, AudioError, BadSpectrogramError, CorruptAudioError, EmptyAudioError,
                                 SilentClipError, TruncatedAudioError, audio_to_spectrogram, canonical_dual,
                                 check_spectrogram, dgt, gauss_window, idgt, load_audio, logmag_from_dgt,
                                 prepare_waveform, spectrogram_to_magnitude, windows)
from ggan_lib.audio.pghi import fgla, pghi, phase_gradients, spectral_convergence, spectrogram_to_audio

__all__ = ["AudioConfig", "AudioError", "BadSpectrogramError", "CorruptAudioError", "EmptyAudioError",
           "SilentClipError", "TruncatedAudioError", "audio_to_spectrogram", "canonical_dual", "check_spectrogram",
           "dgt", "gauss_window", "idgt", "load_audio", "logmag_from_dgt", "prepare_waveform",
           "spectrogram_to_magnitude", "windows", "fgla", "pghi", "phase_gradients", "spectral_convergence",
           "spectrogram_to_audio"]
