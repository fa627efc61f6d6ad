"""One loader for every trained generator of the project: :func:`load_model`.

It takes a loaded model (returned as is), a GGAN module, a baseline generator module, a Trainer, a shipped
registry name ('ggan-fsdd-small'), an exported ``.pt`` (``models/*.pt``, loaded with
``torch.load(weights_only=True)``, its card beside it) or a training checkpoint (a GGAN's ``checkpoint.pt``
or a baseline's ``gan/*_biggan.pt``), and returns a :class:`Pretrained`: the network in eval mode, its
configs, its card, and ``kind`` ('ggan', 'supervised_biggan' or 'unsupervised_biggan').
:meth:`Pretrained.sample` draws its latent codes through ggan_lib.model.latent (the prior of
``ModelConfig.z_dist``; c = 0..n_classes-1 cyclic) and samples as every model of the project is sampled
(ggan_lib.train.ema): the file's EMA G when it holds one, its BatchNorm statistics re-estimated once on
``standing_batches`` batches of fresh codes (BigGAN's standing statistics) before the first generation.

``load_pretrained`` (exports only) and ``load_generator`` (a checkpoint of a given preset and kind, as
Table I evaluates) are names for two uses of it.

    pm = load_model("ggan-fsdd-small")                 # or a path, a Trainer, a GGAN
    x = pm.sample(10)                                  # (10, 1, 64, 32) spectrograms, one per digit
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ggan_lib.config import PRESETS, BaselineConfig, ModelConfig, TrainConfig
from ggan_lib.config.training import STANDING_BATCH_SIZE, STANDING_BATCHES
from ggan_lib.io import atomic, paths
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.io.checkpoint import CheckpointMismatchError
from ggan_lib.model.baselines import ConditionalGenerator, UnconditionalGenerator
from ggan_lib.model.latent import sampling_codes
from ggan_lib.model.networks import GGAN
from ggan_lib.train.ema import standing_bn_stats

FORMAT = "ggan_lib.pretrained/1"  # the exports' format id: the files in models/ carry it, so it never changes
MODELS_DIR = paths.MODELS_DIR
REGISTRY = {"ggan-fsdd-small": "ggan_fsdd_small.pt"}  # name -> file in models/
GENERATOR_KINDS = ("ggan", "supervised_biggan", "unsupervised_biggan")
_BASELINE_NETS = {"supervised_biggan": ConditionalGenerator, "unsupervised_biggan": UnconditionalGenerator}


@dataclass
class Pretrained:
    """A loaded generator: the network (eval mode), its configs, the card's recorded metrics and the whole card.

    kind 'ggan': ``model`` is a GGAN with E, Ce, G, D, Dp, D2, F, Cx, Df (G holds the EMA weights, D, F, Cx the
    scored average, when a file held them); 'supervised_biggan' / 'unsupervised_biggan': the baseline's generator.
    standing_batches: batches of standing BN statistics :meth:`standing_stats` re-estimates G's with before the
    first generation (STANDING_BATCHES; load_model gives 0 to in-memory models, whose buffers stay as they are).
    """

    model: nn.Module
    model_cfg: Any                       # ggan_lib.config.ModelConfig
    train_cfg: Any = None                # the TrainConfig (BaselineConfig for a baseline) it was trained with
    metrics: dict[str, Any] = field(default_factory=dict)  # the card's measured figures (accuracy, IS, FID, ...)
    card: dict[str, Any] = field(default_factory=dict)     # the full model card
    path: Path | None = None             # the file it was loaded from
    kind: str = "ggan"                   # one of GENERATOR_KINDS
    g_is_ema: bool = False               # G holds the EMA weights (False: a file without them, or live networks)
    standing_batches: int = STANDING_BATCHES  # standing BN statistics before the first generation (0: none)
    _standing_done: bool = field(default=False, init=False, repr=False, compare=False)

    @property
    def device(self) -> torch.device:
        """Device of the networks."""
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> "Pretrained":
        """Move the networks to ``device``; returns self."""
        self.model.to(device)
        return self

    @property
    def generator(self) -> nn.Module:
        """The generator network: the GGAN's G, or the baseline's generator itself."""
        return self.model.G if self.kind == "ggan" else self.model

    @property
    def sampling(self) -> dict[str, Any]:
        """How sample() draws (for result files): which G, and the standing statistics' batches x batch size."""
        return {"generator": "ema" if self.g_is_ema else "raw", "standing_bn_batches": self.standing_batches,
                "standing_batch_size": STANDING_BATCH_SIZE, "codes": "latent.fixed_codes(seed), c cyclic"}

    @torch.no_grad()
    def standing_stats(self) -> "Pretrained":
        """Re-estimate G's BatchNorm statistics on ``standing_batches`` batches (once; ggan_lib.train.ema); self.

        generate() and sample() call it; call it before using ``model.G`` directly (interpolations, paired clips)."""
        if self.standing_batches and not self._standing_done:
            self.model.eval()
            standing_bn_stats(self.generator, self._forward, self.model_cfg, self.standing_batches)
            self._standing_done = True
        return self

    @torch.no_grad()
    def generate(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Spectrograms (B, 1, H, W) of codes z (B, z_dim) and classes c (B,) on the model's device, float32."""
        self.standing_stats()
        return self._forward(z.to(self.device), c.to(self.device))

    def _forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The generator's output for codes on its device (GGAN G(E(z, c)), G(z, c), G(z)), float32."""
        if self.kind == "ggan":
            return self.model.G(self.model.E(z, c)).float()
        if self.kind == "supervised_biggan":
            return self.model(z, c).float()
        return self.model(z).float()  # unsupervised: c plays no part

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, seed: int = 0, z: torch.Tensor | None = None,
               batch_size: int | None = None, device: str | torch.device | None = None) -> torch.Tensor:
        """n spectrograms (n, 1, H, W) on the model's device (moved to ``device`` first when given).

        z: the fixed codes of ``seed`` (ggan_lib.model.latent.fixed_codes: the prior of model_cfg.z_dist) unless
        given; c: 0..n-1 mod n_classes unless given. batch_size: the generator's batch (None: all n at once).
        """
        z, c = sampling_codes(self.model_cfg, n, seed, z, c)
        if device is not None:
            self.model.to(device)
        self.model.eval()
        step = batch_size or max(len(z), 1)
        return torch.cat([self.generate(zb, cb) for zb, cb in zip(z.split(step), c.split(step))])

    def _ggan(self, what: str) -> nn.Module:
        """The GGAN (its D, F, Cx classify); a clear error for a baseline generator."""
        if self.kind != "ggan":
            raise TypeError(f"{what} needs a GGAN; this is a {self.kind!r} generator")
        return self.model.eval()

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Logits Cx(F(D(x))) (B, n_classes) of spectrograms x (B, 1, H, W)."""
        m = self._ggan("classify")
        return m.Cx(m.F(m.D(x.to(self.device))))

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation f = F(D(x)) (B, z_dim) of Fig. 5."""
        m = self._ggan("features")
        return m.F(m.D(x.to(self.device)))


# ---------------------------------------------------------------------- files and cards
def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve(name_or_path: str | os.PathLike) -> Path:
    """A registry name ('ggan-fsdd-small') or a path to a .pt -> the .pt path (clear error when absent)."""
    shipped = str(name_or_path) in REGISTRY
    path = MODELS_DIR / REGISTRY[str(name_or_path)] if shipped else Path(name_or_path)
    if not shipped and path.suffix != ".pt" and not path.exists():
        raise KeyError(f"unknown pretrained model {str(name_or_path)!r}; shipped: {sorted(REGISTRY)} "
                       "(or give the path of an exported .pt or a checkpoint)")
    if not path.exists():
        hint = ("pretrained weights are missing (git lfs / a partial checkout?); train from scratch instead "
                "with load_or_train(from_scratch=True)" if shipped else "train it first, or pass the right path")
        raise FileNotFoundError(f"checkpoint {path} not found: {hint}")
    return path


def card_path(path: str | os.PathLike) -> Path:
    """The card beside a .pt: same name, .json."""
    return Path(path).with_suffix(".json")


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """The model card of a .pt ({} when there is none)."""
    p = card_path(path)
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def write_card(path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Atomically write the card beside the .pt."""
    return atomic.write_text(card_path(path), json.dumps(card, indent=1, sort_keys=False) + "\n")


def _read_file(path: Path) -> dict[str, Any]:
    """torch.load(weights_only=True) of a model file; CheckpointMismatchError for a corrupt or foreign one."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a corrupt or foreign file is "not ours", said clearly
        raise CheckpointMismatchError(f"{path}: not a loadable pretrained GGAN ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f"{path}: not a model file (a {type(state).__name__})")
    if "checksum" in state and ckpt.payload_digest(state) != state["checksum"]:
        raise ckpt.CheckpointCorruptError(f"{path}: damaged model file, its payload does not match its checksum")
    return state


def _read_model_file(path: Path) -> dict[str, Any]:
    """An export's or a training checkpoint's state (anything else: CheckpointMismatchError naming both formats)."""
    state = _read_file(path)
    if state.get("format") not in (FORMAT, ckpt.FORMAT):
        raise CheckpointMismatchError(f"{path}: expected an exported model (format {FORMAT!r}) or a training "
                                      f"checkpoint (format {ckpt.FORMAT!r}), got format {state.get('format')!r}")
    return state


def _read_export(path: Path) -> dict[str, Any]:
    """An export's state, its format checked (a training checkpoint is named as such)."""
    state = _read_file(path)
    if state.get("format") != FORMAT:
        got = state.get("format")
        hint = (" (a training checkpoint: export it with ggan_lib.experiments.pretrained.export_checkpoint)"
                if got == ckpt.FORMAT else "")
        raise CheckpointMismatchError(f"{path}: expected a {FORMAT!r} file, got format {got!r}{hint}")
    return state


# ---------------------------------------------------------------------- configs and checks
def _train_config(state: dict[str, Any], kind: str):
    """The TrainConfig (BaselineConfig for a baseline) of a file; raises KeyError / TypeError / ValueError."""
    train_cls = TrainConfig if kind == "ggan" else BaselineConfig
    return train_cls.from_dict(json.loads(state["train_cfg"]))


def _configs(state: dict[str, Any], path: Path, kind: str, expect_model_cfg=None):
    """ModelConfig and training config of a file; a clear error when unknown or not the expected.

    An export's training config must fit this version too; a training checkpoint's is informative only
    (None when its fields have changed since: sampling does not need it)."""
    saved = json.loads(state["model_cfg"])
    try:
        mcfg = ModelConfig.from_dict(saved)
        tcfg = _train_config(state, kind) if state.get("format") == FORMAT else None
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointMismatchError(f"{path}: its configuration does not fit this version of ggan_lib: "
                                      f"{err}") from err
    if tcfg is None and "train_cfg" in state:
        try:
            tcfg = _train_config(state, kind)
        except (KeyError, TypeError, ValueError):
            tcfg = None
    if expect_model_cfg is not None:
        ckpt.check_config("ModelConfig", saved, expect_model_cfg.to_dict(), path)
    return mcfg, tcfg


def checkpoint_kind(state: dict[str, Any]) -> str:
    """'ggan' for a Trainer checkpoint (or an export), else the baseline trainer's kind."""
    if state.get("format") == FORMAT:
        return "ggan"
    return state.get("kind", "ggan" if "ema_G" in state else "unknown")


def _check_kind(got: str, kind: str | None, path: Path) -> None:
    """The file holds a generator, of the expected kind when one is given."""
    if kind is not None and got != kind:
        raise CheckpointMismatchError(f"{path}: a {got!r} checkpoint, but the evaluation expects {kind!r}")
    if got not in GENERATOR_KINDS:
        raise CheckpointMismatchError(f"{path}: a {got!r} checkpoint has no generator; "
                                      f"expected one of {GENERATOR_KINDS}")


def _check_preset(saved: ModelConfig, preset: str | None, path: Path) -> None:
    """The model has exactly the preset's ModelConfig (an error naming both presets and every field otherwise)."""
    if preset is None:
        return
    want = ModelConfig.preset(preset)
    if saved == want:
        return
    names = [n for n, p in PRESETS.items() if p == saved]
    who = f"preset {names[0]!r}" if names else "a custom ModelConfig"
    try:
        ckpt.check_config("ModelConfig", saved.to_dict(), want.to_dict(), path)
    except CheckpointMismatchError as e:
        raise CheckpointMismatchError(f"{e}\n(checkpoint {path}: {who}; requested: preset {preset!r})") from None


# ---------------------------------------------------------------------- building
def ggan_from_weights(mcfg: ModelConfig, nets: dict[str, torch.Tensor], path: Any = "<state>",
                      ema_G: dict[str, torch.Tensor] | None = None, ema_clf: dict | None = None) -> GGAN:
    """A GGAN of mcfg holding nets (shapes checked); G from ema_G and D, F, Cx from ema_clf (a checkpoint's
    average of the scored path, Trainer.classifier) when given; eval mode, no grad."""
    model = GGAN(mcfg)
    ckpt.check_shapes(nets, model.state_dict(), path)
    model.load_state_dict(nets)
    if ema_G:
        model.G.load_state_dict(ema_G)  # sample with the EMA generator, as Trainer.sample does
    for name, sd in (ema_clf or {}).items():
        getattr(model, name).load_state_dict(sd)  # classify with the scored path, as Trainer.classifier does
    return model.eval().requires_grad_(False)


def _network(kind: str, mcfg: ModelConfig, state: dict[str, Any], path: Path) -> nn.Module:
    """The generator network of a file's state (a GGAN: EMA G when the checkpoint saved one)."""
    if kind == "ggan":
        ema = state.get("ema_G") if state.get("format") == ckpt.FORMAT else None  # an export's G is the EMA G
        return ggan_from_weights(mcfg, state["nets"], path, ema, state.get("ema_clf"))  # an export's D, F, Cx too
    net = _BASELINE_NETS[kind](cfg=mcfg)
    weights = state.get("ema_G") or state["nets"]["G"]  # the EMA G; files from before the baselines kept one: G
    ckpt.check_shapes(weights, net.state_dict(), path)
    net.load_state_dict(weights)
    return net.eval().requires_grad_(False)


def _holds_ema(state: dict[str, Any]) -> bool:
    """Whether the generator built from a file's state holds EMA weights."""
    return bool(state.get("g_is_ema", False) if state.get("format") == FORMAT else state.get("ema_G"))


def _build(path: Path, state: dict[str, Any], *, preset: str | None = None, kind: str | None = None,
           name: str = "model", expect_model_cfg=None, check_hash: bool = True) -> Pretrained:
    """A Pretrained from a file's state: kind and configs checked before any network is built."""
    got = checkpoint_kind(state)
    _check_kind(got, kind, path)
    mcfg, tcfg = _configs(state, path, got, expect_model_cfg)
    _check_preset(mcfg, preset, path)
    net, ema = _network(got, mcfg, state, path), _holds_ema(state)
    if state.get("format") != FORMAT:  # a training checkpoint: no card
        return Pretrained(net, mcfg, tcfg, {}, {"name": name, "iteration": int(state["iteration"])}, path, got, ema)
    card = read_card(path)
    if check_hash and card.get("sha256") and card["sha256"] != sha256(path):
        raise CheckpointMismatchError(f"{path}: the card {card_path(path).name} describes another file "
                                      "(SHA-256 differs); re-export or re-measure the model")
    return Pretrained(net, mcfg, tcfg, card.get("metrics", {}), card, path, got, ema)


def _module_kind(net: nn.Module) -> str:
    """The kind of an in-memory generator module (a GGAN-like module otherwise)."""
    return next((k for k, cls in _BASELINE_NETS.items() if isinstance(net, cls)), "ggan")


def _from_object(spec: Any, name: str) -> Pretrained | None:
    """A Pretrained of an in-memory model (a Pretrained, a Trainer, a network), None for a name or path."""
    if hasattr(spec, "model") and hasattr(spec, "model_cfg"):     # a Pretrained
        return spec
    # in-memory models are sampled as they are (no standing statistics: their buffers are the caller's);
    # a Trainer's live networks hold the raw G: Trainer.sample() samples its EMA the project's way
    if hasattr(spec, "model") and hasattr(spec, "mcfg"):          # a Trainer: its live networks
        return Pretrained(spec.model.eval(), spec.mcfg, spec.cfg, {}, {"name": name}, standing_batches=0)
    if isinstance(spec, nn.Module):                               # a GGAN or a baseline generator
        return Pretrained(spec.eval(), spec.cfg, None, {}, {"name": name}, kind=_module_kind(spec),
                          standing_batches=0)
    return None


def from_trainer(tr: Any, name: str = "model") -> Pretrained:
    """A snapshot of a GGAN Trainer that samples the project's way (see ggan_lib.train.ema): a copy of its
    networks with G replaced by the EMA G and D, F, Cx by the scored average (when it keeps them), standing BN
    statistics re-estimated at first use: ``from_trainer(tr).sample(n, seed=s)`` equals ``tr.sample(n, seed=s)``.
    The trainer's own networks are not touched (``load_model(tr)``, by contrast, wraps them as they are)."""
    ema = tr.ema_G.state_dict() if getattr(tr, "ema_G", None) is not None else None
    clf = tr.clf_ema.state_dict() if getattr(tr, "clf_ema", None) is not None else None
    nets = {k: v.detach().cpu() for k, v in tr.model.state_dict().items()}
    model = ggan_from_weights(tr.mcfg, nets, "<trainer>", ema, clf).to(tr.device)
    return Pretrained(model, tr.mcfg, tr.cfg, {}, {"name": name, "iteration": int(tr.iteration)}, None, "ggan", ema is not None,
                      standing_batches=int(tr.cfg.ema_standing_batches) if ema is not None else 0)


# ---------------------------------------------------------------------- the loader and its names
def load_model(spec: Any, *, preset: str | None = None, kind: str | None = None,
               device: str | torch.device | None = None, name: str = "model", expect_model_cfg=None,
               check_hash: bool = True) -> Pretrained:
    """THE loader: a Pretrained of any model the project makes (see the module docstring for what ``spec`` may be).

    preset / kind: the ModelConfig preset and generator kind the model must have (CheckpointMismatchError
    naming both sides otherwise); expect_model_cfg: a ModelConfig every field of which must match;
    check_hash: an export's card must describe this file (its SHA-256). device: where the networks go
    (None: a file loads on the CPU, an in-memory model stays where it is). name: the card's name for
    in-memory models and training checkpoints.
    """
    pm = _from_object(spec, name)
    if pm is None:
        path = resolve(spec)
        pm = _build(path, _read_model_file(path), preset=preset, kind=kind, name=name,
                    expect_model_cfg=expect_model_cfg, check_hash=check_hash)
    elif kind is not None or preset is not None:
        where = getattr(pm, "path", None) or Path(name)
        _check_kind(getattr(pm, "kind", "ggan"), kind, where)
        _check_preset(pm.model_cfg, preset, where)
    return pm if device is None else pm.to(device)


def load_pretrained(name: str | os.PathLike = "ggan-fsdd-small", *, device: str | torch.device = "cpu",
                    expect_model_cfg=None, check_hash: bool = True) -> Pretrained:
    """A shipped (or exported) GGAN: load_model of an export only (a training checkpoint is refused, named).

    Loads with ``weights_only=True``. Raises CheckpointMismatchError naming every differing config
    field (``expect_model_cfg``) or tensor shape, and when the card's SHA-256 is not the file's.
    """
    path = resolve(name)
    return _build(path, _read_export(path), expect_model_cfg=expect_model_cfg, check_hash=check_hash).to(device)


def load_generator(path: str | os.PathLike, preset: str, kind: str | None = None) -> Pretrained:
    """load_model of a GGAN / BigGAN checkpoint that must be of ``preset`` (and ``kind``), as Table I evaluates it."""
    return load_model(path, preset=preset, kind=kind)
