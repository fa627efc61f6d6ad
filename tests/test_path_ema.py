"""The scored classifier path's Polyak average (issue 13): its update, what each trainer scores, checkpoints."""
import json

import pytest
import torch

from ggan_lib.config import BaselineConfig, ModelConfig, TrainConfig
from ggan_lib.data import synthetic_data
from ggan_lib.experiments.pretrained import export_state
from ggan_lib.experiments.zoo import from_trainer, ggan_from_weights
from ggan_lib.io import checkpoint as ckpt
from ggan_lib.metrics.accuracy import ggan_accuracy, predict_logits, scored_classifier
from ggan_lib.train.ali import ALIEncoderTrainer
from ggan_lib.train.classifiers import CNNTrainer, train_cnn
from ggan_lib.train.ema import PathEMA, path_ema
from ggan_lib.train.ggan import CLASSIFIER_PATH, Trainer

MCFG = ModelConfig.preset("tiny")


def _trainer(**over) -> Trainer:
    X, Xl, yl = synthetic_data(MCFG)
    over = {"clf_ema_decay": 0.99, **over}
    return Trainer(MCFG, TrainConfig.preset("tiny", progress=False, tensorboard=False, **over), X, Xl, yl)


def test_the_average_by_hand():
    """Two updates of a 1-weight net: decay (1 + t) / (10 + t) at t = 0, 1 (warm-up 10), below the cap 0.99."""
    net = torch.nn.Linear(1, 1, bias=False)
    net.weight.data.fill_(2.0)
    avg = PathEMA({"n": net}, 0.99, 10)          # starts as a copy: 2
    net.weight.data.fill_(4.0)
    avg.update({"n": net}, 0)                    # 0.1 * 2 + 0.9 * 4 = 3.8
    assert float(avg.nets["n"].weight) == pytest.approx(3.8)
    net.weight.data.fill_(0.0)
    avg.update({"n": net}, 1)                    # 2/11 * 3.8 + 9/11 * 0
    assert float(avg.nets["n"].weight) == pytest.approx(2 / 11 * 3.8)
    assert not avg.nets["n"].weight.requires_grad
    assert path_ema({"n": net}, 0.0, 10) is None  # decay 0: the last iterate is scored


def test_ggan_scores_the_average_of_d_f_cx_and_trains_the_live_networks():
    tr = _trainer()
    start = {n: {k: v.clone() for k, v in getattr(tr.model, n).state_dict().items()} for n in CLASSIFIER_PATH}
    tr.train(3)
    scored, live = tr.classifier(), tr.classifier(use_ema=False)
    for n in CLASSIFIER_PATH:
        assert getattr(scored, n) is tr.clf_ema.nets[n] and getattr(live, n) is tr.nets[n]
        assert all(not p.requires_grad for p in getattr(scored, n).parameters())
    # after 3 steps the average equals neither the initial nor the live weights
    key = next(k for k, v in start["Cx"].items() if v.is_floating_point())
    w0, w_live, w_avg = start["Cx"][key], tr.nets["Cx"].state_dict()[key], tr.clf_ema.nets["Cx"].state_dict()[key]
    assert not torch.equal(w_avg, w_live) and not torch.equal(w_avg, w0)
    X, _, _ = synthetic_data(MCFG)
    y = torch.zeros(len(X), dtype=torch.long)
    logits = predict_logits(scored_classifier(tr), X)
    assert torch.equal(logits, predict_logits(scored, X))
    assert ggan_accuracy(tr, X, y) == pytest.approx(float((logits.argmax(1) == 0).float().mean()))
    # the averages are in no optimiser: every phase's parameters are live ones
    avg_ids = {id(p) for m in tr.clf_ema.nets.values() for p in m.parameters()}
    for ph in tr.phases.values():
        assert not avg_ids & {id(p) for g in ph.opt.param_groups for p in g["params"]}


def test_table_ii_scores_the_last_iterate_by_default():
    """The decision of results/diag (issue 13): the average was not adopted; every method's default is off."""
    assert TrainConfig().clf_ema_decay == 0.0 and BaselineConfig().clf_ema_decay == 0.0
    assert TrainConfig.preset("small").clf_ema_decay == 0.0 and BaselineConfig.preset("small").clf_ema_decay == 0.0


def test_off_scores_the_last_iterate():
    tr = _trainer(clf_ema_decay=0.0)
    tr.train(2)
    assert tr.clf_ema is None
    assert all(getattr(tr.classifier(), n) is tr.nets[n] for n in CLASSIFIER_PATH)


def test_the_average_survives_a_checkpoint_and_old_files_read_back_without_one(tmp_path):
    tr = _trainer()
    tr.train(2)
    path = tr.save(tmp_path / "c.pt")
    X, Xl, yl = synthetic_data(MCFG)
    again = Trainer.resume(path, X, Xl, yl)     # from the file's own config: the average is on
    for n in CLASSIFIER_PATH:
        for (k, a), b in zip(tr.clf_ema.nets[n].state_dict().items(), again.clf_ema.nets[n].state_dict().values()):
            assert torch.equal(a, b), (n, k)
    tr.train(1), again.train(1)                    # and continue identically
    assert torch.equal(predict_logits(tr.classifier(), X), predict_logits(again.classifier(), X))
    state = ckpt.load_checkpoint(path)             # a file from before the field: scored at its last iterate
    cfg = json.loads(state["train_cfg"])
    del cfg["clf_ema_decay"]
    state["train_cfg"], state["ema_clf"] = json.dumps(cfg), {}
    old = Trainer.resume(ckpt.save_checkpoint(tmp_path / "old.pt", state), X, Xl, yl)
    assert old.cfg.clf_ema_decay == 0.0 and old.clf_ema is None


def test_exports_and_snapshots_classify_with_the_average():
    tr = _trainer()
    tr.train(3)
    X, _, _ = synthetic_data(MCFG)
    want = predict_logits(tr.classifier(), X)
    export = export_state(tr.state_dict(), "t")
    assert export["classifier_is_ema"] and export["name"] == "t"  # the export's name, not a network's
    model = ggan_from_weights(MCFG, export["nets"])
    assert torch.allclose(predict_logits(scored_classifier(model), X), want, atol=1e-6)
    assert torch.allclose(predict_logits(scored_classifier(from_trainer(tr).model), X), want, atol=1e-6)


def _bcfg(**over):
    return BaselineConfig.preset("tiny", progress=False, **{"clf_ema_decay": 0.99, **over})


def test_the_cnn_is_scored_by_its_average():
    X, Xl, yl = synthetic_data(MCFG)
    tr = CNNTrainer(MCFG, _bcfg(), Xl, yl)
    tr.train(4)
    assert tr.classifier() is tr.clf_ema.nets["net"] and tr.classifier() is not tr.model
    net = train_cnn(MCFG, _bcfg(), Xl, yl, 4)    # the protocol's CNN: the same run's average
    assert torch.equal(predict_logits(net, X), predict_logits(tr.classifier(), X))
    off = CNNTrainer(MCFG, _bcfg(clf_ema_decay=0.0), Xl, yl)
    assert off.clf_ema is None and off.classifier() is off.model


def test_baseline_checkpoints_keep_the_average(tmp_path):
    X, Xl, yl = synthetic_data(MCFG)
    tr = CNNTrainer(MCFG, _bcfg(), Xl, yl, out_dir=tmp_path)
    tr.train(3)
    path = tr.save()
    again = CNNTrainer(MCFG, _bcfg(), Xl, yl)
    again.load(path)
    assert torch.equal(predict_logits(again.classifier(), X), predict_logits(tr.classifier(), X))


def test_the_ali_encoder_is_scored_by_its_average():
    from ggan_lib.model.baselines import UnconditionalGenerator
    X, _, _ = synthetic_data(MCFG)
    tr = ALIEncoderTrainer(MCFG, _bcfg(), UnconditionalGenerator(cfg=MCFG), X)
    tr.train(2)
    assert tr.encoder is tr.clf_ema.nets["E"] and tr.encoder is not tr.nets["E"]


def test_the_committed_deciding_runs_give_the_recorded_decision(tmp_path):
    """results/diag's curves read back to the README's figures, and they fail the rule (not adopted)."""
    import matplotlib
    matplotlib.use("Agg")
    from pathlib import Path

    from ggan_lib.book import reports, viz
    assert reports.validation_curves(tmp_path) == (None, None)
    diag = Path(__file__).resolve().parents[1] / "results" / "diag"
    if not list(diag.glob("ema_*_f*.json")):
        pytest.skip("results/diag is not in this checkout")
    curves, summary = reports.validation_curves(diag)
    m = summary.set_index(["method", "labels", "variant"])["mean"]
    assert m[("GGAN", "5 %", "last iterate")] == pytest.approx(24.0, abs=0.05)
    assert m[("GGAN", "5 %", "average 0.99")] == pytest.approx(23.4, abs=0.05)
    assert m[("CNN", "5 %", "last iterate")] == pytest.approx(32.2, abs=0.05)
    # the rule: adopt only if the average is >= the last iterate for GGAN at both fractions
    assert any(m[("GGAN", f, "average 0.99")] < m[("GGAN", f, "last iterate")] for f in ("5 %", "1 %"))
    assert set(curves["variant"]) == {"last iterate", "average 0.99", "average 0.999"}
    assert len(viz.plot_validation_curves(curves).axes) == 2
