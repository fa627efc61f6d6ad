"""Benchmark phase reconstruction from the TiFGAN log-magnitude on FSDD clips.

Prints one table (mean/std spectral convergence in dB and ms/clip) for:
PGHI, PGHI + FGLA, FGLA from zero phase on the exact DGT, and librosa.griffinlim from zero
phase (init=None) on a matching STFT. Every method is given the same target magnitude
T = exp(5 (x - 1)) (+ Nyquist row e^-10) of the 256x128 log-magnitude x, and every result y
is scored with SC = 20 log10(|| |DGT(y)| - T ||_F / ||T||_F) on the exact DGT.

librosa STFT used: n_fft = win_length = 512, hop 128, center=True, window = the same Gaussian
exp(-pi t^2 / (a M)) truncated to t in [-256, 256) (peak 1); its magnitude is given as
||g_peak1|| * T (the DGT uses the unit-norm window) with one extra frame (librosa has 129 frames,
the circular DGT 128: the extra frame is the DGT's frame 0, its circular neighbour).

    python benchmarks/bench_pghi.py --n-clips 200 --threads 1
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

FSDD = Path("/work/shared/data/fsdd/recordings")


def parse_args(argv=None):
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=FSDD, help="folder of FSDD .wav files")
    p.add_argument("--n-clips", type=int, default=200, help="clips, spread over speakers, digits")
    p.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads")
    p.add_argument("--n-gla", type=int, default=32, help="FGLA iterations after PGHI")
    p.add_argument("--skip-librosa", action="store_true", help="only the DGT-based methods")
    return p.parse_args(argv)


def pick_clips(folder: Path, n: int):
    """n files spread over speakers and digits: take 0 of every (speaker, digit), then take 1, ..."""
    groups = defaultdict(list)
    for f in folder.glob("*.wav"):
        digit, speaker, take = f.stem.split("_")
        groups[(speaker, int(digit))].append((int(take), f))
    queues = [[f for _, f in sorted(groups[k])] for k in sorted(groups)]
    picked, i = [], 0
    while len(picked) < n and any(i < len(q) for q in queues):
        picked += [q[i] for q in queues if i < len(q)]
        i += 1
    return picked[:n]


def make_methods(cfg, n_gla: int, with_librosa: bool):
    """{name: fn(spec (256, 128), T (257, 128)) -> audio (L,)} for every benchmarked method."""
    import librosa
    import numpy as np

    from ggan_lib.audio import idgt
    from ggan_lib.audio.pghi import fgla, spectrogram_to_audio

    a, M = cfg.hop, cfg.n_channels
    t = np.arange(-M // 2, M // 2)
    w_lib = np.exp(-np.pi * t**2 / (a * M))  # the Gaussian truncated to 512, centre at index 256
    n = np.arange(cfg.signal_length)
    n = np.where(n < cfg.signal_length // 2, n, n - cfg.signal_length)
    full_norm = np.linalg.norm(np.exp(-np.pi * n**2 / (a * M)))  # |STFT| = norm * |DGT|

    def librosa_gla(T, n_iter):
        """librosa's (fast) Griffin-Lim from zero phase on the matching STFT."""
        S = full_norm * np.concatenate([T, T[:, :1]], axis=1)  # (257, 129)
        return librosa.griffinlim(S, n_iter=n_iter, hop_length=a, win_length=M, n_fft=M,
                                  window=w_lib, center=True, length=cfg.signal_length,
                                  init=None, momentum=0.99)

    methods = {
        "PGHI": lambda spec, T: spectrogram_to_audio(spec, cfg, workers=1),
        f"PGHI + FGLA{n_gla}": lambda spec, T: spectrogram_to_audio(spec, cfg, n_gla, workers=1),
        f"FGLA{n_gla} zero phase (DGT)": lambda spec, T: idgt(fgla(T + 0j, T, cfg, n_gla), cfg),
    }
    if with_librosa:
        methods[LIBROSA32] = lambda spec, T: librosa_gla(T, 32)
        methods["librosa GLA100 zero (Gauss-512 STFT)"] = lambda spec, T: librosa_gla(T, 100)
    return methods


LIBROSA32 = "librosa GLA32 zero (Gauss-512 STFT)"


def run(methods, specs, cfg):
    """Time and score every method on every clip: {name: (sc dB list, ms list)}."""
    import numpy as np

    from ggan_lib.audio import spectrogram_to_magnitude
    from ggan_lib.audio.pghi import spectral_convergence

    for fn in methods.values():  # warm-up: numba compilation, FFT plans
        fn(specs[0], spectrogram_to_magnitude(specs[0], cfg))
    out = {k: ([], []) for k in methods}
    for spec in specs:
        T = spectrogram_to_magnitude(spec, cfg)  # (257, 128), the target of every method
        for name, fn in methods.items():  # interleaved, so machine load hits all methods alike
            t0 = time.perf_counter()
            y = fn(spec, T)
            out[name][1].append(1000 * (time.perf_counter() - t0))
            out[name][0].append(float(spectral_convergence(y, T, cfg)))
    return {k: (np.array(sc), np.array(ms)) for k, (sc, ms) in out.items()}


def print_table(results):
    """Print the markdown table and the PGHI speed-up."""
    print("| method | SC dB mean | SC dB std | ms/clip mean | ms/clip std |")
    print("|---|---|---|---|---|")
    for name, (sc, ms) in results.items():
        print(f"| {name} | {sc.mean():.2f} | {sc.std():.2f} | {ms.mean():.1f} | {ms.std():.1f} |")
    if LIBROSA32 in results:
        ratio = results[LIBROSA32][1].mean() / results["PGHI"][1].mean()
        print(f"\nPGHI speed-up over librosa GLA32 (ratio of mean ms/clip): {ratio:.1f}x")


def main(argv=None):
    """Run every method on every clip and print the table."""
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before numpy / torch / numba load their pools
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ggan_lib.audio import AudioConfig, audio_to_spectrogram, load_audio

    cfg = AudioConfig()
    files = pick_clips(args.data, args.n_clips)
    specs = [audio_to_spectrogram(load_audio(f, cfg), cfg).astype(np.float64) for f in files]
    results = run(make_methods(cfg, args.n_gla, not args.skip_librosa), specs, cfg)
    n_speakers = len({f.stem.split("_")[1] for f in files})
    n_digits = len({f.stem.split("_")[0] for f in files})
    print(f"{len(files)} FSDD clips ({n_speakers} speakers x {n_digits} digits), "
          f"{args.threads} thread(s); "
          "SC vs T on the exact DGT (lower is better)\n")
    print_table(results)


if __name__ == "__main__":
    main()
