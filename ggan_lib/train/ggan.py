"""Algorithm 1 of the paper: k discriminator steps (D1, D2, Df), then ECG, then FC, per iteration.

The loop only knows phases ``(name, modules, optimiser, loss)``; each phase's loss function holds
its forward wiring. During a phase only the modules it owns build gradients and change state:
the networks it borrows run with ``requires_grad`` off, spectral-norm power iteration off (eval)
and BatchNorm on batch statistics without updating running statistics. So one phase step changes
exactly the parameters and buffers of the networks it owns.

Batches (Algorithm 1 step 3, drawn with replacement from in-memory tensors by one torch.Generator):
2m z, m c, 2m x, m (xl, yl). The D steps use z[:m] and x[:m] against m fakes, generated once per
k-step and shared by D1, D2 and Df; ECG uses all 2m (z1, z2 with the same c for eq. 5's x_hat1,
x_hat2, and x1, x2 for its real pairs); FC uses m of each on fresh fakes.

Data parallel (torchrun, the paper's 2 GPUs): each rank draws batch_size / world samples with its
own generator; after each phase's backward the owned gradients are averaged over ranks in one
coalesced all_reduce, and the owned floating buffers (BN running stats, SN vectors) after the step.
This is what DistributedDataParallel does, written out: DDP's reducer expects one fixed set of
trainable parameters per forward, but here every phase backpropagates through networks it does
not own (requires_grad toggled off) and calls some networks several times per step. Averaged
gradients + identical initial state keep the ranks bit-identical (tests/test_ddp.py). What stays
per rank: BatchNorm batch statistics (sync_bn=True for SyncBatchNorm on CUDA) and eq. 5's batch sums.

Watching a run: ``Trainer(..., monitor=Monitor(...))`` (ggan_lib.metrics.monitor) evaluates every N iterations
(IS / FID through PGHI audio, held-out accuracy, snapshots) and keeps ``best.pt`` beside ``checkpoint.pt``.
"""
from __future__ import annotations

import copy
import json
import math
import os
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

import torch
import torch.distributed as dist
from torch import nn

from ggan_lib.io import checkpoint as ckpt
from ggan_lib.config import PresetConfig
from ggan_lib import losses as L  # called as L.name so tests can monkeypatch a loss
from ggan_lib.io.logs import MetricLogger, read_log  # noqa: F401  (read_log re-exported for notebooks)
from ggan_lib.config import RUNTIME_FIELDS, TRAIN_PRESETS, TrainConfig  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from ggan_lib.metrics.monitor import Monitor

NETS = ("E", "Ce", "G", "D", "Dp", "D2", "F", "Cx", "Df")
PHASES = ("D1", "D2", "Df", "ECG", "FC")


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; training stopped before any optimiser step used it."""


class Batch(NamedTuple):
    """One Algorithm-1 step-3 sample (m per rank): z (2m, z_dim), c (m,), x (2m, 1, H, W), xl (m, 1, H, W), yl (m,)."""

    z: torch.Tensor
    c: torch.Tensor
    x: torch.Tensor
    xl: torch.Tensor
    yl: torch.Tensor


@dataclass
class Phase:
    """What the loop knows about a phase: its name, the modules it owns and steps, and its loss."""

    name: str
    modules: list[nn.Module]
    opt: torch.optim.Optimizer
    loss: Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if available else cpu."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else torch.device(name)


def configure_cuda_backends(cfg, device: torch.device) -> dict[str, bool]:
    """On CUDA, set cuDNN autotuning and TF32 from cfg.cudnn_benchmark / cfg.tf32 (process-wide flags).

    cfg: a TrainConfig or BaselineConfig. Returns what was set ({} off CUDA).
    """
    if device.type != "cuda":
        return {}
    flags = {"cudnn.benchmark": cfg.cudnn_benchmark, "cudnn.allow_tf32": cfg.tf32,
             "cuda.matmul.allow_tf32": cfg.tf32}
    torch.backends.cudnn.benchmark = cfg.cudnn_benchmark
    torch.backends.cudnn.allow_tf32 = cfg.tf32
    torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
    return flags


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    """Trains a GGAN with Algorithm 1 on in-memory tensors; ``.step()`` runs one iteration."""

    def __init__(self, model_cfg, train_cfg: TrainConfig, X: torch.Tensor, Xl: torch.Tensor,
                 yl: torch.Tensor, *, model: nn.Module | None = None, out_dir: str | os.PathLike | None = None,
                 monitor: "Monitor | None" = None):
        """model_cfg: ModelConfig; X (N, 1, H, W) unlabelled in [-1, 1]; Xl (Nl, 1, H, W), yl (Nl,) labelled;
        monitor: periodic evaluation, snapshots and best.pt (ggan_lib.metrics.monitor)."""
        self.mcfg, self.cfg = model_cfg, train_cfg
        self.rank, self.world = _rank_world()
        if train_cfg.batch_size % self.world:
            raise ValueError(f"batch_size {train_cfg.batch_size} is not divisible by world size {self.world}")
        self.m = train_cfg.batch_size // self.world
        self.device = resolve_device(train_cfg.device)
        self.amp = train_cfg.amp == "bf16" or (train_cfg.amp == "auto" and self.device.type == "cuda")
        self.mem_format = torch.channels_last if train_cfg.channels_last else torch.contiguous_format
        configure_cuda_backends(train_cfg, self.device)
        torch.manual_seed(train_cfg.seed)  # same init on every rank; broadcast below makes sure
        if model is None:
            from ggan_lib.model.networks import GGAN
            model = GGAN(model_cfg)
        if train_cfg.sync_bn and self.device.type != "cuda":
            raise ValueError("sync_bn needs CUDA devices (torch's SyncBatchNorm has no CPU kernel)")
        if train_cfg.sync_bn and self.world > 1:
            model.G = nn.SyncBatchNorm.convert_sync_batchnorm(model.G)
        self.model = model.to(self.device, memory_format=self.mem_format)
        self.nets = {n: getattr(model, n) for n in NETS}
        self._modes: dict[str, bool] = {}  # cache of _set_modes: net name -> owned
        self._bns = {n: [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
                     for n, net in self.nets.items()}
        self._broadcast_state()
        self.ema_G = copy.deepcopy(self.nets["G"]).eval().requires_grad_(False) if train_cfg.ema else None
        if train_cfg.compile:  # in place: state_dict keys stay those of the plain modules
            for net in self.nets.values():
                net.compile()
        self._set_data(X, Xl, yl)
        self.gen = torch.Generator(device=self.device).manual_seed(train_cfg.seed * 1000 + self.rank)
        self.phases = self._build_phases()
        self.iteration = 0
        self.g_forward_calls = 0
        self.last_checkpoint: Path | None = None
        self._shared: dict[str, torch.Tensor] = {}
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.logger = (MetricLogger(self.out_dir / "log.jsonl", train_cfg.tensorboard)
                       if self.out_dir is not None and self.rank == 0 else None)
        for net in self.nets.values():
            net.requires_grad_(False)
        self.monitor = monitor
        self.last_eval: dict[str, float] = {}  # the latest evaluation's scalars (progress bar, notebooks)

    # ---------------------------------------------------------------- data
    def _set_data(self, X, Xl, yl) -> None:
        shape = (1, *self.mcfg.spec_shape)
        for name, t in (("X", X), ("Xl", Xl)):
            if t.dim() != 4 or tuple(t.shape[1:]) != shape:
                raise ValueError(f"{name} must be (N, {', '.join(map(str, shape))}), got {tuple(t.shape)}")
        if len(yl) != len(Xl) or int(yl.max()) >= self.mcfg.n_classes or int(yl.min()) < 0:
            raise ValueError(f"yl must hold {len(Xl)} labels in [0, {self.mcfg.n_classes}), got {yl.tolist()[:10]}...")
        # moved to the device once; every batch is then an index_select there
        self.X = X.to(self.device, torch.float32)
        self.Xl = Xl.to(self.device, torch.float32)
        self.yl = yl.to(self.device, torch.long)

    def sample_batch(self) -> Batch:
        """Algorithm 1 step 3 (per rank): 2m z, m c, 2m x, m labelled (xl, yl), all from self.gen."""
        m, g, dev = self.m, self.gen, self.device
        if self.mcfg.z_dist == "normal":
            z = torch.randn(2 * m, self.mcfg.z_dim, generator=g, device=dev)
        else:
            z = torch.rand(2 * m, self.mcfg.z_dim, generator=g, device=dev) * 2 - 1
        c = torch.randint(self.mcfg.n_classes, (m,), generator=g, device=dev)
        x = self.X[torch.randint(len(self.X), (2 * m,), generator=g, device=dev)]
        il = torch.randint(len(self.Xl), (m,), generator=g, device=dev)
        fmt = self.mem_format
        return Batch(z, c, x.contiguous(memory_format=fmt), self.Xl[il].contiguous(memory_format=fmt), self.yl[il])

    # ---------------------------------------------------------------- phases
    def _build_phases(self) -> dict[str, Phase]:
        owned = self.model.phase_modules()
        c = self.cfg
        lrs = {"D1": c.lr_d, "D2": c.lr_d, "Df": c.lr_d,
               "ECG": c.lr_d if c.equal_lrs else c.lr_g, "FC": c.lr_d if c.equal_lrs else c.lr_g}
        fns = {"D1": self.loss_d1, "D2": self.loss_d2, "Df": self.loss_df, "ECG": self.loss_ecg, "FC": self.loss_fc}
        phases = {}
        for name in PHASES:
            params = [p for mod in owned[name] for p in mod.parameters()]
            # fused Adam on CUDA: one kernel for all parameters of the phase
            opt = torch.optim.Adam(params, lr=lrs[name], betas=c.betas, eps=c.adam_eps,
                                   fused=True if self.device.type == "cuda" else None)
            phases[name] = Phase(name, list(owned[name]), opt, fns[name])
        return phases

    def _set_modes(self, owned: list[nn.Module]) -> None:
        """Owned modules train normally; borrowed ones keep their state (see module docstring)."""
        for name, net in self.nets.items():
            mine = any(net is o for o in owned)
            if self._modes.get(name) == mine:  # module.train() recursion is costly for small nets
                continue
            self._modes[name] = mine
            net.train(mine)
            net.requires_grad_(mine)
            for bn in self._bns[name]:
                # borrowed G still normalises with batch statistics (as in training), but leaves
                # running_mean/var and num_batches_tracked alone
                bn.train(True)
                bn.track_running_stats = mine

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _generate(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ze = E(z, c), x_hat = G(ze); counts generator forward passes."""
        self.g_forward_calls += 1
        ze = self.nets["E"](z, c)
        return ze, self.nets["G"](ze)

    def _fakes(self, b: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """One G forward (m samples, no grad) shared by the D1, D2 and Df steps of one k-step."""
        self._set_modes([])
        with torch.no_grad(), self._autocast():
            return self._generate(b.z[: self.m], b.c)

    def loss_d1(self, b: Batch, ze, xh):
        """Eq. 11 on D, D': hinge on x vs x_hat plus Cl on (xl, yl) through frozen F, Cx."""
        n = self.m
        D, Dp, F_, Cx = (self.nets[k] for k in ("D", "Dp", "F", "Cx"))
        # one trunk call for all three batches: D has no BatchNorm, so this equals three calls
        dx, dxh, dxl = D(torch.cat([b.x[:n], xh, b.xl])).split(n)
        real, fake = Dp(dx), Dp(dxh)
        cl_in = dxl if self.mcfg.cl_grad_through_f_cx else dxl.detach()
        cl = L.cl_loss(Cx(F_(cl_in)), b.yl)
        self._shared.update(dx=dx.detach(), dxh=dxh.detach())  # for df_fresh_features=False
        loss = L.d1_loss(real, fake, cl)
        return loss, {"d1": loss, "d1_cl": cl, "d1_real": real.float().mean(), "d1_fake": fake.float().mean()}

    def loss_d2(self, b: Batch, ze, xh):
        """Eq. 12 on D2."""
        n = self.m
        real, fake = self.nets["D2"](torch.cat([b.x[:n], xh])).split(n)
        loss = L.d2_loss(real, fake)
        return loss, {"d2": loss, "d2_real": real.float().mean(), "d2_fake": fake.float().mean()}

    def loss_df(self, b: Batch, ze, xh):
        """Eq. 13 on Df with detached features: (fx, dx) "fake", (ze, dx_hat) "real"."""
        n, x = self.m, b.x[: self.m]
        with torch.no_grad():  # Df owns none of D, F, E: their outputs are inputs here
            if self.cfg.df_fresh_features or "dx" not in self._shared:
                dx, dxh = self.nets["D"](torch.cat([x, xh])).split(n)
            else:
                dx, dxh = self._shared["dx"], self._shared["dxh"]
            fx = self.nets["F"](dx)
        xs = torch.cat([x, xh]) if self.mcfg.df_own_trunk else None  # images only for Df's own trunk
        s_fx, s_ze = self.nets["Df"](torch.cat([fx, ze]), torch.cat([dx, dxh]), xs).split(n)
        loss = L.df_loss(s_fx, s_ze)
        return loss, {"df": loss, "df_fx": s_fx.float().mean(), "df_ze": s_ze.float().mean()}

    def loss_ecg(self, b: Batch):
        """Eq. 6 on E, Ce, G: 2m fakes from z1, z2 sharing c, one G forward."""
        n = self.m
        D, Dp, D2, F_, Cx = (self.nets[k] for k in ("D", "Dp", "D2", "F", "Cx"))
        cc = torch.cat([b.c, b.c])
        ze, xh = self._generate(b.z, cc)
        dxh = D(xh)
        with torch.no_grad():
            dx = D(b.x)  # real features for eq. 5: no gradient by definition
        ec = L.ec_loss(self.nets["Ce"](ze), cc)
        g1, g2 = L.g1_loss(Dp(dxh)), L.g2_loss(D2(xh))
        gc = L.gc_loss(Cx(F_(dxh)), cc)
        mg = L.mg_loss(dx[:n], dx[n:], dxh[:n], dxh[n:], self.mcfg.mg_alpha, self.mcfg.mg_reduction)
        loss = L.ecg_loss(g1, g2, mg, ec, gc)
        if self.cfg.fc_reuse_fakes:
            self._shared["ecg_fakes"] = (xh[:n].detach(), b.c)
        return loss, {"ecg": loss, "ec": ec, "g1": g1, "g2": g2, "gc": gc, "mg": mg}

    def loss_fc(self, b: Batch):
        """Eq. 10 on F, Cx: Cl on labelled x, Cg on fresh fakes, FG through frozen Df."""
        n = self.m
        x = b.x[:n]
        with torch.no_grad():  # F, Cx own nothing upstream of D's features
            if self.cfg.fc_reuse_fakes and "ecg_fakes" in self._shared:
                # saves one G forward (~1/9 of G's work per iteration) but departs from Algorithm 1
                # step 10 (fresh sample) and uses the fakes of G before its last update
                xh, c = self._shared.pop("ecg_fakes")
            else:
                (_, xh), c = self._generate(b.z[:n], b.c), b.c
            dx, dxh, dxl = self.nets["D"](torch.cat([x, xh, b.xl])).split(n)
        fx, fxh, fxl = self.nets["F"](torch.cat([dx, dxh, dxl])).split(n)
        lg_h, lg_l = self.nets["Cx"](torch.cat([fxh, fxl])).split(n)
        cl, cg = L.cl_loss(lg_l, b.yl), L.cg_loss(lg_h, c)
        fg = L.fg_loss(self.nets["Df"](fx, dx, x))
        loss = L.fc_loss(cl, cg, fg)
        return loss, {"fc": loss, "cl": cl, "cg": cg, "fg": fg}

    # ---------------------------------------------------------------- the loop
    def _run(self, phase: Phase, *args) -> dict[str, float]:
        """zero_grad; owned modules on; loss; finite check; backward; all-reduce; step."""
        self._set_modes(phase.modules)
        phase.opt.zero_grad(set_to_none=True)
        with self._autocast():
            loss, logs = phase.loss(*args)
        vals = self._check_finite(phase.name, logs)
        loss.backward()
        if self.world > 1:
            self._allreduce([p.grad for p in phase.opt.param_groups[0]["params"] if p.grad is not None])
        phase.opt.step()
        if self.world > 1:
            self._allreduce([bf for mod in phase.modules for bf in mod.buffers() if bf.is_floating_point()])
        return vals

    def _check_finite(self, phase: str, logs: dict[str, torch.Tensor]) -> dict[str, float]:
        vals = torch.stack([v.detach().float() for v in logs.values()])
        if self.world > 1:  # every rank sees a NaN on any rank (no rank hangs in all_reduce), logs are global means
            dist.all_reduce(vals)
            vals /= self.world
        vals = vals.tolist()  # one host sync per phase
        for (name, _), v in zip(logs.items(), vals):
            if not math.isfinite(v):
                where = f" (last good checkpoint: {self.last_checkpoint})" if self.last_checkpoint else ""
                raise NonFiniteLossError(f"loss {name!r} is {v} at iteration {self.iteration} in phase "
                                         f"{phase}; no optimiser step was taken{where}")
        return dict(zip(logs, vals))

    def run_phase(self, name: str) -> dict[str, float]:
        """One step of a single phase on a fresh batch (D phases with their own fakes); for tests and teaching."""
        b = self.sample_batch()
        if name in ("D1", "D2", "Df"):
            return self._run(self.phases[name], b, *self._fakes(b))
        return self._run(self.phases[name], b)

    def step(self) -> dict[str, float]:
        """One Algorithm-1 iteration; returns the losses (D ones averaged over the k steps) as floats."""
        t0, calls0 = time.perf_counter(), self.g_forward_calls
        acc: dict[str, list[float]] = defaultdict(list)
        for _ in range(self.cfg.k_disc):
            b = self.sample_batch()
            ze, xh = self._fakes(b)
            for name in ("D1", "D2", "Df"):
                for k, v in self._run(self.phases[name], b, ze, xh).items():
                    acc[k].append(v)
        for name in ("ECG", "FC"):  # each on a fresh sample (Algorithm 1 steps 8 and 10)
            for k, v in self._run(self.phases[name], self.sample_batch()).items():
                acc[k].append(v)
        self._update_ema()
        self.iteration += 1
        out = {k: sum(v) / len(v) for k, v in acc.items()}
        out["g_forwards"] = float(self.g_forward_calls - calls0)
        out["sec"] = time.perf_counter() - t0
        if self.logger is not None and self.iteration % self.cfg.log_every == 0:
            self.logger.log(self.iteration, out)
        due = self.monitor is not None and self.monitor.due(self.iteration)
        if self.cfg.ckpt_every and self.iteration % self.cfg.ckpt_every == 0 and not (due and self.out_dir):
            self.save()  # (an evaluation saves the latest itself)
        if due:
            out.update(self.evaluate())
        return out

    def evaluate(self) -> dict[str, float]:
        """Run the monitor now: log its scalars and media, save checkpoint.pt and, on a new best, best.pt.

        Rank 0 evaluates; under torchrun the record is broadcast so every rank applies the same best
        and early-stopping rule and takes part in the (collective) saves.
        """
        if self.monitor is None:
            raise ValueError("evaluate() needs a Trainer built with monitor=Monitor(...)")
        rec = self.monitor.evaluate(self) if self.rank == 0 else None
        if self.world > 1:
            box = [rec]
            dist.broadcast_object_list(box, src=0)
            rec = box[0]
        improved = self.monitor.update(self.iteration, rec)
        self.last_eval = rec
        if self.logger is not None:
            self.logger.log(self.iteration, rec)
            self.logger.log_media(self.iteration, *self.monitor.snapshot_media(self.iteration))
        if self.out_dir is not None:
            self.save()  # the latest is never older than best.pt, so a resume cannot lose a better best
            if improved:
                self.save_best(rec)
        return rec

    def save_best(self, rec: dict[str, float]) -> Path | None:
        """Atomically write out_dir/best.pt (a full, resumable checkpoint plus the evaluation) and best.json."""
        state = self.state_dict()
        if self.rank != 0:
            return None
        path = ckpt.save_checkpoint(self.out_dir / "best.pt", {**state, "eval": rec})
        self.monitor.write_best_record(self.iteration, rec, path)
        return path

    def train(self, n_iters: int) -> dict[str, float]:
        """Run n_iters iterations with a tqdm bar (losses and the latest IS / FID / accuracy in the postfix);
        stops early when the monitor's --stop-after-no-improvement patience runs out; returns the last step's dict."""
        from tqdm.auto import tqdm  # notebook widget in Jupyter, text bar elsewhere
        out: dict[str, float] = {}
        bar = tqdm(range(n_iters), desc="GGAN", disable=not self.cfg.progress or self.rank != 0)
        for _ in bar:
            out = self.step()
            post = {k: f"{out[k]:.3f}" for k in ("d1", "d2", "df", "ecg", "fc", "mg")}
            if self.last_eval:
                from ggan_lib.metrics.monitor import postfix
                post.update(postfix(self.last_eval))
            bar.set_postfix(post, refresh=False)
            if self.monitor is not None and self.monitor.should_stop:
                if self.rank == 0:
                    print(f"[train] early stop at iteration {self.iteration}: {self.monitor.bad_evals} evaluations "
                          f"without a better eval/{self.monitor.cfg.best_by} than {self.monitor.best} "
                          f"(iteration {self.monitor.best_iter})")
                break
        return out

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema_G is None:
            return
        decay = self.cfg.ema_decay if self.iteration >= self.cfg.ema_start else 0.0
        for pe, p in zip(self.ema_G.parameters(), self.nets["G"].parameters()):
            pe.lerp_(p, 1 - decay)
        for be, bf in zip(self.ema_G.buffers(), self.nets["G"].buffers()):
            be.copy_(bf)  # BN running stats and SN vectors follow G

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, use_ema: bool = True, seed: int = 0,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """n spectrograms x_hat = G(E(z, c)) (EMA G by default, eval mode) for classes c (default 0..n-1 mod n_classes);
        z (n, z_dim) given, or drawn from N(0, I) with its own generator seeded ``seed``."""
        if z is None:
            g = torch.Generator(device=self.device).manual_seed(seed)
            z = torch.randn(n, self.mcfg.z_dim, generator=g, device=self.device)
        z = z.to(self.device, torch.float32)
        c = torch.arange(n, device=self.device) % self.mcfg.n_classes if c is None else c.to(self.device)
        G = self.ema_G if (use_ema and self.ema_G is not None) else self.nets["G"]
        self._modes.clear()  # modes are set again by the next phase
        E = self.nets["E"]
        E.eval(), G.eval()
        for bn in self._bns["G"]:
            bn.track_running_stats = True
        return G(E(z, c)).float()

    # ---------------------------------------------------------------- distributed
    def _allreduce(self, tensors: list[torch.Tensor]) -> None:
        """Average tensors over ranks in one coalesced all_reduce (grads after backward, buffers after a step)."""
        if not tensors:
            return
        flat = torch._utils._flatten_dense_tensors(tensors)
        dist.all_reduce(flat)
        flat /= self.world
        for t, s in zip(tensors, torch._utils._unflatten_dense_tensors(flat, tensors)):
            t.copy_(s)

    def _broadcast_state(self) -> None:
        if self.world == 1:
            return
        with torch.no_grad():
            for t in list(self.model.parameters()) + list(self.model.buffers()):
                dist.broadcast(t.data, src=0)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: networks, optimisers, EMA, RNGs, iteration, configs."""
        gens = [self.gen.get_state()]
        if self.world > 1:
            gens = [None] * self.world
            dist.all_gather_object(gens, self.gen.get_state().cpu())
        return {
            "iteration": self.iteration,
            "g_forward_calls": self.g_forward_calls,
            "model_cfg": self.mcfg.to_json(),
            "train_cfg": json.dumps(self.cfg.to_dict()),
            "nets": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "ema_G": self.ema_G.state_dict() if self.ema_G is not None else {},
            "opts": {n: p.opt.state_dict() for n, p in self.phases.items()},
            "rng": ckpt.rng_state(),
            "data_rng": gens,
            **({"monitor": self.monitor.state_dict()} if self.monitor is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any], path: Any = "<state>") -> None:
        """Restore a state_dict(); configs and tensor shapes must match (clear error naming both otherwise)."""
        ckpt.check_config("ModelConfig", json.loads(state["model_cfg"]), json.loads(self.mcfg.to_json()), path)
        ckpt.check_config("TrainConfig", json.loads(state["train_cfg"]), self.cfg.to_dict(), path, RUNTIME_FIELDS)
        ckpt.check_shapes(state["nets"], self.model.state_dict(), path)
        self.model.load_state_dict(state["nets"])
        if self.ema_G is not None:
            self.ema_G.load_state_dict(state["ema_G"])
        for n, p in self.phases.items():
            p.opt.load_state_dict(state["opts"][n])
        ckpt.set_rng_state(state["rng"])
        gens = state["data_rng"]
        if len(gens) == self.world:
            self.gen.set_state(gens[self.rank])
        else:  # another world size: ranks keep distinct streams (seed, rank); the run is no longer exact
            warnings.warn(f"{path}: saved with {len(gens)} rank(s), resumed with {self.world}: "
                          "the data/noise streams restart from the seed")
        self.iteration = int(state["iteration"])
        self.g_forward_calls = int(state["g_forward_calls"])
        if self.monitor is not None and "monitor" in state:
            self.monitor.load_state_dict(state["monitor"])
        if self.logger is not None:
            self.logger.truncate_after(self.iteration)

    def save(self, path: str | os.PathLike | None = None) -> Path | None:
        """Atomic checkpoint (default out_dir/checkpoint.pt); only rank 0 writes."""
        state = self.state_dict()  # collective under DDP: every rank takes part
        if self.rank != 0:
            return None
        if path is None:
            if self.out_dir is None:
                raise ValueError("save() needs a path when the Trainer has no out_dir")
            path = self.out_dir / "checkpoint.pt"
        self.last_checkpoint = ckpt.save_checkpoint(path, state)
        return self.last_checkpoint

    def load(self, path: str | os.PathLike) -> None:
        """Load a checkpoint written by save() into this trainer (same configs)."""
        self.load_state_dict(ckpt.load_checkpoint(path), path)  # CPU: RNG states must stay there
        self.last_checkpoint = Path(path)

    @classmethod
    def resume(cls, path: str | os.PathLike, X, Xl, yl, *, train_overrides: dict[str, Any] | None = None,
               out_dir: str | os.PathLike | None = None, monitor: "Monitor | None" = None) -> "Trainer":
        """A Trainer rebuilt from a checkpoint's own configs (runtime fields overridable) and its state."""
        from ggan_lib.config import ModelConfig
        state = ckpt.load_checkpoint(path)
        mcfg = ModelConfig.from_json(state["model_cfg"])
        tcfg = TrainConfig.from_dict(json.loads(state["train_cfg"])).replace(**(train_overrides or {}))
        tr = cls(mcfg, tcfg, X, Xl, yl, out_dir=out_dir, monitor=monitor)
        tr.load(path)
        return tr

    def close(self) -> None:
        """Close the metric logger."""
        if self.logger is not None:
            self.logger.close()
