"""Building blocks: SN conv/linear, (conditional) BatchNorm, non-local attention, BigGAN G and D ResBlocks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def init_weight(weight: torch.Tensor, kind: str) -> None:
    """Initialise a conv/linear/embedding weight in place: 'ortho', 'N02', 'xavier' or 'default' (leave)."""
    if kind == "ortho":
        nn.init.orthogonal_(weight)
    elif kind == "N02":
        nn.init.normal_(weight, 0.0, 0.02)
    elif kind == "xavier":
        nn.init.xavier_uniform_(weight)
    elif kind != "default":
        raise ValueError(f"unknown init {kind!r}")


def _finish(module: nn.Module, *, sn: bool, sn_eps: float, sn_iters: int, init: str) -> nn.Module:
    """Initialise, then (optionally) spectrally normalise the module's weight."""
    init_weight(module.weight, init)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    if sn:
        module = spectral_norm(module, n_power_iterations=sn_iters, eps=sn_eps)
    return module


def conv2d(in_ch: int, out_ch: int, *, kernel: int = 3, bias: bool = True, sn: bool = True,
           sn_eps: float = 1e-6, sn_iters: int = 1, init: str = "ortho") -> nn.Conv2d:
    """A 'same'-padded conv, spectrally normalised when sn (torch parametrization)."""
    conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias)
    return _finish(conv, sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init)


def linear(in_f: int, out_f: int, *, bias: bool = True, sn: bool = True, sn_eps: float = 1e-6,
           sn_iters: int = 1, init: str = "ortho") -> nn.Linear:
    """A dense layer, spectrally normalised when sn."""
    lin = nn.Linear(in_f, out_f, bias=bias)
    return _finish(lin, sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init)


def embedding(n: int, dim: int, *, sn: bool = True, sn_eps: float = 1e-6, sn_iters: int = 1,
              init: str = "ortho") -> nn.Embedding:
    """A class embedding (projection discriminator), spectrally normalised when sn."""
    emb = nn.Embedding(n, dim)
    return _finish(emb, sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init)


def has_sn(module: nn.Module) -> bool:
    """True when the module's weight is spectrally normalised."""
    return hasattr(module, "parametrizations") and "weight" in module.parametrizations


def mlp(widths: list[int], *, sn: bool, sn_eps: float = 1e-6, sn_iters: int = 1,
        init: str = "ortho") -> nn.Sequential:
    """Dense layers between consecutive widths with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(linear(a, b, sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init))
    return nn.Sequential(*layers)


class CondBatchNorm2d(nn.Module):
    """Class-conditional BatchNorm: x_norm * (1 + gain[y]) + bias[y] (BigGAN's ccbn with a class embedding)."""

    def __init__(self, *, num_features: int,   # Channels C of x
                 n_classes: int,               # Number of classes of y
                 eps: float = 1e-5,            # BatchNorm eps
                 momentum: float = 0.1):       # Running-stat momentum
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Embedding(n_classes, num_features)
        self.bias = nn.Embedding(n_classes, num_features)
        # Small random start so the class matters from step 0 but the block starts near plain BN.
        nn.init.normal_(self.gain.weight, 0.0, 0.02)
        nn.init.normal_(self.bias.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W), y (B,) long -> (B, C, H, W)."""
        g = (1 + self.gain(y))[:, :, None, None]
        b = self.bias(y)[:, :, None, None]
        return self.bn(x) * g + b


# On CUDA the fused SDPA kernels (flash, memory-efficient) take only inputs whose last dimension has
# stride 1 and whose head width is a multiple of 8 (bf16; 4 in fp32). Anything else silently falls back
# to the "math" kernel, which materialises the (HW x HW/4) matrix: at the paper preset, D's non-local
# block has theta/phi width 16 / 8 = 2 and that matrix is 64 x 8192 x 2048, about 2 GiB in bf16 per call.
_FUSED_HEAD_MULTIPLE = {"cuda": 8}


def fused_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, head_multiple: int = 1) -> torch.Tensor:
    """softmax(q k^T) v for q (B, L, d), k (B, S, d), v (B, S, dv) -> (B, L, dv), without the 1/sqrt(d) scale.

    BigGAN's non-local block has no scaling (scale=1). q, k and v are made contiguous and their last
    dimension zero-padded to a multiple of head_multiple so a fused kernel is eligible; the result is
    exact: zero columns add nothing to q . k, and the padded value columns are dropped.
    """
    dv = v.shape[-1]

    def prep(t: torch.Tensor) -> torch.Tensor:
        pad = -t.shape[-1] % head_multiple
        return (F.pad(t, (0, pad)) if pad else t).contiguous()[:, None]  # (B, 1 head, len, d)

    a = F.scaled_dot_product_attention(prep(q), prep(k), prep(v), scale=1.0)[:, 0]
    return a[..., :dv] if a.shape[-1] != dv else a


class SelfAttention(nn.Module):
    """BigGAN's non-local block (theta/phi/g, max-pooled keys, gamma init 0) via scaled_dot_product_attention."""

    def __init__(self, *, channels: int,       # Channels C in and out
                 qk_div: int = 8,              # theta/phi width = C // qk_div (BigGAN: 8)
                 v_div: int = 2,               # g width = C // v_div (BigGAN: 2)
                 pool: bool = True,            # Max-pool phi and g by 2 (BigGAN)
                 sn: bool = True,              # Spectral norm on the four 1x1 convs
                 sn_eps: float = 1e-6,         # Spectral-norm eps
                 sn_iters: int = 1,            # Power iterations
                 init: str = "ortho"):         # Weight init
        super().__init__()
        cq, cv = max(1, channels // qk_div), max(1, channels // v_div)
        kw = dict(kernel=1, bias=False, sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init)
        self.theta = conv2d(channels, cq, **kw)
        self.phi = conv2d(channels, cq, **kw)
        self.g = conv2d(channels, cv, **kw)
        self.o = conv2d(cv, channels, **kw)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.pool = pool

    def qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries (B, HW, cq), keys (B, HW/4, cq), values (B, HW/4, cv) as BigGAN forms them."""
        q, k, v = self.theta(x), self.phi(x), self.g(x)
        if self.pool:
            k, v = F.max_pool2d(k, 2), F.max_pool2d(v, 2)
        return (q.flatten(2).transpose(1, 2), k.flatten(2).transpose(1, 2), v.flatten(2).transpose(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> x + gamma * o(attention), never materialising the (HW x HW/4) matrix."""
        b, _, h, w = x.shape
        q, k, v = self.qkv(x)
        a = fused_attention(q, k, v, head_multiple=_FUSED_HEAD_MULTIPLE.get(x.device.type, 1))  # (B, HW, cv)
        a = a.transpose(1, 2).reshape(b, -1, h, w)
        return x + self.gamma * self.o(a)


def upconv_shuffle(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """conv3x3(nearest_up2(x)) computed as four 2x2 convs on x, interleaved (exact rewrite, 2.25x fewer FLOPs)."""
    b, _, h, w = x.shape
    co = weight.shape[0]
    # Output row 2i+a sees low-res rows (i-1, i) for a = 0 with taps (w0, w1 + w2), (i, i+1) for a = 1
    # with taps (w0 + w1, w2); the same along columns. Build the 4 phase kernels (a, b) in one conv.
    r0 = torch.stack([weight[:, :, 0], weight[:, :, 1] + weight[:, :, 2]], 2)   # (co, ci, 2, 3)
    r1 = torch.stack([weight[:, :, 0] + weight[:, :, 1], weight[:, :, 2]], 2)
    ks = []
    for r in (r0, r1):
        ks.append(torch.stack([r[..., 0], r[..., 1] + r[..., 2]], 3))      # b = 0: (co, ci, 2, 2)
        ks.append(torch.stack([r[..., 0] + r[..., 1], r[..., 2]], 3))      # b = 1
    k = torch.cat(ks, 0)                                                    # (4 co, ci, 2, 2), order (a, b)
    bias4 = bias.repeat(4) if bias is not None else None
    y = F.conv2d(F.pad(x, (1, 1, 1, 1)), k, bias4)                          # (B, 4 co, h+1, w+1)
    y = y.view(b, 2, 2, co, h + 1, w + 1)
    # Interleave: output pixel (2i + a, 2j + c) is phase (a, c) at (i, j); one strided copy per phase.
    out = y.new_empty(b, co, h, 2, w, 2)
    for a in (0, 1):
        for c in (0, 1):
            out[:, :, :, a, :, c] = y[:, a, c, :, a:a + h, c:c + w]
    return out.view(b, co, 2 * h, 2 * w)


def conv_pool_fused(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """avg_pool2(conv3x3(x)) as one stride-2 4x4 conv (exact rewrite, 2.25x fewer FLOPs)."""
    k = F.pad(weight, (0, 1, 0, 1)) + F.pad(weight, (1, 0, 0, 1)) \
        + F.pad(weight, (0, 1, 1, 0)) + F.pad(weight, (1, 0, 1, 0))
    return F.conv2d(x, 0.25 * k, bias, stride=2, padding=1)


class GBlock(nn.Module):
    """BigGAN up ResBlock (Table VIII): BN-ReLU-up-conv3, BN-ReLU-conv3, plus an up 1x1-conv shortcut."""

    def __init__(self, *, in_ch: int,          # Input channels c_i
                 out_ch: int,                  # Output channels c_o
                 upsample: bool = True,        # Nearest x2 upsampling
                 n_classes: int = 0,           # > 0: conditional BN on class y (supervised BigGAN)
                 sn: bool = True,              # Spectral norm on the convs
                 sn_eps: float = 1e-6,         # Spectral-norm eps
                 sn_iters: int = 1,            # Power iterations
                 bn_eps: float = 1e-5,         # BatchNorm eps
                 bn_momentum: float = 0.1,     # BatchNorm momentum
                 init: str = "ortho",          # Weight init
                 sc_before_up: bool = True,    # Exact rewrite: shortcut conv at low resolution
                 upconv_shuffle: bool = True):  # Exact rewrite: up + conv3 as interleaved 2x2 convs
        super().__init__()
        kw = dict(sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init)
        self.conv1 = conv2d(in_ch, out_ch, **kw)
        self.conv2 = conv2d(out_ch, out_ch, **kw)
        self.learnable_sc = in_ch != out_ch or upsample
        self.conv_sc = conv2d(in_ch, out_ch, kernel=1, **kw) if self.learnable_sc else None
        if n_classes > 0:
            self.bn1 = CondBatchNorm2d(num_features=in_ch, n_classes=n_classes, eps=bn_eps, momentum=bn_momentum)
            self.bn2 = CondBatchNorm2d(num_features=out_ch, n_classes=n_classes, eps=bn_eps, momentum=bn_momentum)
        else:
            self.bn1 = nn.BatchNorm2d(in_ch, eps=bn_eps, momentum=bn_momentum)
            self.bn2 = nn.BatchNorm2d(out_ch, eps=bn_eps, momentum=bn_momentum)
        self.conditional = n_classes > 0
        self.upsample, self.sc_before_up, self.use_shuffle = upsample, sc_before_up, upconv_shuffle
        self.in_ch, self.out_ch = in_ch, out_ch

    def _bn(self, bn: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Plain or class-conditional BatchNorm."""
        return bn(x, y) if self.conditional else bn(x)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, c_i, h, w) [, y (B,)] -> (B, c_o, 2h, 2w) (or (h, w) without upsampling)."""
        assert x.shape[1] == self.in_ch, (x.shape, self.in_ch)
        h = F.relu(self._bn(self.bn1, x, y))
        if self.upsample and self.use_shuffle:
            h = upconv_shuffle(h, self.conv1.weight, self.conv1.bias)
        else:
            if self.upsample:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = self.conv1(h)
        h = self.conv2(F.relu(self._bn(self.bn2, h, y)))
        return h + self.shortcut(x)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """The skip path: 1x1 conv and nearest upsampling commute, so the conv runs first when asked."""
        if self.learnable_sc and self.sc_before_up:
            x = self.conv_sc(x)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.learnable_sc and not self.sc_before_up:
            x = self.conv_sc(x)
        return x


class DBlock(nn.Module):
    """BigGAN down ResBlock (Table IX): [ReLU]-conv3-ReLU-conv3-avgpool plus a 1x1-conv + avgpool shortcut."""

    def __init__(self, *, in_ch: int,          # Input channels c_i
                 out_ch: int,                  # Output channels c_o (also the hidden width: BigGAN's wide D)
                 downsample: bool = True,      # 2x2 average pooling
                 preactivation: bool = True,   # ReLU on the input (False for the first block, which sees x)
                 skip: str = "auto",           # "auto" (1x1 conv when shape changes, else identity) or "none"
                 sn: bool = True,              # Spectral norm on the convs
                 sn_eps: float = 1e-6,         # Spectral-norm eps
                 sn_iters: int = 1,            # Power iterations
                 init: str = "ortho",          # Weight init
                 sc_pool_first: bool = True,   # Exact rewrite: pool before the 1x1 shortcut conv
                 conv_pool_fused: bool = True):  # Exact rewrite: conv3 + pool as a stride-2 4x4 conv
        super().__init__()
        if skip not in ("auto", "none"):
            raise ValueError(f"skip must be 'auto' or 'none', not {skip!r}")
        kw = dict(sn=sn, sn_eps=sn_eps, sn_iters=sn_iters, init=init)
        self.conv1 = conv2d(in_ch, out_ch, **kw)
        self.conv2 = conv2d(out_ch, out_ch, **kw)
        self.skip = skip
        self.learnable_sc = skip == "auto" and (in_ch != out_ch or downsample)
        self.conv_sc = conv2d(in_ch, out_ch, kernel=1, **kw) if self.learnable_sc else None
        self.downsample, self.preactivation = downsample, preactivation
        self.sc_pool_first, self.fused = sc_pool_first, conv_pool_fused
        self.in_ch, self.out_ch = in_ch, out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, c_i, h, w) -> (B, c_o, h/2, w/2) (or (h, w) without downsampling)."""
        assert x.shape[1] == self.in_ch, (x.shape, self.in_ch)
        h = F.relu(x) if self.preactivation else x
        h = F.relu(self.conv1(h))
        if self.downsample and self.fused:
            h = conv_pool_fused(h, self.conv2.weight, self.conv2.bias)
        else:
            h = self.conv2(h)
            if self.downsample:
                h = F.avg_pool2d(h, 2)
        if self.skip == "none":
            return h
        return h + self.shortcut(x)

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """The skip path; avg-pool and a 1x1 conv commute, so pooling first is exact and cheaper."""
        pool_first = self.sc_pool_first or not self.preactivation  # BigGAN pools first in the first block
        if self.downsample and pool_first:
            x = F.avg_pool2d(x, 2)
        if self.learnable_sc:
            x = self.conv_sc(x)
        if self.downsample and not pool_first:
            x = F.avg_pool2d(x, 2)
        return x
