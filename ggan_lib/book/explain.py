"""Looking inside the model, for the book's chapters: tables, activations, parameter diffs, small demos.

Nothing here is needed to train GGAN; these helpers make what the networks and Algorithm 1 do
visible (forward hooks, parameter snapshots per network, the exact rewrites checked live, the
mode-divergence loss on a collapsed generator).
"""
from __future__ import annotations

import copy
import os
from collections import OrderedDict
from typing import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from ggan_lib import losses as L
from ggan_lib.config import ModelConfig
from ggan_lib.model.layers import DBlock, GBlock, has_sn
from ggan_lib.model.networks import count_flops, sample_latent

NETS = ("E", "Ce", "G", "D", "Dp", "D2", "F", "Cx", "Df")
#: Display names of the networks (the paper's letters).
NET_NAMES = {"E": "E", "Ce": "Ce", "G": "G", "D": "D", "Dp": "D′", "D2": "D2", "F": "F", "Cx": "Cx", "Df": "Df"}


# ------------------------------------------------------------------------------------ set-up
def cpu_threads(default: int = 1) -> int:
    """On a CPU-only machine set torch's intra-op threads to GGAN_THREADS (default 1); returns the count.

    Why 1: the book's networks are small, and on a shared or busy machine extra threads spin-wait
    on each other — measured 8-80x slower with 2 threads than with 1 on the CI's 2 shared cores.
    On a GPU nothing is changed.
    """
    if torch.cuda.is_available():
        return torch.get_num_threads()
    n = int(os.environ.get("GGAN_THREADS", default))
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


# ------------------------------------------------------------------------------------ counts
def param_count(module: nn.Module) -> int:
    """Number of parameters of a module, trainable or not (the Trainer freezes borrowed networks)."""
    return sum(p.numel() for p in module.parameters())


def format_count(n: float) -> str:
    """1234 -> '1.2 k', 1234567 -> '1.23 M', 3.7e10 -> '37.0 G' (parameters, FLOPs)."""
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n:.0f}"


def param_table(model: nn.Module, names: Iterable[str] = NETS) -> list[dict]:
    """Rows {network, parameters, formatted, share} for the networks of a GGAN container."""
    counts = {n: param_count(getattr(model, n)) for n in names}
    total = sum(counts.values())
    rows = [{"network": NET_NAMES.get(n, n), "parameters": c, "formatted": format_count(c),
             "share": f"{100 * c / total:.1f} %"} for n, c in counts.items()]
    rows.append({"network": "total", "parameters": total, "formatted": format_count(total), "share": "100 %"})
    return rows


def mlp_table(net: nn.Module, input_label: str = "Input") -> list[dict]:
    """The paper-style table (layer, output size, SN) of a dense network (E, Ce, Cx, D', F, Df's head).

    Walks the module's Linear and ReLU layers in order; conv layers (a trunk) are skipped.
    """
    rows: list[dict] = []
    width = None
    for m in net.modules():
        if isinstance(m, nn.Linear):
            if width is None:
                rows.append({"layer": input_label, "output": str(m.in_features), "SN": "-"})
            width = m.out_features
            rows.append({"layer": "Dense", "output": str(width), "SN": "SN" if has_sn(m) else "-"})
        elif isinstance(m, nn.ReLU) and width is not None:
            rows.append({"layer": "ReLU", "output": str(width), "SN": "-"})
    if not rows:
        raise ValueError(f"{type(net).__name__} has no dense layers")
    return rows


# ------------------------------------------------------------------------------------ activations
def capture_activations(module: nn.Module, inputs: tuple, names: Iterable[str]) -> "OrderedDict[str, torch.Tensor]":
    """Run module(*inputs) once (no grad) and return the outputs of the named submodules, in call order."""
    subs = dict(module.named_modules())
    missing = [n for n in names if n not in subs]
    if missing:
        raise KeyError(f"no submodules {missing} in {type(module).__name__}")
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    handles = []
    for n in names:
        def hook(_mod, _inp, output, n=n):
            out[n] = output.detach()
        handles.append(subs[n].register_forward_hook(hook))
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return out


def generator_activations(G: nn.Module, ze: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
    """G's intermediate activations for ze (B, z_dim): label -> (B, C, H, W), from the dense layer to tanh."""
    names = ["linear"] + [f"blocks.{i}" for i in range(len(G.blocks))] + [f"attn.{k}" for k in G.attn] + ["out_conv"]
    acts = capture_activations(G, (ze,), names)
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for n, a in acts.items():
        if n == "linear":
            out["dense (reshaped)"] = a.view(a.shape[0], *G.base)
        elif n.startswith("blocks."):
            out[f"ResBlock {int(n.split('.')[1]) + 1}"] = a
        elif n.startswith("attn."):
            out["non-local"] = a
        else:
            out["conv (pre-tanh)"] = a
            out["tanh = x̂"] = torch.tanh(a)
    return out


def activation_stats(acts: Mapping[str, torch.Tensor]) -> list[dict]:
    """Rows {stage, shape (C × H × W), mean, std, |max|} of captured activations (first sample)."""
    rows = []
    for name, a in acts.items():
        a0 = a[0].float()
        rows.append({"stage": name, "shape": " × ".join(map(str, a0.shape)), "mean": round(a0.mean().item(), 3),
                     "std": round(a0.std().item(), 3), "|max|": round(a0.abs().max().item(), 3)})
    return rows


# ------------------------------------------------------------------------------------ parameter diffs
def snapshot(nets: Mapping[str, nn.Module]) -> dict[str, dict[str, torch.Tensor]]:
    """Copies of every parameter and buffer, per network: {net: {'p:name' or 'b:name': tensor}}."""
    snap = {}
    for n, net in nets.items():
        d = {f"p:{k}": p.detach().clone() for k, p in net.named_parameters()}
        d.update({f"b:{k}": b.detach().clone() for k, b in net.named_buffers()})
        snap[n] = d
    return snap


def diff(before: Mapping[str, Mapping[str, torch.Tensor]], nets: Mapping[str, nn.Module]) -> dict[str, dict]:
    """Per network: how many parameters/buffers changed since ``before`` and the largest parameter change."""
    after = snapshot(nets)
    out = {}
    for n, old in before.items():
        new = after[n]
        changed = [k for k in old if not torch.equal(old[k], new[k])]
        p_changed = [k for k in changed if k.startswith("p:")]
        max_abs = max((float((new[k].float() - old[k].float()).abs().max()) for k in p_changed), default=0.0)
        out[n] = {"params_changed": len(p_changed), "params_total": sum(k.startswith("p:") for k in old),
                  "buffers_changed": len(changed) - len(p_changed), "max_abs_change": max_abs}
    return out


def phase_ownership(trainer, phases: Iterable[str] = ("D1", "D2", "Df", "ECG", "FC")) -> dict[str, dict[str, dict]]:
    """Run each phase once (``trainer.run_phase``) and record what it changed: {phase: diff per network}.

    Also records the generator forward passes each phase made under the key ``'_g_forwards'``.
    """
    result = {}
    for ph in phases:
        before = snapshot(trainer.nets)
        calls = trainer.g_forward_calls
        trainer.run_phase(ph)
        result[ph] = diff(before, trainer.nets)
        result[ph]["_g_forwards"] = trainer.g_forward_calls - calls
    return result


def phase_owners(model: nn.Module) -> dict[str, list[str]]:
    """{phase: [network names]} from ``model.phase_modules()`` (which networks each phase updates)."""
    return {ph: [n for n in NETS if any(getattr(model, n) is mod for mod in mods)]
            for ph, mods in model.phase_modules().items()}


def ownership_table(result: Mapping[str, Mapping[str, dict]],
                    owners: Mapping[str, Iterable[str]] | None = None) -> list[dict]:
    """Rows per network, one column per phase: 'moved' (parameters changed), 'buffers' (only BN/SN state) or '–'.

    With ``owners`` ({phase: [net names]}), a cell of an owned network is starred ('moved *').
    """
    phases = list(result)
    nets = [n for n in next(iter(result.values())) if not n.startswith("_")]
    rows = []
    for n in nets:
        row = {"network": NET_NAMES.get(n, n)}
        for ph in phases:
            d = result[ph][n]
            cell = "moved" if d["params_changed"] else ("buffers" if d["buffers_changed"] else "–")
            if owners is not None and n in owners[ph]:
                cell += " *"
            row[ph] = cell
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ E and Ce (eq. 1)
def fit_encoder_classifier(E: nn.Module, Ce: nn.Module, cfg: ModelConfig, steps: int = 300, batch: int = 64,
                           lr: float = 5e-4, seed: int = 0) -> list[dict]:
    """Train E and Ce alone on eq. 1 (EC = CE(Ce(E(z, c)), c)) with Adam; returns per-step {loss, acc}."""
    g = torch.Generator().manual_seed(seed)
    dev = next(E.parameters()).device
    params = list(E.parameters()) + list(Ce.parameters())
    opt = torch.optim.Adam(params, lr=lr, betas=(0.0, 0.999))
    E.train(), Ce.train()
    hist = []
    for _ in range(steps):
        z, c = sample_latent(cfg, batch, generator=g)
        z, c = z.to(dev), c.to(dev)
        logits = Ce(E(z, c))
        loss = L.ec_loss(logits, c)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hist.append({"loss": loss.item(), "acc": (logits.argmax(1) == c).float().mean().item()})
    return hist


@torch.no_grad()
def latent_codes(E: nn.Module, cfg: ModelConfig, n: int = 1000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n codes ze = E(z, c) with c uniform over the classes: (ze (n, z_dim), c (n,)) as numpy."""
    g = torch.Generator().manual_seed(seed)
    z, c = sample_latent(cfg, n, generator=g)
    dev = next(E.parameters()).device
    return E(z.to(dev), c.to(dev)).float().cpu().numpy(), c.numpy()


@torch.no_grad()
def class_vs_noise(E: nn.Module, cfg: ModelConfig, n: int = 200, seed: int = 1) -> tuple[float, float]:
    """Mean |change of ze| when only c changes (to another class) vs when only z is redrawn."""
    z1, c1 = sample_latent(cfg, n, generator=torch.Generator().manual_seed(seed))
    z2, c2 = sample_latent(cfg, n, generator=torch.Generator().manual_seed(seed + 1))
    c2 = torch.where(c2 == c1, (c1 + 1) % cfg.n_classes, c2)  # a different class for every row
    dev = next(E.parameters()).device
    z1, z2, c1, c2 = z1.to(dev), z2.to(dev), c1.to(dev), c2.to(dev)
    base = E(z1, c1)
    d_c = (E(z1, c2) - base).norm(dim=1).mean().item()
    d_z = (E(z2, c1) - base).norm(dim=1).mean().item()
    return d_c, d_z


def pca_2d(x: np.ndarray, basis: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Project (N, D) onto its two principal axes (or a given (D, 2) basis): (points (N, 2), basis)."""
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(0)
    if basis is None:
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        basis = vt[:2].T
    return xc @ basis, basis


def centroid_accuracy(x: np.ndarray, y: np.ndarray, seed: int = 0) -> float:
    """Held-out accuracy of a nearest-class-mean classifier (fit on one half, tested on the other)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    idx = np.random.default_rng(seed).permutation(len(x))
    tr, te = idx[: len(x) // 2], idx[len(x) // 2:]
    classes = np.unique(y[tr])
    means = np.stack([x[tr][y[tr] == k].mean(0) for k in classes])
    dist = ((x[te][:, None, :] - means[None]) ** 2).sum(-1)
    return float((classes[dist.argmin(1)] == y[te]).mean())


# ------------------------------------------------------------------------------------ exact rewrites
def rewrite_check(kind: str = "G", in_ch: int = 8, out_ch: int = 8, size: tuple[int, int] = (8, 4),
                  batch: int = 2, seed: int = 0) -> dict:
    """Run one G up-block ('G') or D down-block ('D') with and without the exact FLOP-saving rewrites.

    Returns {max_abs_diff, rel_diff, flops_plain, flops_rewritten, out_shape}. Both blocks share their
    weights (a deep copy with the rewrite flags switched off), so any difference is the rewrite's.
    """
    torch.manual_seed(seed)
    if kind == "G":
        fast = GBlock(in_ch=in_ch, out_ch=out_ch, upsample=True, sc_before_up=True, upconv_shuffle=True)
        plain = copy.deepcopy(fast)
        plain.sc_before_up, plain.use_shuffle = False, False
    elif kind == "D":
        fast = DBlock(in_ch=in_ch, out_ch=out_ch, downsample=True, preactivation=True,
                      sc_pool_first=True, conv_pool_fused=True)
        plain = copy.deepcopy(fast)
        plain.sc_pool_first, plain.fused = False, False
    else:
        raise ValueError(f"kind must be 'G' or 'D', not {kind!r}")
    fast.eval(), plain.eval()  # eval: no power-iteration update, BN on running stats, so two calls agree
    x = torch.randn(batch, in_ch, *size, dtype=torch.float64)
    fast.double(), plain.double()
    with torch.no_grad():
        y_fast, y_plain = fast(x), plain(x)
    err = float((y_fast - y_plain).abs().max())
    return {"max_abs_diff": err, "rel_diff": err / float(y_plain.abs().max()),
            "flops_plain": count_flops(plain, x), "flops_rewritten": count_flops(fast, x),
            "out_shape": tuple(y_fast.shape)}


# ------------------------------------------------------------------------------------ mode divergence (eq. 5)
def pair_diversity(x1: torch.Tensor, x2: torch.Tensor) -> float:
    """Mean |x1 - x2| over pairs of generated spectrograms (same c, different z): 0 = collapsed."""
    return float((x1.float() - x2.float()).abs().mean())


@torch.no_grad()
def same_class_samples(model: nn.Module, k: int = 6, cls: int = 0, seed: int = 7) -> torch.Tensor:
    """k spectrograms G(E(z, cls)) from k different z of one class (G on batch statistics, as in training)."""
    dev = next(model.G.parameters()).device
    z, _ = sample_latent(model.cfg, k, dev, generator=torch.Generator(device=dev).manual_seed(seed))
    return model.G(model.E(z, torch.full((k,), cls, device=dev)))


def collapse_encoder(E: nn.Module, factor: float, z_dim: int) -> None:
    """Scale E's first-layer weights on z by ``factor`` (in place): factor << 1 makes ze nearly ignore z."""
    first = next(m for m in E.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        first.weight[:, :z_dim] *= factor


def mg_terms(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor,
             c: torch.Tensor, alpha: float = 1e-4, reduction: str = "ratio_of_sums") -> tuple[torch.Tensor, dict]:
    """Eq. 5 for one batch: MG and its parts (real and fake pair distances in D's feature space)."""
    D = model.D
    xh = model.G(model.E(torch.cat([z1, z2]), torch.cat([c, c])))
    n = len(c)
    dxh1, dxh2 = D(xh).split(n)
    with torch.no_grad():
        dx1, dx2 = D(torch.cat([x1, x2])).split(n)
    mg = L.mg_loss(dx1, dx2, dxh1, dxh2, alpha, reduction)
    return mg, {"mg": mg.item(), "real_dist": (dx1 - dx2).abs().sum().item(),
                "fake_dist": (dxh1 - dxh2).abs().sum().item(),
                "diversity": pair_diversity(xh[:n].detach(), xh[n:].detach())}


def mg_descent(model: nn.Module, X: torch.Tensor, steps: int = 40, batch: int = 16, lr: float = 5e-4,
               seed: int = 0, reduction: str = "ratio_of_sums") -> list[dict]:
    """Descend eq. 5 alone on E and G (D frozen, SN and BN state untouched); per-step MG and diversity."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    dev = X.device
    model.D.eval().requires_grad_(False)
    model.E.train().requires_grad_(True)
    model.G.train().requires_grad_(True)
    opt = torch.optim.Adam(list(model.E.parameters()) + list(model.G.parameters()), lr=lr, betas=(0.0, 0.999))
    hist = []
    for _ in range(steps):
        z, c = sample_latent(cfg, 2 * batch, generator=g)
        c = c[:batch]
        idx = torch.randint(len(X), (2 * batch,), generator=g)
        mg, logs = mg_terms(model, X[idx[:batch]], X[idx[batch:]], z[:batch].to(dev), z[batch:].to(dev),
                            c.to(dev), cfg.mg_alpha, reduction)
        hist.append(logs)
        opt.zero_grad(set_to_none=True)
        mg.backward()
        opt.step()
    return hist
