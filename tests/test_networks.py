"""Networks: shapes at every preset, the paper's tables, SN placement, the container contract, configs."""
from __future__ import annotations

import json
import time

import pytest
import torch
from torch import nn

from ggan_lib.config import PRESETS, ModelConfig
from ggan_lib.model.arch import arch_table, d_arch, format_table, g_arch
from ggan_lib.model.baselines import (
    ALIEncoder,
    ALIJointDiscriminator,
    CNNBaseline,
    ConditionalGenerator,
    LatentClassifier,
    ProjectionDiscriminator,
    UnconditionalDiscriminator,
    UnconditionalGenerator,
)
from ggan_lib.model.layers import has_sn
from ggan_lib.model.networks import GGAN, count_flops, model_summary, sample_latent

B = 3


@pytest.fixture(scope="module", params=["tiny", "small"])
def model(request):
    """A GGAN at a small preset (module-scoped: built once)."""
    torch.manual_seed(0)
    return GGAN(ModelConfig.preset(request.param))


def test_ggan_shapes(model):
    """Every network's input/output shapes per the contract."""
    cfg = model.cfg
    z, c = model.sample_latent(B)
    ze = model.E(z, c)
    assert ze.shape == (B, cfg.z_dim)
    assert model.Ce(ze).shape == (B, cfg.n_classes)
    x = model.G(ze)
    assert x.shape == (B, 1, *cfg.spec_shape) and x.abs().max() <= 1
    d = model.D(x)
    assert d.shape == (B, cfg.feat_dim)
    assert model.Dp(d).shape == (B,)
    assert model.D2(x).shape == (B,)
    f = model.F(d)
    assert f.shape == (B, cfg.z_dim)
    assert model.Cx(f).shape == (B, cfg.n_classes)
    assert model.Df(f, d).shape == (B,) and model.Df(ze, d, x).shape == (B,)


def test_backward_reaches_every_parameter(model):
    """One sum of all outputs back-propagates into every parameter (no dead layer)."""
    model.zero_grad(set_to_none=True)
    for m in model.modules():
        if hasattr(m, "gamma"):
            m.gamma.data.fill_(0.5)  # otherwise theta/phi/g get exactly zero gradient at init
    z, c = model.sample_latent(B)
    ze = model.E(z, c)
    x = model.G(ze)
    d = model.D(x)
    model.Df.detach = False  # let Df's gradient reach D too, so D's parameters are checked by every head
    loss = model.Ce(ze).sum() + model.Dp(d).sum() + model.D2(x).sum() + model.Cx(model.F(d)).sum() \
        + model.Df(ze, d).sum()
    loss.backward()
    model.Df.detach = True
    dead = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead, dead
    for m in model.modules():
        if hasattr(m, "gamma"):
            m.gamma.data.zero_()


def test_df_detaches_shared_features():
    """With shared features, Df's loss does not reach D."""
    m = GGAN(ModelConfig.preset("tiny"))
    x = torch.randn(B, 1, *m.cfg.spec_shape)
    z, _ = m.sample_latent(B)
    m.Df(z, m.D(x)).sum().backward()
    assert all(p.grad is None for p in m.D.parameters())


def test_df_own_trunk_option():
    """df_own_trunk gives Df a trunk of its own that reads x (Table XVII)."""
    m = GGAN(ModelConfig.preset("tiny", df_own_trunk=True))
    x = torch.randn(B, 1, *m.cfg.spec_shape)
    z, _ = m.sample_latent(B)
    assert m.Df(z, None, x).shape == (B,)
    assert m.count_params()["Df"] > GGAN(ModelConfig.preset("tiny")).count_params()["Df"]


def test_phase_modules_partition_parameters():
    """The contract's phases cover every parameter of the container exactly once."""
    m = GGAN(ModelConfig.preset("tiny"))
    phases = m.phase_modules()
    assert set(phases) == {"D1", "D2", "Df", "ECG", "FC"}
    assert [type(x).__name__ for x in phases["D1"]] == ["DTrunk", "DPrime"]
    ids = [id(p) for mods in phases.values() for mod in mods for p in mod.parameters()]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in m.parameters()}


def _linear_layers(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_spectral_norm_placement():
    """SN on every conv/dense of G, D, D', D2, Df; none in E, Ce, Cx, F (design note section 2)."""
    m = GGAN(ModelConfig.preset("tiny"))
    for name in ("G", "D", "Dp", "D2", "Df"):
        layers = _linear_layers(getattr(m, name))
        assert layers and all(has_sn(layer) for layer in layers), name
    for name in ("E", "Ce", "Cx", "F"):
        layers = _linear_layers(getattr(m, name))
        assert layers and not any(has_sn(layer) for layer in layers), name
    g = GGAN(ModelConfig.preset("tiny", g_sn_io=False)).G
    assert not has_sn(g.linear) and not has_sn(g.out_conv) and has_sn(g.blocks[0].conv1)


def test_batchnorm_in_g_only():
    """G uses (unconditional) BatchNorm; the discriminators use none."""
    m = GGAN(ModelConfig.preset("tiny"))
    assert any(isinstance(x, nn.BatchNorm2d) for x in m.G.modules())
    for name in ("D", "Dp", "D2", "Df", "E", "F"):
        assert not any(isinstance(x, nn.modules.batchnorm._BatchNorm) for x in getattr(m, name).modules())


PAPER_G = [("Input z", "128"), ("Dense", "256 × 4 × 2"), ("ResBlock", "256 × 8 × 4"), ("ResBlock", "256 × 16 × 8"),
           ("ResBlock", "256 × 32 × 16"), ("ResBlock", "256 × 64 × 32"), ("ResBlock", "256 × 128 × 64"),
           ("Non-local block", "256 × 128 × 64"), ("ResBlock", "16 × 256 × 128")]
PAPER_D = [("Input Spectrogram", "1 × 256 × 128"), ("ResBlock", "16 × 128 × 64"),
           ("Non-local block", "16 × 128 × 64"), ("ResBlock", "16 × 64 × 32"), ("ResBlock", "32 × 32 × 16"),
           ("ResBlock", "64 × 16 × 8"), ("ResBlock", "128 × 8 × 4"), ("ResBlock", "256 × 4 × 2"),
           ("ResBlock (No Shortcut)", "256 × 4 × 2"), ("ReLU", "256 × 4 × 2"), ("Global sum pooling", "256 × 1 × 1")]


def test_paper_arch_tables():
    """The paper preset's tables equal Tables X and XIV (ch = 16; resolutions and channels)."""
    cfg = ModelConfig.preset("paper")
    g_rows = arch_table(cfg, "G")
    assert [(r["layer"], r["output"]) for r in g_rows[:len(PAPER_G)]] == PAPER_G
    assert [r["output"] for r in g_rows[-2:]] == ["1 × 256 × 128"] * 2  # conv -> 1 channel, tanh
    assert [(r["layer"], r["output"]) for r in arch_table(cfg, "D")] == PAPER_D
    # The table's 2nd D block marks no resampling but halves the size: it downsamples (design note).
    assert d_arch(cfg)["blocks"][1]["downsample"] and cfg.feat_dim == 256
    assert all(b["upsample"] for b in g_arch(cfg)["blocks"])
    assert "Non-local block" in format_table(g_rows)


def test_arch_adapts_to_shapes():
    """Other spec shapes get as many levels as needed; bad shapes and attention levels are refused."""
    cfg = ModelConfig(spec_shape=(128, 64), g_attn=(64,), d_attn=(64,))
    assert len(g_arch(cfg)["blocks"]) == 5 and d_arch(cfg)["out_res"] == (4, 2)
    with pytest.raises(ValueError):
        ModelConfig(spec_shape=(96, 48))
    with pytest.raises(ValueError):
        ModelConfig(spec_shape=(64, 32))  # default attention at height 128 does not exist there
    with pytest.raises(ValueError):
        ModelConfig(g_channels=(16, 16))


@pytest.fixture(scope="module")
def paper_model():
    """The paper-preset GGAN in eval mode (built once: ~12 M parameters)."""
    torch.manual_seed(0)
    return GGAN(ModelConfig.preset("paper")).eval()


def test_paper_forward_batch1(paper_model):
    """One forward of G and D at the paper preset (256 x 128, ch 16), batch 1, on CPU (~2 s idle)."""
    z, c = paper_model.sample_latent(1)
    t = time.perf_counter()
    with torch.no_grad():
        x = paper_model.generate(z, c)
        d = paper_model.D(x)
    print(f"paper G+D forward, batch 1: {time.perf_counter() - t:.2f} s")
    assert x.shape == (1, 1, 256, 128) and d.shape == (1, 256)


PAPER_PARAMS = {"E": 50_816, "Ce": 34_314, "G": 6_625_026, "D": 2_407_905, "Dp": 49_537, "D2": 2_408_162,
                "F": 164_480, "Cx": 34_314, "Df": 49_409}


def test_paper_param_counts(paper_model):
    """Parameter counts of the paper preset (recorded; printed with -s)."""
    counts = paper_model.count_params()
    print("paper preset parameters:", counts, "total", sum(counts.values()))
    assert counts == PAPER_PARAMS


def test_channels_last_model():
    """The container runs in channels_last and gives the same result."""
    torch.manual_seed(0)
    m = GGAN(ModelConfig.preset("tiny")).eval()
    z, c = m.sample_latent(B)
    with torch.no_grad():
        ref = m.D(m.generate(z, c))
        m.to_channels_last()
        out = m.D(m.generate(z, c))
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_sample_latent():
    """z follows cfg.z_dist, c covers the classes, a torch.Generator makes it reproducible."""
    cfg = ModelConfig.preset("tiny", z_dist="uniform")
    z, c = sample_latent(cfg, 2000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (2000, cfg.z_dim) and z.min() >= -1 and z.max() <= 1
    assert c.dtype == torch.long and set(c.tolist()) == set(range(cfg.n_classes))
    z2, c2 = sample_latent(cfg, 2000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, z2) and torch.equal(c, c2)
    zn, _ = sample_latent(ModelConfig.preset("tiny"), 4000)
    assert zn.min() < -1 and abs(zn.std().item() - 1) < 0.05


def test_config_roundtrip_and_presets():
    """Configs survive JSON; presets and overrides; bad choices are refused."""
    for name, cfg in PRESETS.items():
        assert ModelConfig.from_json(json.dumps(json.loads(cfg.to_json()))) == cfg, name
    assert ModelConfig.preset("paper") == ModelConfig()
    assert ModelConfig.preset("small", ch=8).ch == 8
    with pytest.raises(ValueError):
        ModelConfig(z_dist="gamma")
    with pytest.raises(KeyError):
        ModelConfig.from_dict({"nope": 1})
    with pytest.raises(KeyError):
        ModelConfig.preset("huge")


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_baseline_shapes(preset):
    """Baselines: supervised/unsupervised BigGAN, ALI encoder + joint D, latent classifier, CNN."""
    torch.manual_seed(0)
    cfg = ModelConfig.preset(preset)
    z = torch.randn(B, cfg.z_dim)
    y = torch.tensor([0, 1, 2])
    x = ConditionalGenerator(cfg=cfg)(z, y)
    assert x.shape == (B, 1, *cfg.spec_shape)
    assert ProjectionDiscriminator(cfg=cfg)(x, y).shape == (B,)
    xu = UnconditionalGenerator(cfg=cfg)(z)
    assert xu.shape == (B, 1, *cfg.spec_shape)
    assert UnconditionalDiscriminator(cfg=cfg)(xu).shape == (B,)
    zx = ALIEncoder(cfg=cfg)(xu)
    assert zx.shape == (B, cfg.z_dim)
    assert ALIJointDiscriminator(cfg=cfg)(zx, x=xu).shape == (B,)
    assert LatentClassifier(cfg=cfg)(zx).shape == (B, cfg.n_classes)
    cnn = CNNBaseline(cfg=cfg)
    assert cnn(xu).shape == (B, cfg.n_classes) and cnn.features(xu).shape == (B, cfg.z_dim)


def test_conditional_generator_depends_on_class():
    """The supervised BigGAN G gives different samples for different classes from the same z."""
    torch.manual_seed(0)
    cfg = ModelConfig.preset("tiny")
    g = ConditionalGenerator(cfg=cfg)
    z = torch.randn(4, cfg.z_dim)
    assert not torch.allclose(g(z, torch.zeros(4, dtype=torch.long)), g(z, torch.full((4,), 3)))


def test_projection_uses_class():
    """The projection D's score depends on y."""
    torch.manual_seed(0)
    cfg = ModelConfig.preset("tiny")
    d = ProjectionDiscriminator(cfg=cfg)
    x = torch.randn(2, 1, *cfg.spec_shape)
    assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([5, 5])))
    assert has_sn(d.embed) and has_sn(d.out)


def test_flops_rewrites_cheaper():
    """The exact rewrites remove FLOPs (counted by torch.utils.flop_counter) without changing shapes."""
    fast = ModelConfig.preset("small")
    plain = fast.replace(g_sc_before_up=False, g_upconv_shuffle=False, d_sc_pool_first=False,
                         d_conv_pool_fused=False)
    s_fast, s_plain = model_summary(fast), model_summary(plain)
    assert s_fast["G_flops_per_sample"] < 0.8 * s_plain["G_flops_per_sample"]
    assert s_fast["D_flops_per_sample"] < 0.8 * s_plain["D_flops_per_sample"]
    assert s_fast["G"] == s_plain["G"]
    lin = nn.Linear(3, 5)
    assert count_flops(lin, torch.zeros(2, 3)) == 2 * 2 * 3 * 5


def test_design_note_switches_build():
    """The trunk options (no skip at all in the last block, no 2nd-block downsampling) build and run."""
    for kw in (dict(d_last_skip="none"), dict(d_second_block_down=False), dict(attn_pool=False)):
        cfg = ModelConfig.preset("tiny", **kw)
        m = GGAN(cfg)
        x = torch.randn(2, 1, *cfg.spec_shape)
        assert m.D(x).shape == (2, cfg.feat_dim) and m.D2(x).shape == (2,), kw
    last = GGAN(ModelConfig.preset("tiny", d_last_skip="none")).D.blocks[-1]
    assert last.skip == "none" and last.conv_sc is None
    assert sum(b["attention"] for b in d_arch(ModelConfig(d_second_block_down=False))["blocks"]) == 1
