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

Then, in the same run: clips/s of ``spectrogram_to_audio`` on batches of 1, 16, 64 and 256
clips (numpy float64 and torch float32 on the CPU, torch float32 on CUDA when there is one; with
and without FGLA), each path's sizes measured back to back, in alternating order; and ms/clip against the
signal length L = 16384, 32768, 65536 (clips of the data set tiled to length L). Times are CPU
seconds of the process (``time.process_time``: on a shared machine, less sensitive to being
descheduled than wall time) unless a column says wall.

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
    p.add_argument("--gla100", action="store_true", help="also librosa GLA100")
    p.add_argument("--before", default=None, help="an importable copy of an earlier ggan_lib (renamed, "
                   "e.g. ggan_lib_base) whose PGHI and PGHI + FGLA join the per-clip table, interleaved")
    p.add_argument("--batches", type=int, nargs="*", default=[1, 16, 64, 256], help="batch sizes")
    p.add_argument("--lengths", type=int, nargs="*", default=[16384, 32768, 65536], help="signal lengths L")
    p.add_argument("--n-long", type=int, default=16, help="clips per signal length")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the batch and length tables "
                   "(medians printed: one pass cannot tell 1.0 from 1.2 on a shared machine)")
    p.add_argument("--abba", type=int, default=0, metavar="QUADS",
                   help="also measure batch 64 against 64 one-clip calls in QUADS quads of the order 1, 64, 64, 1 "
                        "(then 64, 1, 1, 64): the median ratio with a bootstrap 95 %% interval")
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


def make_methods(cfg, n_gla: int, with_librosa: bool, gla100: bool = False, before=None):
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
    if before:
        import importlib

        old = importlib.import_module(f"{before}.audio.pghi").spectrogram_to_audio
        methods["before: PGHI"] = lambda spec, T: old(spec, cfg, workers=1)
        methods[f"before: PGHI + FGLA{n_gla}"] = lambda spec, T: old(spec, cfg, n_gla, workers=1)
    if with_librosa:
        methods[LIBROSA32] = lambda spec, T: librosa_gla(T, 32)
        if gla100:
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
    out = {k: ([], [], []) for k in methods}
    for spec in specs:
        T = spectrogram_to_magnitude(spec, cfg)  # (257, 128), the target of every method
        for name, fn in methods.items():  # interleaved, so machine load hits all methods alike
            t0, w0 = time.process_time(), time.perf_counter()
            y = fn(spec, T)
            out[name][1].append(1000 * (time.process_time() - t0))
            out[name][2].append(1000 * (time.perf_counter() - w0))
            out[name][0].append(float(spectral_convergence(y, T, cfg)))
    return {k: tuple(np.array(v) for v in vals) for k, vals in out.items()}


def print_table(results):
    """Print the markdown table and the PGHI speed-up."""
    print("| method | SC dB mean | SC dB std | CPU ms/clip mean | std | wall ms/clip mean |")
    print("|---|---|---|---|---|---|")
    for name, (sc, ms, wall) in results.items():
        print(f"| {name} | {sc.mean():.2f} | {sc.std():.2f} | {ms.mean():.2f} | {ms.std():.2f} | {wall.mean():.2f} |")
    if LIBROSA32 in results:
        lib = results[LIBROSA32][1].mean()
        ratio = lib / results["PGHI"][1].mean()
        print(f"\nPGHI speed-up over librosa GLA32 (ratio of mean CPU ms/clip): {ratio:.1f}x")
        for name in results:
            if "FGLA" in name and "librosa" not in name:
                print(f"{name} / librosa GLA32 (CPU time): {results[name][1].mean() / lib:.3f}")
    for name in [k for k in results if k.startswith("before: ")]:
        new = name[len("before: "):]
        print(f"{new} after / before (CPU time): {results[new][1].mean() / results[name][1].mean():.3f}")


def batch_paths(cfg, n_gla: int):
    """{name: fn(specs (B, 256, 128) float64 numpy) -> audio} for the batch table."""
    import torch

    from ggan_lib.audio.pghi import spectrogram_to_audio

    def on(device, dtype):
        return lambda s, k: spectrogram_to_audio(torch.as_tensor(s, dtype=dtype, device=device), cfg, k, workers=1)

    paths = {"numpy f64": lambda s, k: spectrogram_to_audio(s, cfg, k, workers=1),
             "torch f32 cpu": on("cpu", torch.float32)}
    if torch.cuda.is_available():
        paths["torch f32 cuda"] = on("cuda", torch.float32)
    return {f"{name}{' + FGLA' + str(k) if k else ''}": (lambda s, fn=fn, k=k: fn(s, k))
            for k in (0, n_gla) for name, fn in paths.items()}


def run_batches(paths, specs, sizes, reps: int = 5):
    """clips/s {name: {size: [clips/s of each round]}} over the first 64 clips: batch 1 is 64 calls of
    one clip, batch 16 four calls, batch 64 one, batch 256 the 64 clips four times in one call.

    In each of ``reps`` rounds every path runs all its sizes back to back, in forward order in even
    rounds and reversed in odd ones: the figures a ratio compares are measured seconds apart, not
    minutes (this VM's speed drifts by +-20 % between passes), and a drift within a round favours no
    size."""
    import numpy as np

    pool = np.stack(specs)
    for fn in paths.values():
        fn(pool[:2])  # warm-up
    rate = {k: {s: [] for s in sizes} for k in paths}
    work = {}
    for size in sizes:
        # every size runs the same 64 clips (256: those 64, 4 times): the same work per clip
        n_batches = max(1, 64 // size)
        batches = [pool[(np.arange(size) + b * size) % 64 % len(pool)] for b in range(n_batches)]
        work[size] = [b[0] for b in batches] if size == 1 else batches  # batch 1: one (256, 128) clip per call
    for rep in range(reps):
        for name, fn in paths.items():
            for size in (sizes if rep % 2 == 0 else sizes[::-1]):
                sec = _time_calls(fn, work[size], "cuda" in name)
                rate[name][size].append(len(work[size]) * size / sec)
    return rate


def _time_calls(fn, args, cuda: bool) -> float:
    """Seconds of fn(a) for every a in args: CPU time of the process, or wall time on CUDA (synchronised
    before, and the last result copied back after)."""
    import torch

    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter() if cuda else time.process_time()
    for a in args:
        y = fn(a)
    if cuda:
        _ = y.cpu()
    return (time.perf_counter() if cuda else time.process_time()) - t0


def _median_range(values) -> tuple[float, float, float]:
    """(median, min, max) of a list of per-round figures."""
    import numpy as np
    return float(np.median(values)), float(np.min(values)), float(np.max(values))


def print_batches(out, sizes):
    """Print the clips/s table (median over rounds) and batch 64 over batch 1 (the median of the per-round
    ratios, with their range: the same round's two figures share its load)."""
    print("\n| path (clips/s, median of rounds; CPU time, wall on CUDA) | " + " | ".join(f"batch {s}" for s in sizes)
          + " | batch 64 / batch 1, median (range) |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for name, row in out.items():
        r = ""
        if 64 in row and 1 in row:
            med, lo, hi = _median_range([b / a for a, b in zip(row[1], row[64])])
            r = f"{med:.2f} ({lo:.2f}–{hi:.2f})"
        print(f"| {name} | " + " | ".join(f"{_median_range(row[s])[0]:.1f}" for s in sizes) + f" | {r} |")


def run_abba(paths, specs, quads: int) -> dict[str, list[float]]:
    """{path: [batch-64 clips/s over one-at-a-time clips/s, one per quad]} on the first 64 clips. A quad times
    the two in the order 1, 64, 64, 1 (odd quads 64, 1, 1, 64), so a drift that is linear over the quad
    cancels, and its ratio is of the two sums. CPU time (wall on CUDA), as :func:`run_batches`."""
    import numpy as np

    pool = np.stack(specs)[:64]
    out = {}
    for name, fn in paths.items():
        fn(pool[:2])  # warm-up
        one, batch, cuda = list(pool), [pool], "cuda" in name
        ratios = []
        for q in range(quads):
            order = (one, batch, batch, one) if q % 2 == 0 else (batch, one, one, batch)
            t = [_time_calls(fn, arg, cuda) for arg in order]
            t_one, t_batch = (t[0] + t[3], t[1] + t[2]) if q % 2 == 0 else (t[1] + t[2], t[0] + t[3])
            ratios.append(t_one / t_batch)  # same clips: time ratio = clips/s ratio
        out[name] = ratios
    return out


def print_abba(out) -> None:
    """Median of the quads' ratios with a bootstrap 95 % interval of that median (2,000 resamples, seed 0)."""
    import numpy as np
    rng = np.random.default_rng(0)
    print("\n| path | batch 64 / one at a time, ABBA quads: median | bootstrap 95 % interval | quads | range |")
    print("|---|---|---|---|---|")
    for name, r in out.items():
        r = np.asarray(r)
        boot = np.median(rng.choice(r, (2000, len(r))), axis=1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        print(f"| {name} | {np.median(r):.3f} | {lo:.3f}–{hi:.3f} | {len(r)} | {r.min():.2f}–{r.max():.2f} |")


def run_lengths(files, lengths, n_clips, n_gla, load_audio, rounds: int = 5):
    """ms/clip of PGHI and PGHI + FGLA (numpy, one clip at a time) per signal length L: {L: [[PGHI ms,
    PGHI + FGLA ms] of each round]}; in each of ``rounds`` rounds one method's lengths run back to back,
    in forward order in even rounds and reversed in odd ones (as :func:`run_batches`)."""
    import numpy as np

    from ggan_lib.audio import AudioConfig, audio_to_spectrogram
    from ggan_lib.audio.pghi import spectrogram_to_audio

    base = AudioConfig()
    clips = np.stack([load_audio(f, base) for f in files[:n_clips]])
    work = {}
    for L in lengths:
        cfg = AudioConfig(signal_length=L, spec_shape=(256, L // base.hop))
        specs = audio_to_spectrogram(np.tile(clips, (1, L // base.signal_length)), cfg).astype(np.float64)
        spectrogram_to_audio(specs[0], cfg, n_gla, workers=1)  # warm-up (windows of this L)
        work[L] = (cfg, specs)
    rows = {L: [[0.0, 0.0] for _ in range(rounds)] for L in lengths}
    for rep in range(rounds):
        for j, k in enumerate((0, n_gla)):  # one method's lengths back to back, alternating order by round
            for L in (lengths if rep % 2 == 0 else lengths[::-1]):
                cfg, specs = work[L]
                t0 = time.process_time()
                for s in specs:
                    spectrogram_to_audio(s, cfg, k, workers=1)
                rows[L][rep][j] = 1000 * (time.process_time() - t0) / len(specs)
    return rows


def length_ratios(rows) -> dict[int, list[list[float]]]:
    """Per round, ms/clip at each L divided by L log L, relative to the first L of the same round
    (1.00 = growth exactly L log L): {L: [[PGHI rel., PGHI + FGLA rel.] of each round]}."""
    import numpy as np

    L0 = next(iter(rows))
    out = {}
    for L, per_round in rows.items():
        nl = (L * np.log(L)) / (L0 * np.log(L0))
        out[L] = [[v / v0 / nl for v, v0 in zip(r, r0)] for r, r0 in zip(per_round, rows[L0])]
    return out


def print_lengths(rows):
    """The length table: medians over rounds, and the per-round ratios' median (range)."""
    ratios = length_ratios(rows)
    print(f"\n{len(next(iter(rows.values())))} rounds, each method's lengths back to back; ms/clip: median of rounds; "
          "rel.: median (range) of the per-round ratios to the first L")
    print("\n| L | PGHI ms/clip | PGHI + FGLA ms/clip | PGHI / (L log L), rel. | PGHI + FGLA / (L log L), rel. |")
    print("|---|---|---|---|---|")
    for L, per_round in rows.items():
        ms = [_median_range([r[i] for r in per_round])[0] for i in (0, 1)]
        rel = [_median_range([r[i] for r in ratios[L]]) for i in (0, 1)]
        print(f"| {L} | {ms[0]:.2f} | {ms[1]:.2f} | " + " | ".join(f"{m:.2f} ({lo:.2f}–{hi:.2f})" for m, lo, hi in rel)
              + " |")


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
    results = run(make_methods(cfg, args.n_gla, not args.skip_librosa, args.gla100, args.before), specs, cfg)
    n_speakers = len({f.stem.split("_")[1] for f in files})
    n_digits = len({f.stem.split("_")[0] for f in files})
    print(f"{len(files)} FSDD clips ({n_speakers} speakers x {n_digits} digits), "
          f"{args.threads} thread(s); "
          "SC vs T on the exact DGT (lower is better)\n", flush=True)
    print_table(results)
    if args.batches:
        print_batches(run_batches(batch_paths(cfg, args.n_gla), specs, args.batches, args.rounds), args.batches)
    if args.abba:
        print_abba(run_abba(batch_paths(cfg, args.n_gla), specs, args.abba))
    if args.lengths:
        print_lengths(run_lengths(files, args.lengths, args.n_long, args.n_gla, load_audio, args.rounds))


if __name__ == "__main__":
    main()
