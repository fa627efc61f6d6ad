"""The eight GGAN networks (Appendix C, Tables X-XVII) and the GGAN container, composed from layers and arch."""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as Fn
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ggan_lib.config import ModelConfig
from ggan_lib.model.arch import d_arch, g_arch
from ggan_lib.model.latent import sample_latent, sample_z
from ggan_lib.model.layers import DBlock, GBlock, SelfAttention, conv2d, linear, mlp


def _sn_kw(cfg: ModelConfig) -> dict:
    """Spectral-norm and init keywords shared by a network's layers."""
    return dict(sn_eps=cfg.sn_eps, sn_iters=cfg.sn_iters, init=cfg.init)


def _attention(cfg: ModelConfig, channels: int, sn: bool) -> SelfAttention:
    """A non-local block configured from cfg."""
    return SelfAttention(channels=channels, qk_div=cfg.attn_qk_div, v_div=cfg.attn_v_div, pool=cfg.attn_pool,
                         sn=sn, **_sn_kw(cfg))


class Encoder(nn.Module):
    """E (Table XII): concat(z, one_hot(c)) -> 128 -> ReLU -> 128 -> ReLU -> z_dim = ze; plain layers."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__()
        self.z_dim, self.n_classes = cfg.z_dim, cfg.n_classes
        self.net = mlp([cfg.z_dim + cfg.n_classes, cfg.mlp_hidden, cfg.mlp_hidden, cfg.z_dim], sn=False,
                       init=cfg.init)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """z (B, z_dim), c (B,) long -> ze (B, z_dim)."""
        assert z.ndim == 2 and z.shape[1] == self.z_dim and c.shape == (z.shape[0],), (z.shape, c.shape)
        onehot = Fn.one_hot(c, self.n_classes).to(z.dtype)
        return self.net(torch.cat([z, onehot], 1))


class Classifier(nn.Module):
    """Ce and Cx (Table XIII): z_dim -> 128 -> ReLU -> 128 -> ReLU -> n logits; plain layers."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__()
        self.in_dim = cfg.z_dim
        self.net = mlp([cfg.z_dim, cfg.mlp_hidden, cfg.mlp_hidden, cfg.n_classes], sn=False, init=cfg.init)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, z_dim) -> logits (B, n_classes)."""
        assert h.ndim == 2 and h.shape[1] == self.in_dim, h.shape
        return self.net(h)


class Generator(nn.Module):
    """G (Table X; Table VI with n_classes > 0): dense -> up ResBlocks (+ non-local) -> BN, ReLU, conv3, tanh."""

    def __init__(self, *, cfg: ModelConfig,    # Model configuration (widths, attention, SN, BN, rewrites)
                 n_classes: int = 0):          # > 0: conditional BN on a class (supervised BigGAN)
        super().__init__()
        a = g_arch(cfg)
        kw = _sn_kw(cfg)
        self.z_dim, self.spec_shape, self.conditional = cfg.z_dim, tuple(cfg.spec_shape), n_classes > 0
        c0, (h0, w0) = a["dense"]["out_ch"], a["dense"]["res"]
        self.base = (c0, h0, w0)
        self.linear = linear(cfg.z_dim, c0 * h0 * w0, sn=cfg.g_sn_io, **kw)
        self.blocks = nn.ModuleList(
            GBlock(in_ch=b["in_ch"], out_ch=b["out_ch"], upsample=b["upsample"], n_classes=n_classes, sn=True,
                   bn_eps=cfg.bn_eps, bn_momentum=cfg.bn_momentum, sc_before_up=cfg.g_sc_before_up,
                   upconv_shuffle=cfg.g_upconv_shuffle, **kw)
            for b in a["blocks"])
        self.attn = nn.ModuleDict({str(i): _attention(cfg, b["out_ch"], sn=True)
                                   for i, b in enumerate(a["blocks"]) if b["attention"]})
        c_last = a["blocks"][-1]["out_ch"]
        self.out_bn = nn.BatchNorm2d(c_last, eps=cfg.bn_eps, momentum=cfg.bn_momentum)
        self.out_conv = conv2d(c_last, 1, sn=cfg.g_sn_io, **kw)

    def forward(self, ze: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """ze (B, z_dim) [, y (B,) for the conditional G] -> x_hat (B, 1, H, W) in [-1, 1]."""
        assert ze.ndim == 2 and ze.shape[1] == self.z_dim, ze.shape
        assert (y is not None) == self.conditional, "pass y exactly when the generator is conditional"
        h = self.linear(ze).view(ze.shape[0], *self.base)
        for i, block in enumerate(self.blocks):
            h = block(h, y)
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
        x = torch.tanh(self.out_conv(Fn.relu(self.out_bn(h))))
        assert x.shape[1:] == (1, *self.spec_shape), x.shape
        return x


class DTrunk(nn.Module):
    """A D trunk (Table XIV; also D2's, Df's and the baselines'): ResBlocks (+ non-local), ReLU, global sum pool."""

    def __init__(self, *, cfg: ModelConfig,    # Model configuration
                 sn: bool = True):             # Spectral norm on every conv (discriminators: yes)
        super().__init__()
        a = d_arch(cfg)
        kw = _sn_kw(cfg)
        self.spec_shape, self.feat_dim = tuple(cfg.spec_shape), a["feat_dim"]
        self.blocks = nn.ModuleList(
            DBlock(in_ch=b["in_ch"], out_ch=b["out_ch"], downsample=b["downsample"],
                   preactivation=b["preactivation"], skip="none" if b["skip"] == "none" else "auto", sn=sn,
                   sc_pool_first=cfg.d_sc_pool_first, conv_pool_fused=cfg.d_conv_pool_fused, **kw)
            for b in a["blocks"])
        self.attn = nn.ModuleDict({str(i): _attention(cfg, b["out_ch"], sn=sn)
                                   for i, b in enumerate(a["blocks"]) if b["attention"]})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> d (B, feat_dim)."""
        assert x.ndim == 4 and x.shape[1:] == (1, *self.spec_shape), x.shape
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
        return Fn.relu(h).sum(dim=(2, 3))


class DPrime(nn.Module):
    """D' (Table XV): d (feat_dim) -> 128 -> ReLU -> 128 -> ReLU -> 1, spectrally normalised."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__()
        self.in_dim = cfg.d_prime_in or cfg.feat_dim  # design note: D's feature size, not the table's 128
        self.net = mlp([self.in_dim, cfg.mlp_hidden, cfg.mlp_hidden, 1], sn=True, **_sn_kw(cfg))

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        """d (B, feat_dim) -> score (B,)."""
        assert d.ndim == 2 and d.shape[1] == self.in_dim, d.shape
        return self.net(d).squeeze(1)


class TrunkDiscriminator(nn.Module):
    """D2 and the unsupervised BigGAN D (Table XI): its own trunk + SN dense -> 1."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__()
        self.trunk = DTrunk(cfg=cfg, sn=True)
        self.out = linear(cfg.feat_dim, 1, sn=True, **_sn_kw(cfg))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> score (B,)."""
        return self.out(self.trunk(x)).squeeze(1)


class FeatureExtractor(nn.Module):
    """F (Table XVI): d (feat_dim) -> 256 -> ReLU -> 256 -> ReLU -> z_dim = f, in the space of ze; plain layers."""

    def __init__(self, *, cfg: ModelConfig):  # Model configuration
        super().__init__()
        self.in_dim = cfg.feat_dim
        self.net = mlp([cfg.feat_dim, cfg.f_hidden, cfg.f_hidden, cfg.z_dim], sn=False, init=cfg.init)

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        """d (B, feat_dim) -> f (B, z_dim)."""
        assert d.ndim == 2 and d.shape[1] == self.in_dim, d.shape
        return self.net(d)


class FeatureDiscriminator(nn.Module):
    """Df (Table XVII / text): concat(d, latent) -> 128 -> ReLU -> 1, SN; d from D (default) or its own trunk."""

    def __init__(self, *, cfg: ModelConfig,    # Model configuration (df_own_trunk, df_detach_features)
                 own_trunk: bool | None = None):  # Override cfg.df_own_trunk (the ALI baseline sets True)
        super().__init__()
        own = cfg.df_own_trunk if own_trunk is None else own_trunk
        self.trunk = DTrunk(cfg=cfg, sn=True) if own else None
        self.detach = cfg.df_detach_features
        self.z_dim, self.feat_dim = cfg.z_dim, cfg.feat_dim
        self.head = mlp([cfg.feat_dim + cfg.z_dim, cfg.df_hidden, 1], sn=True, **_sn_kw(cfg))

    def forward(self, latent: torch.Tensor, d: torch.Tensor | None, x: torch.Tensor | None = None) -> torch.Tensor:
        """latent (B, z_dim), d (B, feat_dim) [or x (B, 1, H, W) with its own trunk] -> score (B,)."""
        assert latent.ndim == 2 and latent.shape[1] == self.z_dim, latent.shape
        if self.trunk is not None:
            assert x is not None, "Df with its own trunk needs x"
            d = self.trunk(x)
        else:
            assert d is not None and d.shape == (latent.shape[0], self.feat_dim), None if d is None else d.shape
            # Shared features: Df's loss must not train D (its update touches Df only).
            d = d.detach() if self.detach else d
        return self.head(torch.cat([d, latent], 1)).squeeze(1)


class GGAN(nn.Module):
    """The eight GGAN networks in one container: E, Ce, G, D (+ D'), D2, F, Cx, Df."""

    def __init__(self, cfg: ModelConfig):  # Model configuration
        super().__init__()
        self.cfg = cfg
        self.E = Encoder(cfg=cfg)
        self.Ce = Classifier(cfg=cfg)
        self.G = Generator(cfg=cfg)
        self.D = DTrunk(cfg=cfg, sn=True)
        self.Dp = DPrime(cfg=cfg)
        self.D2 = TrunkDiscriminator(cfg=cfg)
        self.F = FeatureExtractor(cfg=cfg)
        self.Cx = Classifier(cfg=cfg)
        self.Df = FeatureDiscriminator(cfg=cfg)

    def phase_modules(self) -> dict[str, list[nn.Module]]:
        """The modules each Algorithm-1 phase updates (contract)."""
        return {"D1": [self.D, self.Dp], "D2": [self.D2], "Df": [self.Df],
                "ECG": [self.E, self.Ce, self.G], "FC": [self.F, self.Cx]}

    def count_params(self) -> dict[str, int]:
        """Trainable parameters per network (Df counts only its own layers)."""
        names = ["E", "Ce", "G", "D", "Dp", "D2", "F", "Cx", "Df"]
        return {n: sum(p.numel() for p in getattr(self, n).parameters() if p.requires_grad) for n in names}

    def sample_latent(self, batch: int, device: torch.device | str = "cpu",
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """z (batch, z_dim) from cfg.z_dist and c (batch,) uniform over the classes."""
        return sample_latent(self.cfg, batch, device, generator)

    def generate(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """x_hat = G(E(z, c)), (B, 1, H, W)."""
        return self.G(self.E(z, c))

    def to_channels_last(self) -> "GGAN":
        """Convert every 4-D weight to channels_last (feed channels_last inputs for the speed-up)."""
        return self.to(memory_format=torch.channels_last)


class GGANClassifier(nn.Module):
    """A trained GGAN's classification path as one module: x -> Cx(F(D(x))) (section IV-C)."""

    def __init__(self, model: nn.Module):  # a GGAN (or anything with D, F, Cx), e.g. Trainer.model
        super().__init__()
        self.D, self.F, self.Cx = model.D, model.F, model.Cx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> logits (B, n_classes)."""
        return self.Cx(self.F(self.D(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> f = F(D(x)) (B, z_dim), the representation of Fig. 5."""
        return self.F(self.D(x))


def count_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of one no-grad forward of module(*inputs), counted by torch.utils.flop_counter (2 per MAC)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops()


def model_summary(cfg: ModelConfig) -> dict[str, float]:
    """Parameters per network, plus G-forward and D-trunk-forward FLOPs per sample (batch 1, eval mode)."""
    torch.manual_seed(0)
    model = GGAN(cfg).eval()
    out: dict[str, float] = dict(model.count_params())
    ze = sample_z(cfg, 1)
    out["G_flops_per_sample"] = count_flops(model.G, ze)
    out["D_flops_per_sample"] = count_flops(model.D, torch.zeros(1, 1, *cfg.spec_shape))
    return out


if __name__ == "__main__":  # python -m ggan_lib.model.networks [preset]: parameter counts and FLOPs
    for key, value in model_summary(ModelConfig.preset(sys.argv[1] if len(sys.argv) > 1 else "paper")).items():
        print(f"{key:>20}: {value:,.0f}" if value < 1e9 else f"{key:>20}: {value:.3e}")
