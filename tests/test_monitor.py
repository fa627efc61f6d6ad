"""Training monitor on the tiny preset: eval log, snapshots, best-checkpoint rule, early stopping, CLI."""
import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from ggan_lib.audio import AudioConfig  # noqa: E402
from ggan_lib.config import EvalConfig, ModelConfig  # noqa: E402
from ggan_lib.io import checkpoint as ckpt  # noqa: E402
from ggan_lib.io.logs import read_log  # noqa: E402
from ggan_lib.metrics import ClassifierConfig, DigitClassifier, FeatureStats  # noqa: E402
from ggan_lib.metrics.monitor import (  # noqa: E402
    EVAL_KEYS,
    Monitor,
    MonitorConfig,
    is_improvement,
    list_snapshots,
    postfix,
    read_evals,
)
from ggan_lib.train.ggan import TrainConfig, Trainer  # noqa: E402

MCFG = ModelConfig.preset("tiny")
REPO = Path(__file__).resolve().parents[1]
N_ITERS = 4


def data(n=24, nl=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 1, *MCFG.spec_shape, generator=g) * 2 - 1
    return X, X[:nl], torch.arange(nl) % MCFG.n_classes


def tiny_classifier():
    """A random 2-layer, 4-channel digit classifier: the real recipe's code path in milliseconds."""
    torch.manual_seed(0)
    return DigitClassifier(ClassifierConfig(channels=4, n_mels=32, n_layers=2)).eval()


def make_monitor(out_dir=None, **kw):
    ev = EvalConfig.preset("small", n_splits=2)
    cfg = MonitorConfig(**{"every": 1, "n_clips": 20, "eval_cfg": ev, "n_grid": 6, "n_audio": 3, **kw})
    X, _, _ = data()
    stats = FeatureStats(np.zeros(4), np.eye(4), 100)
    return Monitor(cfg, tiny_classifier(), stats, X[:10], torch.arange(10) % 10,
                   audio_cfg=AudioConfig(spec_shape=MCFG.spec_shape), out_dir=out_dir)


def make_trainer(out_dir=None, monitor=None):
    cfg = TrainConfig.preset("tiny", progress=False, tensorboard=False)
    return Trainer(MCFG, cfg, *data(), out_dir=out_dir, monitor=monitor)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run with evaluation after every iteration; returns its folder and the trainer."""
    out = tmp_path_factory.mktemp("run")
    torch.set_num_threads(1)
    tr = make_trainer(out, make_monitor(out))
    tr.train(N_ITERS)
    tr.close()
    return out, tr


def test_every_evaluation_is_logged(run):
    out, _ = run
    ev = read_evals(out / "log.jsonl")
    assert ev["iter"] == list(range(1, N_ITERS + 1))
    for k in EVAL_KEYS:
        assert len(ev[f"eval/{k}"]) == N_ITERS
    for k in ("is", "fid", "acc", "class_agree", "spec_mean", "diversity"):
        vals = ev[f"eval/{k}"]
        assert all(v is not None and np.isfinite(v) for v in vals), (k, vals)
    assert all(1.0 <= v <= 2.0 + 1e-9 for v in ev["eval/is"])  # IS of 2 splits of 10 clips is at most 10, here ~1
    assert all(0.0 <= v <= 1.0 for v in ev["eval/acc"] + ev["eval/class_agree"])
    # the loss lines are still there, one per iteration
    log = read_log(out / "log.jsonl")
    assert [i for i, d1 in zip(log["iter"], log["d1"]) if d1 is not None] == list(range(1, N_ITERS + 1))


def test_snapshots_hold_grid_and_audio(run):
    out, _ = run
    snaps = list_snapshots(out)
    assert [s.name for s in snaps] == [f"it{i:06d}" for i in range(1, N_ITERS + 1)]
    for s in snaps:
        assert (s / "grid.png").stat().st_size > 1000
        wavs = sorted(s.glob("*.wav"))
        assert [w.name for w in wavs] == ["00_c0.wav", "01_c1.wav", "02_c2.wav"]
        import soundfile as sf
        wave, sr = sf.read(wavs[0])
        assert sr == 16000 and wave.shape == (16384,) and np.abs(wave).max() > 0.5  # peak-normalised, not silent
        assert np.load(s / "specs.npy").shape == (6, *MCFG.spec_shape)


def test_best_checkpoint_follows_the_rule(run):
    out, tr = run
    fids = read_evals(out / "log.jsonl")["eval/fid"]
    best_i = int(np.argmin(fids))  # first minimum: a tie is no improvement
    info = json.loads((out / "best.json").read_text())
    assert info["best_by"] == "fid" and info["iteration"] == best_i + 1
    assert info["value"] == pytest.approx(fids[best_i])
    best = ckpt.load_checkpoint(out / "best.pt")  # weights_only load
    assert best["iteration"] == best_i + 1 and best["eval"]["eval/fid"] == pytest.approx(fids[best_i])
    latest = ckpt.load_checkpoint(out / "checkpoint.pt")
    assert latest["iteration"] == N_ITERS  # the latest is saved at every evaluation
    assert tr.monitor.bad_evals == N_ITERS - 1 - best_i
    assert latest["monitor"]["best_iter"] == best_i + 1
    # the best checkpoint resumes like any other, best rule included
    mon = make_monitor()
    tr2 = Trainer.resume(out / "best.pt", *data(), train_overrides={"progress": False, "tensorboard": False},
                         monitor=mon)
    assert tr2.iteration == best_i + 1 and mon.best == pytest.approx(fids[best_i]) and mon.bad_evals == 0


def test_rule_directions_and_early_stop():
    assert is_improvement(3.0, None, "fid") and is_improvement(2.0, 3.0, "fid") and not is_improvement(3.0, 3.0, "fid")
    assert is_improvement(0.6, 0.5, "acc") and not is_improvement(0.4, 0.5, "is")
    assert not is_improvement(float("nan"), None, "fid") and not is_improvement(1.0, None, "none")
    assert not is_improvement(2.95, 3.0, "fid", min_delta=0.1)
    mon = make_monitor(best_by="acc", patience=2)
    seq = [0.2, 0.5, 0.4, 0.5, 0.6, 0.6, 0.1]
    flags = [mon.update(i, {"eval/acc": a}) for i, a in enumerate(seq, 1)]
    assert flags == [True, True, False, False, True, False, False]
    assert mon.best == 0.6 and mon.best_iter == 5 and mon.should_stop


def test_stop_after_no_improvement(tmp_path, monkeypatch):
    mon = make_monitor(tmp_path, best_by="is", patience=2, every=2)
    scores = iter([1.5, 1.4, 1.3, 2.0])
    monkeypatch.setattr(mon, "evaluate", lambda trainer: {"eval/is": next(scores)})
    tr = make_trainer(tmp_path, mon)
    tr.train(20)
    assert tr.iteration == 6  # evaluations at 2 (best), 4, 6: two without improvement
    assert json.loads((tmp_path / "best.json").read_text())["iteration"] == 2
    assert postfix({"eval/is": 1.234, "eval/fid": float("nan"), "eval/acc": 0.5}) == {"IS": "1.23", "acc": "0.500"}
    assert mon.postfix({"eval/fid": 12.34}) == {"FID": "12.3"}


def test_evaluation_does_not_change_training():
    plain, watched = make_trainer(), make_trainer(monitor=make_monitor())
    for _ in range(2):
        plain.step()
        watched.step()
    a, b = plain.model.state_dict(), watched.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the monitor sampled the EMA, which re-estimated its standing BatchNorm statistics (seeded codes):
    # sampling the unwatched run once does the same, and then nothing differs
    plain.sample(4)
    ea, eb = plain.ema_G.state_dict(), watched.ema_G.state_dict()
    assert all(torch.equal(ea[k], eb[k]) for k in ea)


def test_plot_training_and_show_snapshots(run):
    from ggan_lib.book.viz import plot_training, show_snapshots
    out, _ = run
    fig = plot_training(out, smooth=1)
    assert len(fig.axes) == 5  # losses, IS, FID, acc, class agreement
    assert show_snapshots(out, n_audio=2) == ["it000001", "it000003", f"it{N_ITERS:06d}"]


def test_cli_evaluates_and_keeps_best(tmp_path):
    from ggan_lib.metrics import save_classifier
    out = tmp_path / "cli"
    clf = save_classifier(tiny_classifier(), tmp_path / "clf.pt")
    cmd = [sys.executable, "-m", "ggan_lib.cli.train", "--preset", "tiny", "--data", "synthetic", "--iters", "3",
           "--out", str(out), "--threads", "1", "--progress", "false", "--tensorboard", "false",
           "--eval-every", "1", "--eval-clips", "10", "--best-by", "is", "--stop-after-no-improvement", "5",
           "--metric-classifier", str(clf)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    ev = read_evals(out / "log.jsonl")
    assert ev["iter"] == [1, 2, 3] and all(v is not None for v in ev["eval/is"])
    assert (out / "best.pt").exists() and (out / "checkpoint.pt").exists()
    assert "best.pt: eval/is=" in r.stderr


def test_run_summary_is_small_and_plottable(run, tmp_path):
    from ggan_lib.book.viz import plot_training
    from ggan_lib.metrics.monitor import copy_run_summary
    out, _ = run
    dest = copy_run_summary(out, tmp_path / "summary", n_snapshots=2, n_audio=1)
    names = [s.name for s in list_snapshots(dest)]
    best = json.loads((out / "best.json").read_text())["iteration"]
    assert {"it000001", f"it{N_ITERS:06d}", f"it{best:06d}"} == set(names)
    assert not list(dest.rglob("*.pt")) and len(list(dest.rglob("*.wav"))) == len(names)
    assert len(plot_training(dest, smooth=1).axes) == 5
