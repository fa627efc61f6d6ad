"""Estimate the GPU memory of one Algorithm-1 iteration at a large batch from CPU runs at small batches.

    python benchmarks/estimate_memory.py --preset paper --batches 2 4 --target-batch 64

No GPU needed, and not a substitute for one: the figure a GPU run reports is
``torch.cuda.max_memory_allocated`` (benchmarks/bench_train.py). What this script measures is the peak
of live tensor storage (parameters, buffers, optimiser states, data, activations saved for backward,
gradients, temporaries) during a full iteration on the CPU, counted by a TorchDispatchMode that sees
every tensor an op returns and a weakref on its storage that sees it freed. Every live tensor is per
sample or fixed, so the peak is affine in the batch: two batches give the slope and the intercept, and
the script extrapolates to --target-batch.

What it leaves out (so a GPU peak is higher): the CUDA caching allocator's rounding and fragmentation,
cuDNN / cuBLAS workspaces, CUDA context (not in max_memory_allocated anyway), torch.compile buffers.
What it models: bf16 autocast as on CUDA (the CPU's autocast casts the same op families), and the
attention kernel: ``fused`` (SDPA's flash / memory-efficient kernels, that ggan_lib.model.layers makes
eligible on CUDA by padding the head widths to 8; emulated by the CPU's flash kernel) or ``math`` (the kernel CUDA falls back to when a head
width is not a multiple of 8 or the last dimension is strided, which materialises the HW x HW/4
softmax matrix).
"""
from __future__ import annotations

import argparse
import json
import sys
import weakref
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ggan_lib.model import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import make_trainer  # noqa: E402

GiB = 2 ** 30


class LiveStorage(TorchDispatchMode):
    """Peak bytes of live tensor storage while active (each storage counted once, freed via weakref)."""

    def __init__(self):
        super().__init__()
        self._refs: dict[int, weakref.ref] = {}   # storage id -> weakref (keeps the callback alive)
        self.current = 0
        self.peak = 0
        self.phase_peak: dict[str, int] = {}
        self.phase: str | None = None

    def track(self, t) -> None:
        """Count t's storage if it is not counted yet."""
        if not isinstance(t, torch.Tensor) or t.device.type == "meta":
            return
        st = t.untyped_storage()
        key = id(st)
        if key in self._refs and self._refs[key]() is st:
            return
        n = st.nbytes()
        self.current += n

        def freed(_ref, key=key, n=n):
            self.current -= n
            self._refs.pop(key, None)

        self._refs[key] = weakref.ref(st, freed)
        self._bump()

    def _bump(self) -> None:
        self.peak = max(self.peak, self.current)
        if self.phase is not None:
            self.phase_peak[self.phase] = max(self.phase_peak.get(self.phase, 0), self.current)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            self.track(t)
        return out


def _cpu_flash_attention(q, k, v, *, head_multiple=1):
    """layers.fused_attention through the CPU's flash kernel, which saves what CUDA's fused kernels save
    (q, k, v, output, log-sum-exp) but needs one head width: q, k and v are all padded to the larger
    width rounded up to 8 (a slight over-count of q and k where the value width is larger, as in G)."""
    width = -(-max(q.shape[-1], v.shape[-1]) // 8) * 8
    dv = v.shape[-1]
    q, k, v = (torch.nn.functional.pad(t, (0, width - t.shape[-1])).contiguous()[:, None] for t in (q, k, v))
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=1.0)[:, 0, :, :dv]


def resident_tensors(tr) -> list[torch.Tensor]:
    """Everything the trainer keeps between iterations: parameters, buffers, optimiser states, data, EMA."""
    ts = [t for t in tr.model.parameters()] + [b for b in tr.model.buffers()]
    for ph in tr.phases.values():
        for st in ph.opt.state.values():
            ts += [v for v in st.values() if isinstance(v, torch.Tensor)]
    ts += [tr.X, tr.Xl, tr.yl]
    if tr.ema_G is not None:
        ts += list(tr.ema_G.state_dict().values())
    return ts


def measure(preset: str, batch: int, amp: str, attention: str) -> dict:
    """One warm-up iteration (creates the optimiser states), then the peak of a second, per phase."""
    torch.manual_seed(0)
    tr = make_trainer(preset, batch, "cpu", amp=amp)
    backend = SDPBackend.MATH if attention == "math" else SDPBackend.FLASH_ATTENTION
    real = layers.fused_attention
    if attention == "fused":
        layers.fused_attention = _cpu_flash_attention
    try:
        with sdpa_kernel([backend]):
            tr.step()
            mode = LiveStorage()
            run = tr.run_step

            def tracked(phase, *a):
                mode.phase = phase.name
                try:
                    return run(phase, *a)
                finally:
                    mode.phase = None

            tr.run_step = tracked
            for t in resident_tensors(tr):
                mode.track(t)
            resident = mode.current
            with mode:
                tr.step()
    finally:
        layers.fused_attention = real
    return {"batch": batch, "resident": resident, "peak": mode.peak, "phase_peak": dict(mode.phase_peak)}


def extrapolate(a: dict, b: dict, target: int) -> dict:
    """Affine fit through two batches: peak(target) and per-phase peaks."""
    def fit(pa, pb):
        slope = (pb - pa) / (b["batch"] - a["batch"])
        return pa + slope * (target - a["batch"]), slope
    peak, slope = fit(a["peak"], b["peak"])
    phases = {k: fit(a["phase_peak"][k], b["phase_peak"][k])[0] for k in a["phase_peak"]}
    return {"peak": peak, "per_sample": slope, "phase_peak": phases}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="paper")
    p.add_argument("--batches", type=int, nargs=2, default=[2, 4], help="two small batches to fit")
    p.add_argument("--target-batch", type=int, default=64)
    p.add_argument("--amp", default="bf16,off", help="comma list of 'bf16' and 'off' (fp32)")
    p.add_argument("--attention", default="fused,math", help="comma list of 'fused' and 'math'")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="also write the figures here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    rows = []
    for amp in a.amp.split(","):
        for att in a.attention.split(","):
            ms = [measure(a.preset, bs, amp, att) for bs in a.batches]
            est = extrapolate(ms[0], ms[1], a.target_batch)
            rows.append({"amp": amp, "attention": att, "measured": ms, "estimate": est})
            ph = " ".join(f"{k} {v / GiB:.2f}" for k, v in est["phase_peak"].items())
            print(f"{a.preset} {'bf16' if amp == 'bf16' else 'fp32'} attention={att}: "
                  + ", ".join(f"batch {m['batch']} peak {m['peak'] / GiB:.3f} GiB" for m in ms)
                  + f" (resident {ms[0]['resident'] / GiB:.3f} GiB); per sample {est['per_sample'] / GiB:.3f} GiB"
                  + f" -> batch {a.target_batch}: {est['peak'] / GiB:.2f} GiB [per phase GiB: {ph}]", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"preset": a.preset, "target_batch": a.target_batch, "rows": rows},
                                           indent=1))


if __name__ == "__main__":
    main()
