"""Time full Algorithm-1 iterations: it/s, peak memory, time per phase, G forwards and FLOPs per iteration.

    python benchmarks/bench_train.py --preset small --batch 16 --iters 10
    python benchmarks/bench_train.py --preset paper --device cuda            # fp32, bf16, bf16+compile

Modes: fp32, bf16 (autocast) and bf16+compile (torch.compile, channels_last); by default all three on
CUDA and fp32 only on CPU (CPU bf16 autocast works but is slow on most CPUs: ask with --modes). fp32 and
bf16 use the preset's memory format (channels_last at paper and small); fp32-nchw / fp32-nhwc set it.
Synthetic data: the cost of an iteration does not depend on what the spectrograms contain.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ggan_lib.config import ModelConfig  # noqa: E402
from ggan_lib.train.ggan import TrainConfig, Trainer, resolve_device  # noqa: E402

MODES = {"fp32": dict(amp="off"), "bf16": dict(amp="bf16"),
         "bf16+compile": dict(amp="bf16", compile=True, channels_last=True),
         # the memory format alone (the presets' own default: channels_last at paper and small)
         "fp32-nchw": dict(amp="off", channels_last=False), "fp32-nhwc": dict(amp="off", channels_last=True)}


def make_trainer(preset: str, batch: int, device: str, **kw) -> Trainer:
    """A Trainer on random data of the preset's shape."""
    mcfg = ModelConfig.preset(preset)
    n = max(4 * batch, 64)
    g = torch.Generator().manual_seed(0)
    X = torch.rand(n, 1, *mcfg.spec_shape, generator=g) * 2 - 1
    y = torch.randint(mcfg.n_classes, (n,), generator=g)
    cfg = TrainConfig.preset(preset, batch_size=batch, device=device, progress=False, ckpt_every=0, **kw)
    return Trainer(mcfg, cfg, X, X[: n // 4], y[: n // 4])


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_phases(tr: Trainer) -> dict[str, float]:
    """Wrap the trainer's phase runner and fake generation to accumulate seconds per phase."""
    acc: dict[str, float] = defaultdict(float)
    run, fakes = tr.run_step, tr._fakes

    def timed(name, fn, *a):
        _sync(tr.device)
        t = time.perf_counter()
        r = fn(*a)
        _sync(tr.device)
        acc[name] += time.perf_counter() - t
        return r

    tr.run_step = lambda phase, *a: timed(phase.name, run, phase, *a)
    tr._fakes = lambda b: timed("fakes(D)", fakes, b)
    return acc


def count_flops(tr: Trainer) -> dict[str, float]:
    """Model FLOPs of one Algorithm-1 iteration, and of G / a D trunk forward per sample."""
    with FlopCounterMode(display=False) as fc:
        tr.step()
    total = fc.get_total_flops()
    z = torch.randn(2, tr.mcfg.z_dim, device=tr.device)
    c = torch.zeros(2, dtype=torch.long, device=tr.device)
    with torch.no_grad():
        with FlopCounterMode(display=False) as fg:
            x = tr.nets["G"](tr.nets["E"](z, c))
        with FlopCounterMode(display=False) as fd:
            tr.nets["D"](x)
    return {"flops_per_iter": float(total), "g_fwd_flops_per_sample": fg.get_total_flops() / 2,
            "d_fwd_flops_per_sample": fd.get_total_flops() / 2}


def bench(preset: str, batch: int, device: str, mode: str, iters: int, warmup: int) -> dict:
    """Warm up, time `iters` full iterations, then time each phase over a few more (with a sync per phase)."""
    tr = make_trainer(preset, batch, device, **MODES[mode])
    dev = tr.device
    for _ in range(warmup):  # includes compilation for bf16+compile
        tr.step()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(iters):  # no sync inside: the GPU queue runs ahead as in training
        out = tr.step()
    _sync(dev)
    dt = (time.perf_counter() - t0) / iters
    phase_iters = max(1, iters // 2)
    acc = time_phases(tr)
    for _ in range(phase_iters):
        tr.step()
    peak = (torch.cuda.max_memory_allocated(dev) if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # Linux: KiB
    res = {"preset": preset, "batch": batch, "mode": mode, "device": str(dev), "s_per_iter": dt, "it_per_s": 1 / dt,
           "peak_mem_GiB": peak / 2**30, "peak_kind": "cuda_max_allocated" if dev.type == "cuda" else "cpu_max_rss",
           "g_forwards_per_iter": out["g_forwards"],
           "phase_s_per_iter": {k: v / phase_iters for k, v in acc.items()}}
    del tr
    _free(dev)
    if mode == "fp32":
        res.update(count_flops(make_trainer(preset, batch, device, amp="off")))
        _free(dev)
    return res


def _free(dev: torch.device) -> None:
    """Return cached blocks so the next mode starts from an empty GPU."""
    import gc
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()


def bench_or_oom(*args) -> dict:
    """bench(), or {"oom": message} when the mode does not fit in GPU memory (fp32 may not at batch 64)."""
    try:
        return bench(*args)
    except torch.cuda.OutOfMemoryError as e:
        _free(torch.device("cuda"))
        return {"preset": args[0], "batch": args[1], "mode": args[3], "oom": str(e).splitlines()[0]}


def main(argv=None) -> None:
    """Parse arguments, run each mode, print a table and JSON lines."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="tiny", choices=["tiny", "small", "paper"])
    p.add_argument("--batch", type=int, default=None, help="global batch (default: the preset's)")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--modes", default=None, help="comma list of " + ", ".join(MODES))
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    p.add_argument("--json", default=None, help="append results as JSON lines to this file")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    modes = a.modes.split(",") if a.modes else (list(MODES) if dev.type == "cuda" else ["fp32"])
    batch = a.batch or TrainConfig.preset(a.preset).batch_size
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, device {dev}, "
          f"threads {torch.get_num_threads()}, preset {a.preset}, batch {batch}")
    for mode in modes:
        r = bench_or_oom(a.preset, batch, a.device, mode, a.iters, a.warmup)
        if "oom" in r:
            print(f"{mode:>13}: out of GPU memory ({r['oom']})")
            if a.json:
                with open(a.json, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
            continue
        phases = "  ".join(f"{k} {v * 1e3:.0f}ms" for k, v in r["phase_s_per_iter"].items())
        flops = (f"  {r['flops_per_iter']:.3g} FLOP/iter (G fwd {r['g_fwd_flops_per_sample']:.3g}, "
                 f"D trunk fwd {r['d_fwd_flops_per_sample']:.3g} per sample)" if "flops_per_iter" in r else "")
        print(f"{mode:>13}: {r['it_per_s']:.2f} it/s ({r['s_per_iter']:.3f} s/iter)  peak {r['peak_mem_GiB']:.2f} GiB "
              f"({r['peak_kind']})  G fwd/iter {r['g_forwards_per_iter']:.0f}{flops}\n{'':>15}{phases}")
        if a.json:
            with open(a.json, "a") as fh:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
