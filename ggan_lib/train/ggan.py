"""Algorithm 1 of the paper: k discriminator steps (D1, D2, Df), then ECG, then FC, per iteration.

The loop only knows phases ``(name, modules, optimiser, loss)`` (ggan_lib.train.engine); each phase's
loss function holds its forward wiring (ggan_lib.train.ggan_phases). During a phase only the modules
it owns build gradients and change state: the networks it borrows run with ``requires_grad`` off,
spectral-norm power iteration off (eval) and BatchNorm on batch statistics without updating running
statistics. So one phase step changes exactly the parameters and buffers of the networks it owns.

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

Watching a run: ``Trainer(..., monitor=Monitor(...))`` (ggan_lib.metrics.monitor, or any object of the
protocol ggan_lib.train.hooks.EvalHook) evaluates every N iterations (IS / FID through PGHI audio,
held-out accuracy, snapshots) and keeps ``best.pt`` beside ``checkpoint.pt``.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ggan_lib.config import RUNTIME_FIELDS, TRAIN_PRESETS, ModelConfig, TrainConfig  # noqa: F401  (re-exported)
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.io.logs import read_log  # noqa: F401  (re-exported for notebooks)
from ggan_lib.model.latent import sampling_codes
from ggan_lib.model.networks import GGAN, GGANClassifier
from ggan_lib.train import hooks
from ggan_lib.train.ema import GeneratorEMA, path_ema
from ggan_lib.train.engine import NonFiniteLossError, Phase, configure_cuda_backends, resolve_device  # noqa: F401
from ggan_lib.train.ggan_phases import PHASES, Algorithm1Phases, Batch  # noqa: F401  (re-exported)

NETS = ("E", "Ce", "G", "D", "Dp", "D2", "F", "Cx", "Df")
CLASSIFIER_PATH = ("D", "F", "Cx")  # x -> Cx(F(D(x))), what Table II scores


class Trainer(GeneratorEMA, Algorithm1Phases):
    """Trains a GGAN with Algorithm 1 on in-memory tensors; ``.step()`` runs one iteration."""

    kind = "ggan"

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, X: torch.Tensor, Xl: torch.Tensor,
                 yl: torch.Tensor, *, model: nn.Module | None = None, out_dir: str | os.PathLike | None = None,
                 monitor: hooks.EvalHook | None = None, data_cfg: dict[str, Any] | None = None):
        """model_cfg: ModelConfig; X (N, 1, H, W) unlabelled in [-1, 1]; Xl (Nl, 1, H, W), yl (Nl,) labelled;
        monitor: periodic evaluation, snapshots and best.pt (ggan_lib.metrics.monitor.Monitor);
        data_cfg: where X / Xl / yl came from (data set, folder, label fraction and seed; JSON-able), kept in
        checkpoints and compared on resume (None: not recorded, not compared)."""
        self.mcfg, self.cfg = model_cfg, train_cfg
        self.data_cfg = dict(data_cfg) if data_cfg is not None else None
        device = resolve_device(train_cfg.device)
        self.init_engine(device, distributed=True,
                         amp=train_cfg.amp == "bf16" or (train_cfg.amp == "auto" and device.type == "cuda"))
        if train_cfg.batch_size % self.world:
            raise ValueError(f"batch_size {train_cfg.batch_size} is not divisible by world size {self.world}")
        self.m = train_cfg.batch_size // self.world
        self.mem_format = torch.channels_last if train_cfg.channels_last else torch.contiguous_format
        configure_cuda_backends(train_cfg, self.device)
        torch.manual_seed(train_cfg.seed)  # same init on every rank; broadcast below makes sure
        self._set_model(GGAN(model_cfg) if model is None else model)
        self._set_data(X, Xl, yl)
        self.gen = torch.Generator(device=self.device).manual_seed(train_cfg.seed * 1000 + self.rank)
        self.build_phases(self.model.phase_modules())
        self.g_forward_calls = 0
        self._shared: dict[str, torch.Tensor] = {}
        self.open_log(out_dir, train_cfg.tensorboard)
        self.freeze_all()
        self.monitor = monitor
        self.last_eval: dict[str, float] = {}  # the latest evaluation's scalars (progress bar, notebooks)

    # ---------------------------------------------------------------- model and data
    def _set_model(self, model: nn.Module) -> None:
        """SyncBatchNorm if asked, device and memory format, rank 0's initial state, the EMA copy of G, compile."""
        cfg = self.cfg
        if cfg.sync_bn and self.device.type != "cuda":
            raise ValueError("sync_bn needs CUDA devices (torch's SyncBatchNorm has no CPU kernel)")
        if cfg.sync_bn and self.world > 1:
            model.G = nn.SyncBatchNorm.convert_sync_batchnorm(model.G)
        self.model = model.to(self.device, memory_format=self.mem_format)
        self.set_networks({n: getattr(model, n) for n in NETS})
        self.broadcast(list(self.model.parameters()) + list(self.model.buffers()))
        self.init_ema()  # the EMA copy of G (ggan_lib.train.ema.GeneratorEMA)
        # the scored classifier path's average (None: the last iterate is scored)
        self.clf_ema = path_ema({n: getattr(model, n) for n in CLASSIFIER_PATH}, cfg.clf_ema_decay, cfg.ema_warmup)
        if cfg.compile:  # in place: state_dict keys stay those of the plain modules
            for net in self.nets.values():
                net.compile()

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

    # ---------------------------------------------------------------- the loop
    def run_phase(self, name: str) -> dict[str, float]:
        """One step of a single phase on a fresh batch (D phases with their own fakes); for tests and teaching."""
        b = self.sample_batch()
        if name in ("D1", "D2", "Df"):
            return self.run_step(self.phases[name], b, *self._fakes(b))
        return self.run_step(self.phases[name], b)

    def step(self) -> dict[str, float]:
        """One Algorithm-1 iteration; returns the losses (D ones averaged over the k steps) as floats."""
        t0, calls0 = time.perf_counter(), self.g_forward_calls
        acc: dict[str, list[float]] = defaultdict(list)
        for _ in range(self.cfg.k_disc):
            b = self.sample_batch()
            ze, xh = self._fakes(b)
            for name in ("D1", "D2", "Df"):
                for k, v in self.run_step(self.phases[name], b, ze, xh).items():
                    acc[k].append(v)
        for name in ("ECG", "FC"):  # each on a fresh sample (Algorithm 1 steps 8 and 10)
            for k, v in self.run_step(self.phases[name], self.sample_batch()).items():
                acc[k].append(v)
        self._update_ema()
        if self.clf_ema is not None:
            self.clf_ema.update(self.nets, self.iteration)
        self.iteration += 1
        out = {k: sum(v) / len(v) for k, v in acc.items()}
        out["g_forwards"] = float(self.g_forward_calls - calls0)
        out["sec"] = time.perf_counter() - t0
        self.log_step(out)
        due = self.monitor is not None and self.monitor.due(self.iteration)
        if self.checkpoint_due() and not (due and self.out_dir):
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
        out: dict[str, float] = {}
        bar = self.progress(n_iters, "GGAN")
        for _ in bar:
            out = self.step()
            post = {k: f"{out[k]:.3f}" for k in ("d1", "d2", "df", "ecg", "fc", "mg")}
            if self.last_eval:
                post.update(hooks.postfix(self.monitor, self.last_eval))
            bar.set_postfix(post, refresh=False)
            if self.monitor is not None and self.monitor.should_stop:
                if self.rank == 0:
                    print(hooks.stop_message(self.monitor, self.iteration))
                break
        return out

    def forward_g(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """G(E(z, c)) (E as the caller left it: eval mode when sampling)."""
        return G(self.nets["E"](z, c))

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, use_ema: bool = True, seed: int = 0,
               z: torch.Tensor | None = None) -> torch.Tensor:
        """n spectrograms x_hat = G(E(z, c)) in eval mode for classes c (default 0..n-1 mod n_classes); z (n, z_dim)
        given, or the fixed codes of ``seed`` (ggan_lib.model.latent.fixed_codes: the prior, on the CPU).

        use_ema: the EMA G with standing BN statistics (``ema_standing_batches``), as every model is sampled
        (ggan_lib.train.ema); False: the raw G with its running statistics."""
        z, c = sampling_codes(self.mcfg, n, seed, z, c, device=self.device)
        self.forget_modes()  # modes are set again by the next phase
        self.nets["E"].eval(), self.nets["G"].eval()
        for bn in self._bns["G"]:
            bn.track_running_stats = True
        return self.forward_g(self.sampling_g(use_ema), z, c).float()

    def classifier(self, use_ema: bool = True) -> GGANClassifier:
        """The classification path x -> Cx(F(D(x))) that Table II scores: the average of D, F and Cx
        (``clf_ema_decay``, ggan_lib.train.ema.PathEMA) when there is one and ``use_ema``, else the live
        networks. Its modules are the trainer's own (not copies): score it, do not train it."""
        nets = self.clf_ema.nets if use_ema and self.clf_ema is not None else self.nets
        return GGANClassifier(SimpleNamespace(**{n: nets[n] for n in CLASSIFIER_PATH}))

    # ---------------------------------------------------------------- checkpoints
    def _data_rng_states(self) -> list[torch.Tensor]:
        """Every rank's data/noise generator state (gathered under torchrun: a collective)."""
        if self.world == 1:
            return [self.gen.get_state()]
        gens = [None] * self.world
        dist.all_gather_object(gens, self.gen.get_state().cpu())
        return gens

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: networks, optimisers, EMA, RNGs, iteration, configs."""
        gens = self._data_rng_states()
        return {
            "iteration": self.iteration,
            "g_forward_calls": self.g_forward_calls,
            "model_cfg": self.mcfg.to_json(),
            "train_cfg": json.dumps(self.cfg.to_dict()),
            "nets": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "ema_G": self.ema_state(),
            "ema_clf": self.clf_ema.state_dict() if self.clf_ema is not None else {},
            "opts": self.opt_states(),
            "rng": ckpt.rng_state(),
            "data_rng": gens,
            **({"data_cfg": json.dumps(self.data_cfg, sort_keys=True)} if self.data_cfg is not None else {}),
            **({"monitor": self.monitor.state_dict()} if self.monitor is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any], path: Any = "<state>") -> None:
        """Restore a state_dict(); configs and tensor shapes must match (clear error naming both otherwise)."""
        ckpt.check_config("ModelConfig", json.loads(state["model_cfg"]), json.loads(self.mcfg.to_json()), path)
        saved = TrainConfig.from_dict(json.loads(state["train_cfg"])).to_dict()  # older files: LEGACY_FIELDS
        ckpt.check_config("TrainConfig", saved, self.cfg.to_dict(), path, RUNTIME_FIELDS)
        if self.data_cfg is not None and "data_cfg" in state:  # the data and labels this run was trained on
            ckpt.check_config("data / label settings", json.loads(state["data_cfg"]), self.data_cfg, path)
        ckpt.check_shapes(state["nets"], self.model.state_dict(), path)
        self.model.load_state_dict(state["nets"])
        self.load_ema(state)
        if self.clf_ema is not None:
            self.clf_ema.load_state_dict(state["ema_clf"])
        gens = state["data_rng"]
        if len(gens) == self.world:
            self.gen.set_state(gens[self.rank])
        else:  # another world size: ranks keep distinct streams (seed, rank); the run is no longer exact
            warnings.warn(f"{path}: saved with {len(gens)} rank(s), resumed with {self.world}: "
                          "the data/noise streams restart from the seed")
        self.g_forward_calls = int(state["g_forward_calls"])
        if self.monitor is not None and "monitor" in state:
            self.monitor.load_state_dict(state["monitor"])
        self.load_common(state)  # optimisers, RNGs, iteration; the log cut back to it

    @classmethod
    def resume(cls, path: str | os.PathLike, X, Xl, yl, *, train_overrides: dict[str, Any] | None = None,
               out_dir: str | os.PathLike | None = None, monitor: hooks.EvalHook | None = None,
               data_cfg: dict[str, Any] | None = None, state: dict[str, Any] | None = None) -> "Trainer":
        """A Trainer rebuilt from a checkpoint's own configs (runtime fields overridable) and its state;
        ``data_cfg`` must equal the checkpoint's when both are known (CheckpointMismatchError otherwise).
        ``state``: the checkpoint's contents when the caller has read them already (the file is read once)."""
        state = ckpt.load_checkpoint(path) if state is None else state
        mcfg = ModelConfig.from_json(state["model_cfg"])
        tcfg = TrainConfig.from_dict(json.loads(state["train_cfg"])).replace(**(train_overrides or {}))
        tr = cls(mcfg, tcfg, X, Xl, yl, out_dir=out_dir, monitor=monitor, data_cfg=data_cfg)
        tr.load(path, state)
        return tr
