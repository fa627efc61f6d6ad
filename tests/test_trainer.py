"""Algorithm 1 trainer on the tiny preset: phase ownership, exact resume, NaN stop, log, CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ggan_lib import losses
from ggan_lib.config import ModelConfig
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.io.logs import read_log
from ggan_lib.model.latent import sample_z
from ggan_lib.train import baselines as bt
from ggan_lib.train import hooks
from ggan_lib.train.engine import PhaseEngine
from ggan_lib.train.ggan import NETS, RUNTIME_FIELDS, NonFiniteLossError, TrainConfig, Trainer, configure_cuda_backends

MCFG = ModelConfig.preset("tiny")
REPO = Path(__file__).resolve().parents[1]


def data(n=24, nl=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, *MCFG.spec_shape, generator=g) * 2 - 1
    return X, X[:nl], torch.arange(nl) % MCFG.n_classes


def make(out_dir=None, **kw):
    cfg = TrainConfig.preset("tiny", progress=False, tensorboard=False, **kw)
    return Trainer(MCFG, cfg, *data(), out_dir=out_dir)


def snapshot(tr):
    return {k: v.detach().clone() for k, v in tr.model.state_dict().items()}


def changed(before, tr):
    after = tr.model.state_dict()
    return {k for k, v in before.items() if not torch.equal(v, after[k])}


def owned_keys(tr, phase):
    names = {n for n in NETS if any(getattr(tr.model, n) is m for m in tr.model.phase_modules()[phase])}
    return names, {k for k in tr.model.state_dict() if k.split(".")[0] in names}


def drop_sec(out):
    return {k: v for k, v in out.items() if k != "sec"}


def trainable_keys(tr, names):
    return {f"{n}.{k}" for n in names for k, p in getattr(tr.model, n).named_parameters()}


# With as many real as fake scores, all inside the hinge margin, d/db of a discriminator's last
# bias is (#fake - #real)/m = 0: those biases legitimately stay put in a short run.
def hinge_biases(tr):
    """The output bias of D', D2 and Df (their last bias parameter)."""
    return {f"{n}.{[k for k, _ in getattr(tr.model, n).named_parameters() if k.endswith('bias')][-1]}"
            for n in ("Dp", "D2", "Df")}


@pytest.mark.parametrize("phase", ["D1", "D2", "Df", "ECG", "FC"])
def test_each_phase_changes_only_what_it_owns(phase):
    tr = make()
    before = snapshot(tr)
    tr.run_phase(phase)
    names, mine = owned_keys(tr, phase)
    diff = changed(before, tr)
    assert diff <= mine, f"{phase} changed tensors it does not own: {sorted(diff - mine)[:5]}"
    # every owned parameter with a non-zero gradient moved; borrowed ones built no gradient
    # (zero gradients exist: attention weights behind gamma = 0 at init, the hinge biases above)
    grads = {f"{n}.{k}": p.grad for n in NETS for k, p in getattr(tr.model, n).named_parameters()}
    moved = {k for k, g in grads.items() if g is not None and g.abs().sum() > 0}
    assert moved and moved <= diff
    assert all(g is None for k, g in grads.items() if k not in mine)


def test_whole_iteration_changes_every_parameter():
    tr = make()
    before = snapshot(tr)
    out = tr.step()
    assert out["g_forwards"] == tr.cfg.k_disc + 2  # one shared by D1/D2/Df per k-step, ECG, FC
    tr.step()  # G's attention weights first get a gradient once its gamma has left 0
    missing = trainable_keys(tr, NETS) - changed(before, tr)
    assert missing <= hinge_biases(tr), sorted(missing)[:5]
    assert tr.iteration == 2


def test_resume_is_bit_exact(tmp_path):
    straight = make()
    outs = [straight.step() for _ in range(4)]
    first = make()
    first.step(), first.step()
    path = first.save(tmp_path / "ck.pt")
    resumed = Trainer.resume(path, *data(), train_overrides={"progress": False, "tensorboard": False})
    outs_r = [resumed.step() for _ in range(2)]
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ea, eb = straight.ema_G.state_dict(), resumed.ema_G.state_dict()
    assert all(torch.equal(ea[k], eb[k]) for k in ea)
    assert [drop_sec(o) for o in outs[2:]] == [drop_sec(o) for o in outs_r]
    assert resumed.iteration == 4


def test_nan_loss_stops_and_keeps_checkpoint(tmp_path, monkeypatch):
    tr = make(out_dir=tmp_path, ckpt_every=1)
    tr.step()
    good = (tmp_path / "checkpoint.pt").read_bytes()
    monkeypatch.setattr(losses, "d2_loss", lambda r, f: torch.tensor(float("nan")))
    with pytest.raises(NonFiniteLossError, match=r"'d2' is nan at iteration 1 in phase D2"):
        tr.step()
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_nan_batch_names_first_loss():
    X, Xl, yl = data()
    X[:] = float("nan")
    tr = Trainer(MCFG, TrainConfig.preset("tiny", progress=False), X, Xl, yl)
    with pytest.raises(NonFiniteLossError, match=r"'d1' is nan at iteration 0 in phase D1"):
        tr.step()


def test_jsonl_log_keys(tmp_path):
    tr = make(out_dir=tmp_path)
    tr.train(2)
    tr.close()
    log = read_log(tmp_path / "log.jsonl")
    want = {"iter", "d1", "d1_cl", "d2", "df", "ecg", "ec", "g1", "g2", "gc", "mg", "fc", "cl", "cg", "fg",
            "g_forwards", "sec"}
    assert want <= set(log), want - set(log)
    assert log["iter"] == [1, 2] and all(isinstance(v, float) for v in log["d1"])


def test_checkpoint_mismatch_names_both(tmp_path):
    tr = make()
    path = tr.save(tmp_path / "ck.pt")
    other = Trainer(MCFG.replace(mg_alpha=1e-3), TrainConfig.preset("tiny", progress=False), *data())
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"mg_alpha: checkpoint=0.0001 current=0.001"):
        other.load(path)
    state = ckpt.load_checkpoint(path)
    key = "Cx." + next(iter(tr.model.Cx.state_dict()))
    state["nets"][key] = torch.zeros(3, 3)
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"checkpoint \(3, 3\) vs current"):
        tr.load_state_dict(state)
    assert state["format"] == ckpt.FORMAT and json.loads(state["train_cfg"])["batch_size"] == 4


def test_cli_tiny_synthetic(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "ggan_lib.cli.train", "--preset", "tiny", "--iters", "2", "--data", "synthetic",
           "--out", str(tmp_path), "--progress", "false"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert read_log(tmp_path / "log.jsonl")["iter"] == [1, 2]
    r = subprocess.run(cmd[:-4] + ["--out", str(tmp_path), "--resume", "auto", "--progress", "false"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert ckpt.load_checkpoint(tmp_path / "checkpoint.pt")["iteration"] == 4


@pytest.mark.parametrize("model_kw,train_kw", [
    (dict(df_own_trunk=True, z_dist="uniform"), dict(df_fresh_features=False)),
    (dict(mg_reduction="mean_of_ratios", cl_grad_through_f_cx=False), dict(equal_lrs=True)),
    ({}, dict(amp="bf16", channels_last=True, ema=False, fc_reuse_fakes=True)),
])
def test_options_run_and_keep_ownership(model_kw, train_kw):
    mcfg = MCFG.replace(**model_kw)
    tr = Trainer(mcfg, TrainConfig.preset("tiny", progress=False, **train_kw), *data())
    before = snapshot(tr)
    for phase in ("D1", "Df", "FC"):
        tr.run_phase(phase)
    mine = set().union(*(owned_keys(tr, p)[1] for p in ("D1", "Df", "FC")))
    assert changed(before, tr) <= mine
    out = tr.step()
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert out["g_forwards"] == tr.cfg.k_disc + (1 if train_kw.get("fc_reuse_fakes") else 2)
    if train_kw.get("equal_lrs"):
        assert {p.opt.param_groups[0]["lr"] for p in tr.phases.values()} == {tr.cfg.lr_d}


@pytest.mark.parametrize("through", [True, False])
def test_cl_term_reaches_d_only_when_configured(through, monkeypatch):
    tr = Trainer(MCFG.replace(cl_grad_through_f_cx=through), TrainConfig.preset("tiny", progress=False), *data())
    # keep only eq. 11's Cl term (0 * real keeps a graph when Cl is detached)
    monkeypatch.setattr(losses, "d1_loss", lambda real, fake, cl: cl + 0 * real.sum())
    tr.run_phase("D1")
    d_grads = [p.grad for p in tr.model.D.parameters()]
    reached = any(g is not None and g.abs().sum() > 0 for g in d_grads)
    assert reached == through
    assert all(p.grad is None for n in ("F", "Cx") for p in getattr(tr.model, n).parameters())  # frozen


def test_ecg_uses_two_latents_with_the_same_condition(monkeypatch):
    tr = make()
    seen = {}
    real_ec, real_mg = losses.ec_loss, losses.mg_loss
    monkeypatch.setattr(losses, "ec_loss", lambda lg, c: seen.setdefault("c", c) is not None and real_ec(lg, c))
    monkeypatch.setattr(losses, "mg_loss", lambda *a: seen.setdefault("mg", a) is not None and real_mg(*a))
    tr.run_phase("ECG")
    m = tr.m
    assert torch.equal(seen["c"][:m], seen["c"][m:]) and len(seen["c"]) == 2 * m
    dr1, dr2, df1, df2 = seen["mg"][:4]
    assert not dr1.requires_grad and df1.requires_grad and not torch.equal(df1, df2)


def test_sample_shape_and_range():
    tr = make()
    tr.step()
    x = tr.sample(6)
    assert x.shape == (6, 1, *MCFG.spec_shape) and x.abs().max() <= 1
    assert torch.equal(x, tr.sample(6))  # seeded


@pytest.fixture
def restore_backend_flags():
    """Put the process-wide cuDNN / cuBLAS flags back after a test that sets them."""
    cudnn, mm = torch.backends.cudnn, torch.backends.cuda.matmul
    saved = (cudnn.benchmark, cudnn.allow_tf32, mm.allow_tf32)
    cudnn.benchmark = cudnn.allow_tf32 = mm.allow_tf32 = False
    yield
    cudnn.benchmark, cudnn.allow_tf32, mm.allow_tf32 = saved


def test_cuda_backend_flags(restore_backend_flags):
    """cuDNN autotuning and TF32 are set from the config on CUDA only, and are resume-neutral fields."""
    assert configure_cuda_backends(TrainConfig(), torch.device("cpu")) == {}
    assert not torch.backends.cudnn.benchmark and not torch.backends.cuda.matmul.allow_tf32
    flags = configure_cuda_backends(TrainConfig(), torch.device("cuda"))
    assert flags == {"cudnn.benchmark": True, "cudnn.allow_tf32": True, "cuda.matmul.allow_tf32": True}
    assert torch.backends.cudnn.benchmark and torch.backends.cudnn.allow_tf32
    assert torch.backends.cuda.matmul.allow_tf32
    configure_cuda_backends(TrainConfig(cudnn_benchmark=False, tf32=False), torch.device("cuda"))
    assert not torch.backends.cudnn.benchmark and not torch.backends.cuda.matmul.allow_tf32
    assert {"cudnn_benchmark", "tf32"} <= RUNTIME_FIELDS
    # the baseline trainers take the same two fields
    assert configure_cuda_backends(bt.BaselineConfig(tf32=False), torch.device("cuda"))["cuda.matmul.allow_tf32"] is False
    assert {"cudnn_benchmark", "tf32"} <= bt.RUNTIME_FIELDS


def test_two_trainers_stepped_identically_are_identical():
    """Same configs and data: bit-identical losses, networks, EMA, optimiser states and data generators;
    and one driven phase by phase in Algorithm 1's order (k x (D1, D2, Df on shared fakes), ECG, FC) agrees."""
    a, b, c = make(), make(), make()
    outs_a = [drop_sec(a.step()) for _ in range(3)]
    assert outs_a == [drop_sec(b.step()) for _ in range(3)]
    for _ in range(3):  # Algorithm 1 by hand, through the engine's phase step
        for _ in range(c.cfg.k_disc):
            batch = c.sample_batch()
            fakes = c._fakes(batch)
            for name in ("D1", "D2", "Df"):
                c.run_step(c.phases[name], batch, *fakes)
        for name in ("ECG", "FC"):
            c.run_step(c.phases[name], c.sample_batch())
        c._update_ema()
        c.iteration += 1
    for other in (b, c):
        sa, so = a.state_dict(), other.state_dict()
        assert all(torch.equal(sa["nets"][k], so["nets"][k]) for k in sa["nets"])
        assert all(torch.equal(sa["ema_G"][k], so["ema_G"][k]) for k in sa["ema_G"])
        for name in a.phases:
            for ta, to in zip(sa["opts"][name]["state"].values(), so["opts"][name]["state"].values()):
                assert all(torch.equal(ta[k], to[k]) for k in ta)
        assert torch.equal(sa["data_rng"][0], so["data_rng"][0])


def test_phases_own_the_model_contract():
    """The engine's phases own exactly GGAN.phase_modules(), and each optimiser holds exactly their parameters."""
    tr = make()
    assert isinstance(tr, PhaseEngine) and list(tr.phases) == ["D1", "D2", "Df", "ECG", "FC"]
    for name, mods in tr.model.phase_modules().items():
        phase = tr.phases[name]
        assert len(phase.modules) == len(mods) and all(m is o for m, o in zip(phase.modules, mods))
        params = [p for m in mods for p in m.parameters()]
        assert [id(p) for p in phase.opt.param_groups[0]["params"]] == [id(p) for p in params]


def test_borrowed_networks_keep_their_state_during_a_phase():
    """Borrowed: requires_grad off, eval (no SN power step), BN on batch statistics without running stats."""
    tr = make()
    tr.set_modes(tr.phases["D1"].modules)
    assert all(p.requires_grad for n in ("D", "Dp") for p in getattr(tr.model, n).parameters())
    G = tr.model.G
    assert not G.training and not any(p.requires_grad for p in G.parameters())
    assert tr._bns["G"] and all(bn.training and not bn.track_running_stats for bn in tr._bns["G"])
    tr.set_modes(tr.phases["ECG"].modules)
    assert G.training and all(bn.training and bn.track_running_stats for bn in tr._bns["G"])


def _latents_seen(tr):
    """The z of every E(z, c) call on tr's encoder."""
    seen = []
    tr.model.E.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    return seen


@pytest.mark.parametrize("z_dist", ["normal", "uniform"])
def test_latents_follow_the_prior_in_batches_and_samples(z_dist):
    """Training batches and Trainer.sample draw z through ggan_lib.model.latent: N(0, I) or U(-1, 1); the batch
    stream is the pre-sampler one (z first, then c, from the trainer's generator seeded seed * 1000 + rank)."""
    mcfg = MCFG.replace(z_dist=z_dist)
    tr = Trainer(mcfg, TrainConfig.preset("tiny", progress=False, tensorboard=False), *data())
    g = torch.Generator().manual_seed(tr.cfg.seed * 1000)
    b = tr.sample_batch()
    z = torch.randn(2 * tr.m, mcfg.z_dim, generator=g) if z_dist == "normal" else \
        torch.rand(2 * tr.m, mcfg.z_dim, generator=g) * 2 - 1
    assert torch.equal(b.z, z) and torch.equal(b.c, torch.randint(mcfg.n_classes, (tr.m,), generator=g))
    seen = _latents_seen(tr)
    tr.step()
    x = tr.sample(300, seed=3)
    assert torch.equal(seen[-1], sample_z(mcfg, 300, generator=torch.Generator().manual_seed(3)))
    assert x.shape == (300, 1, *mcfg.spec_shape)
    train_z, sample_zs = torch.cat(seen[:-1]), seen[-1]
    for zz in (train_z, sample_zs):  # Gaussian draws leave [-1, 1]; uniform ones never do
        assert (zz.abs().max() <= 1) == (z_dist == "uniform")
    if z_dist == "uniform":
        assert abs(sample_zs.std().item() - 3 ** -0.5) < 0.05  # U(-1, 1): std 1/sqrt(3), not 1


class StubHook:
    """A minimal evaluation hook (no ggan_lib.metrics): evaluates every 2 iterations, stops after 2 evaluations."""

    def __init__(self, with_postfix):
        self.calls, self.best, self.best_iter, self.bad_evals = [], None, 0, 0
        if with_postfix:
            self.postfix = lambda rec: {"score": f"{rec['eval/score']:.1f}"}

    def due(self, iteration):
        return iteration % 2 == 0

    def evaluate(self, trainer):
        self.calls.append(trainer.iteration)
        return {"eval/score": float(trainer.iteration)}

    def update(self, iteration, rec):
        self.bad_evals += 1
        return False

    @property
    def should_stop(self):
        return len(self.calls) >= 2

    def snapshot_media(self, iteration):
        return {}, {}, 16000

    def write_best_record(self, iteration, rec, path):
        pass

    def state_dict(self):
        return {"calls": list(self.calls)}

    def load_state_dict(self, state):
        self.calls = list(state["calls"])


@pytest.mark.parametrize("with_postfix", [True, False])
def test_trainer_takes_any_evaluation_hook(with_postfix, tmp_path, capsys):
    hook = StubHook(with_postfix)
    assert isinstance(hook, hooks.EvalHook)
    assert hooks.postfix(hook, {"eval/score": 2.0}) == ({"score": "2.0"} if with_postfix else {})
    tr = Trainer(MCFG, TrainConfig.preset("tiny", progress=False, tensorboard=False), *data(), out_dir=tmp_path,
                 monitor=hook)
    tr.train(10)
    assert hook.calls == [2, 4] and tr.iteration == 4 and tr.last_eval == {"eval/score": 4.0}
    assert "early stop at iteration 4" in capsys.readouterr().out
    assert ckpt.load_checkpoint(tmp_path / "checkpoint.pt")["monitor"] == {"calls": [2, 4]}
