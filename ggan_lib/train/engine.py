"""The phase engine every trainer runs on: phases that own networks, one optimiser step at a time.

A *phase* is ``(name, modules, optimiser, loss)``: the networks it owns and steps, and a loss function
that holds its forward wiring. :class:`PhaseEngine` runs one phase step (:meth:`PhaseEngine.run_step`):

1. modes: the owned networks train normally; every other network is *borrowed*: ``requires_grad``
   off (no gradient is built for it), eval mode (spectral-norm power iteration off), and its
   BatchNorm layers normalise with batch statistics without updating their running statistics;
2. zero the owned gradients, compute the loss (under bf16 autocast when ``amp``);
3. check every logged value is finite (:class:`NonFiniteLossError` before any optimiser step);
4. backward; average the owned gradients over ranks; optimiser step; average the owned floating
   buffers (BN running statistics, SN vectors) over ranks.

So one phase step changes exactly the parameters and buffers of the networks it owns. The engine
also keeps the checkpoint pieces all trainers share (optimiser states, RNG states, atomic save /
load), the metric log and the progress bar; ggan_lib.train.ggan (Algorithm 1) and the baselines'
trainers (ggan_lib.train.gan, .ali, .classifiers) only add their phases, data and step().

Data parallel (torchrun): an engine built with ``distributed=True`` reads its rank and world size
from torch.distributed and averages gradients and buffers in one coalesced all_reduce each. This
is what DistributedDataParallel does, written out: DDP's reducer expects one fixed set of trainable
parameters per forward, but here every phase backpropagates through networks it does not own.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm  # notebook widget in Jupyter, text bar elsewhere

from ggan_lib.io import checkpoint as ckpt
from ggan_lib.io.logs import MetricLogger

DIVERGED_ABS = 1e10  # a weight above this (or not finite) after a non-finite loss: the run had diverged already
LossFn = Callable[..., tuple[torch.Tensor, dict[str, torch.Tensor]]]


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; training stopped before any optimiser step used it."""


@dataclass
class Phase:
    """What the loop knows about a phase: its name, the modules it owns and steps, and its loss."""

    name: str
    modules: list[nn.Module]
    opt: torch.optim.Optimizer
    loss: LossFn


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


def rank_world() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed process group, (0, 1) without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _batchnorms(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class PhaseEngine:
    """Networks, phases and one phase step (see the module docstring); trainers subclass it.

    A subclass calls :meth:`init_engine` first, then :meth:`set_networks` and :meth:`add_phase`, and
    writes its own ``step()``, ``state_dict()`` / ``load_state_dict()`` (the checkpoint layout is the
    trainer's) from the pieces here.
    """

    kind = "engine"  # names the trainer in error messages (and, for the baselines, in checkpoints)
    ckpt_name = "checkpoint.pt"  # save()'s default file in out_dir

    def init_engine(self, device: torch.device, *, distributed: bool = False, amp: bool = False) -> None:
        """Device, rank / world (from torch.distributed when ``distributed``), bf16 autocast flag, counters."""
        self.device, self.amp = device, amp
        self.rank, self.world = rank_world() if distributed else (0, 1)
        self.nets: dict[str, nn.Module] = {}
        self.phases: dict[str, Phase] = {}
        self.iteration = 0
        self.last_checkpoint: Path | None = None
        self.last_checkpoint_iter: int | None = None  # the iteration save() last wrote (None: not this session)
        self.out_dir: Path | None = None
        self.logger: MetricLogger | None = None
        self._modes: dict[str, bool] = {}  # cache of set_modes: net name -> owned

    def set_networks(self, nets: dict[str, nn.Module]) -> None:
        """The named networks the phases own or borrow (each one once)."""
        self.nets = dict(nets)
        self._bns = {n: _batchnorms(net) for n, net in self.nets.items()}
        self._modes.clear()

    def add_phase(self, name: str, owned: list[str] | list[nn.Module], loss: LossFn, **adam: Any) -> Phase:
        """Register a phase: the networks it owns (names or modules), their Adam optimiser (keywords ``adam``)
        and its loss."""
        mods = [self.nets[n] if isinstance(n, str) else n for n in owned]
        opt = torch.optim.Adam([p for m in mods for p in m.parameters()], **adam)
        self.phases[name] = Phase(name, mods, opt, loss)
        return self.phases[name]

    def open_log(self, out_dir: str | os.PathLike | None, tensorboard: bool) -> None:
        """out_dir (None: no files) and, on rank 0 with an out_dir, the JSONL (+ TensorBoard) metric log."""
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.logger = (MetricLogger(self.out_dir / "log.jsonl", tensorboard)
                       if self.out_dir is not None and self.rank == 0 else None)

    # ---------------------------------------------------------------- modes
    def freeze_all(self) -> None:
        """No network builds gradients until a phase owns it."""
        for net in self.nets.values():
            net.requires_grad_(False)

    def set_modes(self, owned: list[nn.Module]) -> None:
        """Owned modules train normally; borrowed ones keep their state (see the module docstring)."""
        for name, net in self.nets.items():
            mine = any(net is o for o in owned)
            if self._modes.get(name) == mine:  # module.train() recursion is costly for small nets
                continue
            self._modes[name] = mine
            net.train(mine)
            net.requires_grad_(mine)
            for bn in self._bns[name]:
                # a borrowed G still normalises with batch statistics (as in training), but leaves
                # running_mean/var and num_batches_tracked alone
                bn.train(True)
                bn.track_running_stats = mine

    def forget_modes(self) -> None:
        """Someone else set the networks' modes (sampling, inference): the next phase sets them all again."""
        self._modes.clear()

    def eval_mode(self) -> None:
        """All networks in eval mode with BN running statistics (sampling / inference)."""
        self.forget_modes()
        for name, net in self.nets.items():
            net.eval()
            for bn in self._bns[name]:
                bn.track_running_stats = True

    def autocast(self):
        """bf16 autocast on the engine's device when amp is on (a no-op context otherwise)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    # ---------------------------------------------------------------- one phase step
    def run_step(self, phase: Phase, *args) -> dict[str, float]:
        """zero_grad; owned modules on; loss; finite check; backward; all-reduce; step. Returns the logs as floats."""
        self.set_modes(phase.modules)
        phase.opt.zero_grad(set_to_none=True)
        with self.autocast():
            loss, logs = phase.loss(*args)
        vals = self.check_finite(phase.name, logs)
        loss.backward()
        if self.world > 1:
            self.allreduce([p.grad for p in phase.opt.param_groups[0]["params"] if p.grad is not None])
        phase.opt.step()
        if self.world > 1:
            self.allreduce([bf for mod in phase.modules for bf in mod.buffers() if bf.is_floating_point()])
        return vals


    def check_finite(self, phase: str, logs: dict[str, torch.Tensor]) -> dict[str, float]:
        """Logged values as floats (means over ranks); NonFiniteLossError (before any step) if one is NaN / inf."""
        vals = torch.stack([v.detach().float() for v in logs.values()])
        if self.world > 1:  # every rank sees a NaN on any rank (no rank hangs in all_reduce)
            dist.all_reduce(vals)
            vals /= self.world
        vals = vals.tolist()  # one host sync per phase
        for name, v in zip(logs, vals):
            if not math.isfinite(v):
                where = self._set_aside_diverged()
                raise NonFiniteLossError(f"{self.kind}: loss {name!r} is {v} at iteration {self.iteration} in "
                                         f"phase {phase}; no optimiser step was taken{where}")
        return dict(zip(logs, vals))

    def _max_abs_weight(self) -> float:
        """The largest |parameter| of every network (inf / nan when one is not finite)."""
        with torch.no_grad():
            vals = [p.detach().abs().max() for net in self.nets.values() for p in net.parameters() if p.numel()]
            return float(torch.stack(vals).max()) if vals else 0.0

    def _set_aside_diverged(self) -> str:
        """The error message's note on checkpoints after a non-finite loss (rank 0 may also move files).

        The last checkpoint is kept and named. One that save() wrote at this very iteration holds the state
        whose next step failed: when its weights have already diverged (not finite, or above DIVERGED_ABS:
        the step before sent them to ~1e30) it is set aside as ``<stem>.diverged.pt`` and the one before it
        (``<stem>.prev.pt``) put back in its place, so checkpoint.pt stays the last good one.
        """
        path = self.last_checkpoint
        if path is None:
            return ""
        if self.last_checkpoint_iter != self.iteration:
            return f" (last good checkpoint: {path})"
        big, prev = self._max_abs_weight(), ckpt.previous_path(path)
        if math.isfinite(big) and big <= DIVERGED_ABS:
            before = f"; the one before it: {prev}" if prev.is_file() else ""
            return f" (last checkpoint: {path}, written at iteration {self.iteration}, max |w| {big:.3g}{before})"
        aside = path.with_name(f"{path.stem}.diverged{path.suffix}")
        if self.rank == 0:
            os.replace(path, aside)
            if prev.is_file():
                os.replace(prev, path)
        self.last_checkpoint_iter = None
        if not path.is_file():
            self.last_checkpoint = None
            return (f" (no good checkpoint: the one written at iteration {self.iteration} holds diverged "
                    f"weights, max |w| {big:.3g}, and is kept as {aside})")
        return (f" (last good checkpoint: {path}, the one before iteration {self.iteration}; the one written at "
                f"iteration {self.iteration} holds diverged weights, max |w| {big:.3g}, and is kept as {aside})")

    # ---------------------------------------------------------------- distributed
    def allreduce(self, tensors: list[torch.Tensor]) -> None:
        """Average tensors over ranks in one coalesced all_reduce (grads after backward, buffers after a step)."""
        if not tensors:
            return
        flat = torch._utils._flatten_dense_tensors(tensors)
        dist.all_reduce(flat)
        flat /= self.world
        for t, s in zip(tensors, torch._utils._unflatten_dense_tensors(flat, tensors)):
            t.copy_(s)

    def broadcast(self, tensors: list[torch.Tensor]) -> None:
        """Rank 0's values into every rank's tensors (identical initial state)."""
        if self.world == 1:
            return
        with torch.no_grad():
            for t in tensors:
                dist.broadcast(t.data, src=0)

    # ---------------------------------------------------------------- loop pieces
    def log_step(self, out: dict[str, float]) -> None:
        """Append an iteration's values to the metric log every cfg.log_every iterations."""
        if self.logger is not None and self.iteration % self.cfg.log_every == 0:
            self.logger.log(self.iteration, out)

    def checkpoint_due(self) -> bool:
        """True every cfg.ckpt_every iterations (0: never)."""
        return bool(self.cfg.ckpt_every) and self.iteration % self.cfg.ckpt_every == 0

    def progress(self, n_iters: int, desc: str):
        """range(n_iters) with a tqdm bar (off without cfg.progress and on ranks other than 0)."""
        return tqdm(range(n_iters), desc=desc, disable=not self.cfg.progress or self.rank != 0)

    # ---------------------------------------------------------------- checkpoints
    def opt_states(self) -> dict[str, dict]:
        """Every phase's optimiser state, by phase name."""
        return {n: p.opt.state_dict() for n, p in self.phases.items()}

    def load_opt_states(self, states: dict[str, dict]) -> None:
        """Inverse of opt_states()."""
        for n, p in self.phases.items():
            p.opt.load_state_dict(states[n])

    def load_common(self, state: dict[str, Any]) -> None:
        """Optimisers, global RNGs and the iteration of a checkpoint; the log is cut back to that iteration."""
        self.load_opt_states(state["opts"])
        ckpt.set_rng_state(state["rng"])
        self.iteration = int(state["iteration"])
        if self.logger is not None:
            self.logger.truncate_after(self.iteration)

    def save(self, path: str | os.PathLike | None = None) -> Path | None:
        """Atomic checkpoint of state_dict() (default out_dir/ckpt_name, the one it replaces kept as
        <stem>.prev.pt); only rank 0 writes (None elsewhere)."""
        state = self.state_dict()  # collective under torchrun: every rank takes part
        default = path is None
        if default:
            if self.out_dir is None:
                raise ValueError("save() needs a path when the trainer has no out_dir")
            path = self.out_dir / self.ckpt_name
        self.last_checkpoint, self.last_checkpoint_iter = Path(path), self.iteration
        if self.rank != 0:
            return None
        return ckpt.save_checkpoint(path, state, keep_previous=default)

    def load(self, path: str | os.PathLike, state: dict[str, Any] | None = None) -> None:
        """Load a checkpoint written by save() into this trainer (same configs); ``state``: the file's
        contents when the caller has already read it (ckpt.load_checkpoint(path)), so it is read once."""
        self.load_state_dict(ckpt.load_checkpoint(path) if state is None else state, path)  # CPU: RNG states
        self.last_checkpoint = Path(path)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (the trainer's layout)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any], path: Any = "<state>") -> None:
        """Restore a state_dict() (the trainer's layout)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the metric logger."""
        if self.logger is not None:
            self.logger.close()
