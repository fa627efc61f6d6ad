"""Layers: exact performance rewrites vs their plain forms, attention vs a naive reference, cBN, SN helpers."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ggan_lib.config import ModelConfig
from ggan_lib.model import layers
from ggan_lib.model.layers import (
    CondBatchNorm2d,
    DBlock,
    GBlock,
    SelfAttention,
    conv2d,
    conv_pool_fused,
    has_sn,
    linear,
    upconv_shuffle,
)
from ggan_lib.model.networks import DTrunk, Generator

TOL = dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("h,w", [(4, 2), (5, 3), (1, 1)])
def test_upconv_shuffle_equals_upsample_then_conv(h, w):
    """Four interleaved 2x2 convs == nearest x2 + 3x3 conv (float64)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, h, w, generator=g, dtype=torch.float64)
    wt = torch.randn(5, 3, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(5, generator=g, dtype=torch.float64)
    ref = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), wt, b, padding=1)
    torch.testing.assert_close(upconv_shuffle(x, wt, b), ref, **TOL)
    torch.testing.assert_close(upconv_shuffle(x, wt, None), ref - b[:, None, None], **TOL)


@pytest.mark.parametrize("h,w", [(4, 2), (6, 10)])
def test_conv_pool_fused_equals_conv_then_avgpool(h, w):
    """A stride-2 4x4 conv == 3x3 conv + 2x2 average pooling (float64)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, h, w, generator=g, dtype=torch.float64)
    wt = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64)
    ref = F.avg_pool2d(F.conv2d(x, wt, b, padding=1), 2)
    torch.testing.assert_close(conv_pool_fused(x, wt, b), ref, **TOL)


def _plain_g(block: GBlock) -> GBlock:
    """A copy of a GBlock (same weights and SN state) taking the plain path."""
    plain = copy.deepcopy(block)
    plain.use_shuffle, plain.sc_before_up = False, False
    return plain


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("in_ch,out_ch", [(6, 5), (4, 4)])
def test_gblock_rewrites_exact(train, in_ch, out_ch):
    """GBlock with both rewrites == plain BigGAN GBlock, SN weights and power iteration included."""
    torch.manual_seed(0)
    fast = GBlock(in_ch=in_ch, out_ch=out_ch).double().train(train)
    plain = _plain_g(fast)
    x = torch.randn(3, in_ch, 4, 2, dtype=torch.float64)
    torch.testing.assert_close(fast(x), plain(x), **TOL)
    # Both ran one power iteration from the same u, so the SN state is still identical.
    torch.testing.assert_close(fast.conv1.parametrizations.weight[0]._u, plain.conv1.parametrizations.weight[0]._u)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("preact", [True, False])
def test_dblock_rewrites_exact(train, preact):
    """DBlock with pool-first shortcut and fused conv+pool == plain BigGAN DBlock."""
    torch.manual_seed(0)
    fast = DBlock(in_ch=3, out_ch=5, preactivation=preact).double().train(train)
    plain = copy.deepcopy(fast)
    plain.fused, plain.sc_pool_first = False, False
    x = torch.randn(2, 3, 8, 4, dtype=torch.float64)
    torch.testing.assert_close(fast(x), plain(x), **TOL)


def test_whole_networks_rewrites_exact():
    """G and a D trunk at the tiny preset: rewrites on == rewrites off, in train mode, float64."""
    fast_cfg = ModelConfig.preset("tiny")
    plain_cfg = fast_cfg.replace(g_sc_before_up=False, g_upconv_shuffle=False, d_sc_pool_first=False,
                                 d_conv_pool_fused=False)
    torch.manual_seed(0)
    g_fast = Generator(cfg=fast_cfg).double()
    g_plain = Generator(cfg=plain_cfg).double()
    g_plain.load_state_dict(g_fast.state_dict())
    d_fast, d_plain = DTrunk(cfg=fast_cfg).double(), DTrunk(cfg=plain_cfg).double()
    d_plain.load_state_dict(d_fast.state_dict())
    for m in (g_fast, g_plain, d_fast, d_plain):
        for a in m.attn.values():
            a.gamma.data.fill_(0.7)  # make attention count
    z = torch.randn(4, fast_cfg.z_dim, dtype=torch.float64)
    x_fast, x_plain = g_fast(z), g_plain(z)
    torch.testing.assert_close(x_fast, x_plain, **TOL)
    torch.testing.assert_close(d_fast(x_fast), d_plain(x_fast), **TOL)


def _naive_attention(m: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """BigGAN's non-local forward written out with the full softmax(theta^T phi) matrix."""
    b, c, h, w = x.shape
    theta = m.theta(x).view(b, -1, h * w)
    phi = F.max_pool2d(m.phi(x), 2).view(b, -1, h * w // 4)
    g = F.max_pool2d(m.g(x), 2).view(b, -1, h * w // 4)
    beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), -1)  # (B, HW, HW/4)
    o = m.o(torch.bmm(g, beta.transpose(1, 2)).view(b, -1, h, w))
    return x + m.gamma * o


def test_attention_matches_naive_reference():
    """SDPA non-local block == softmax(QK^T)V reference (BigGAN, no 1/sqrt(d) scaling)."""
    torch.manual_seed(0)
    m = SelfAttention(channels=16).double().eval()
    m.gamma.data.fill_(1.3)
    x = torch.randn(2, 16, 8, 4, dtype=torch.float64)
    torch.testing.assert_close(m(x), _naive_attention(m, x), **TOL)


def test_fused_attention_padding_is_exact():
    """Zero-padding the head widths to a multiple of 8 (what CUDA's fused kernels need) changes nothing,
    forward or backward, also for non-contiguous inputs like the non-local block's transposed views."""
    torch.manual_seed(0)
    b, L, S, d, dv = 3, 32, 8, 2, 5   # D's widths at the paper preset are 2 and 8; 5 tests the slicing
    q0, k0, v0 = (torch.randn(b, n, L, dtype=torch.float64) for n in (d, d, dv))
    outs, grads = [], []
    for mult in (1, 8):
        q, k, v = (t.clone().requires_grad_(True) for t in (q0, k0, v0))
        # (B, C, L) -> (B, L, C): last dim stride != 1, as in SelfAttention.qkv
        a = layers.fused_attention(q.transpose(1, 2), k[..., :S].transpose(1, 2), v[..., :S].transpose(1, 2),
                                   head_multiple=mult)
        assert a.shape == (b, L, dv)
        a.square().sum().backward()
        outs.append(a.detach())
        grads.append([t.grad for t in (q, k, v)])
    torch.testing.assert_close(outs[1], outs[0], **TOL)
    for g1, g8 in zip(*grads):
        torch.testing.assert_close(g8, g1, **TOL)
    # reference: softmax(q k^T) v written out, no 1/sqrt(d)
    ref = torch.softmax(q0.transpose(1, 2) @ k0[..., :S], -1) @ v0[..., :S].transpose(1, 2)
    torch.testing.assert_close(outs[0], ref, **TOL)


def test_attention_block_uses_device_head_multiple(monkeypatch):
    """The non-local block pads to the multiple registered for its device (8 on CUDA); same output."""
    torch.manual_seed(0)
    m = SelfAttention(channels=16).double().eval()   # theta/phi width 2, g width 8
    m.gamma.data.fill_(1.3)
    x = torch.randn(2, 16, 8, 4, dtype=torch.float64)
    seen = []
    real = layers.fused_attention
    monkeypatch.setattr(layers, "fused_attention", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    plain = m(x)
    monkeypatch.setitem(layers._FUSED_HEAD_MULTIPLE, "cpu", 8)
    padded = m(x)
    assert [kw["head_multiple"] for kw in seen] == [1, 8]
    assert layers._FUSED_HEAD_MULTIPLE["cuda"] == 8
    torch.testing.assert_close(padded, plain, **TOL)
    torch.testing.assert_close(padded, _naive_attention(m, x), **TOL)


def test_attention_starts_as_identity():
    """gamma starts at 0, so a fresh non-local block passes x through."""
    m = SelfAttention(channels=8)
    x = torch.randn(1, 8, 4, 4)
    torch.testing.assert_close(m(x), x)


def test_conditional_bn_depends_on_class():
    """cBN output changes with y, and its gains/biases get gradients."""
    torch.manual_seed(0)
    bn = CondBatchNorm2d(num_features=4, n_classes=3)
    x = torch.randn(6, 4, 3, 3)
    y0, y1 = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    assert not torch.allclose(bn(x, y0), bn(x, y1))
    bn(x, y0).pow(2).sum().backward()
    assert bn.gain.weight.grad[0].abs().sum() > 0 and bn.gain.weight.grad[1].abs().sum() == 0


def test_conditional_gblock_depends_on_class():
    """A GBlock with cBN gives different outputs for different classes."""
    torch.manual_seed(0)
    blk = GBlock(in_ch=4, out_ch=4, n_classes=3)
    x = torch.randn(5, 4, 4, 2)
    assert not torch.allclose(blk(x, torch.zeros(5, dtype=torch.long)), blk(x, torch.full((5,), 2)))


def test_sn_helpers():
    """conv2d / linear carry an SN parametrization exactly when asked, and SN bounds sigma near 1."""
    assert has_sn(conv2d(3, 4)) and not has_sn(conv2d(3, 4, sn=False))
    assert has_sn(linear(3, 4)) and not has_sn(linear(3, 4, sn=False))
    lin = linear(20, 30, sn=True).train()
    for _ in range(30):  # power iterations converge
        lin(torch.zeros(1, 20))
    assert abs(torch.linalg.matrix_norm(lin.weight.detach(), 2).item() - 1) < 1e-3


def test_channels_last_same_result():
    """Blocks and attention give the same output for channels_last inputs."""
    torch.manual_seed(0)
    for m in (GBlock(in_ch=8, out_ch=8).eval(), DBlock(in_ch=8, out_ch=8).eval(), SelfAttention(channels=8).eval()):
        if isinstance(m, SelfAttention):
            m.gamma.data.fill_(1.0)
        x = torch.randn(2, 8, 8, 4)
        ref = m(x)
        m_cl = copy.deepcopy(m).to(memory_format=torch.channels_last)
        torch.testing.assert_close(m_cl(x.to(memory_format=torch.channels_last)), ref, rtol=1e-5, atol=1e-5)
