"""Issue 14: the restructure changes no number. Run this file from an old and a new checkout and diff the JSON.

    PYTHONPATH=<checkout> python results/restructure/compare.py <checkout> out.json

It records (1) a tiny Algorithm-1 run: every loss of 5 iterations and a hash of the final networks, EMA and
optimiser state; (2) Table II's protocol on FSDD at the tiny preset (CNN, 5 % labels, 2 draws: accuracies);
(3) the shipped small GGAN's card figures (IS / FID / accuracy) measured with few clips.
"""
import hashlib
import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)
root, out = sys.argv[1], sys.argv[2]
new = not __import__("importlib").util.find_spec("ggan_lib.trainer")
if new:
    from ggan_lib.config import BaselineConfig, ModelConfig, TrainConfig
    from ggan_lib.data import synthetic_data
    from ggan_lib.experiments.pretrained import load_pretrained, measure
    from ggan_lib.experiments.protocol import fsdd_cnn_protocol
    from ggan_lib.train.ggan import Trainer
else:
    from ggan_lib.baseline_training import BaselineConfig, fsdd_cnn_protocol  # noqa: F401
    from ggan_lib.config import ModelConfig
    from ggan_lib.pretrained import load_pretrained, measure
    from ggan_lib.train import synthetic_data
    from ggan_lib.trainer import Trainer, TrainConfig


def state_hash(state) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        v = state[k]
        if isinstance(v, dict):
            h.update(state_hash(v).encode())
        elif torch.is_tensor(v):
            h.update(k.encode() + v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


rec = {}
mcfg = ModelConfig.preset("tiny")
X, Xl, yl = synthetic_data(mcfg)
tr = Trainer(mcfg, TrainConfig.preset("tiny", progress=False, tensorboard=False), X, Xl, yl)
rec["tiny_losses"] = [tr.step() for _ in range(5)]
for r in rec["tiny_losses"]:
    r.pop("sec", None)
rec["tiny_nets"] = state_hash(tr.model.state_dict())
rec["tiny_ema"] = state_hash(tr.ema_G.state_dict())
rec["tiny_opt_D1"] = state_hash({str(k): v for k, v in tr.phases["D1"].opt.state_dict()["state"][0].items()})
rec["tiny_sample"] = float(tr.sample(8, seed=3).double().sum())
res = fsdd_cnn_protocol("tiny", fractions=(0.05,), n_draws=2, n_iters=20, progress=False)
rec["table2_tiny_cnn"] = [(r["fraction"], r["draw"], r["seed"], r["n_labelled"], r["accuracy"]) for r in res.rows]
pm = load_pretrained("ggan-fsdd-small")
m = measure(pm, n_clips=30, n_real=40, n_splits=3)
rec["shipped_measure"] = {k: v for k, v in m.items() if isinstance(v, (int, float)) and "sec" not in k}
with open(out, "w") as f:
    json.dump(rec, f, indent=1, sort_keys=True, default=float)
print(json.dumps(rec["shipped_measure"])[:400])
