"""Issue-13 deciding experiment: does a Polyak average (EMA) of the classifier path help on an unseen speaker?

The split is the inner split of Table II's fold `theo` (theo is never read): train on jackson, nicolas and
yweweler (1,500 clips), validate on all 500 clips of george. The labels are Table II's own draw rule
(`data.splits.draw_indices`, seed 0, draw 0) on the training pool; the seeds are those a Table II run uses.

GGAN: the `small` presets as Table II trains them (2,000 iterations, last iterate), and beside the live
networks an EMA of D, F and Cx at decays 0.99 and 0.999 (warm-up ``min(d, (1+t)/(10+t))``, the rule of
G's EMA; buffers copied from the live networks). CNN: the same EMAs of the whole CNN. Every EVAL
iterations the script records validation accuracy (george) and the fit on the labelled clips for the live
networks and each EMA.

    OMP_NUM_THREADS=1 python results/diag/diag_ema.py ggan 2000 100 0.05
    OMP_NUM_THREADS=1 python results/diag/diag_ema.py cnn 2000 100 0.05
"""
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ggan_lib.config import BaselineConfig, ModelConfig, TrainConfig
from ggan_lib.data import DigitFolder
from ggan_lib.data.splits import draw_indices, draw_seed
from ggan_lib.experiments.reproduce.data import audio_cfg
from ggan_lib.metrics.accuracy import GGANClassifier, accuracy
from ggan_lib.train.classifiers import CNNTrainer
from ggan_lib.train.ema import ema_decay_at, update_ema
from ggan_lib.train.ggan import Trainer

torch.set_num_threads(1)
what, iters, every, frac = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = Path(__file__).parent / f"ema_{what}_f{frac}.json"
DECAYS = (0.99, 0.999)

mcfg = ModelConfig.preset("small")
ds = DigitFolder(None, split="all", cfg=audio_cfg("small"), progress=False)
X, y = ds.as_tensors()
spk = np.array(ds.speakers)
assert "theo" in set(spk)
tr, va = np.isin(spk, ["jackson", "nicolas", "yweweler"]), spk == "george"
Xtr, ytr, Xva, yva = X[tr], y[tr], X[va], y[va]
idx = torch.from_numpy(draw_indices(ytr, frac, 0, 0))
Xl, yl = Xtr[idx], ytr[idx]
print(f"train {len(Xtr)}, labelled {len(idx)}, val {len(Xva)}", flush=True)

if what == "ggan":
    tcfg = TrainConfig.preset("small", seed=draw_seed(0, 0), progress=False, tensorboard=False, ckpt_every=0)
    t = Trainer(mcfg, tcfg, Xtr, Xl, yl)
    live = GGANClassifier(t.model)
    step = t.step
else:
    bcfg = BaselineConfig.preset("small", seed=draw_seed(0, 0), progress=False)
    t = CNNTrainer(mcfg, bcfg, Xl, yl)
    live = t.model
    step = t.step
emas = {d: copy.deepcopy(live).eval().requires_grad_(False) for d in DECAYS}


def scores(net: torch.nn.Module) -> dict[str, float]:
    was = net.training
    r = dict(val=accuracy(net, Xva, yva), fit=accuracy(net, Xl, yl))
    net.train(was)
    return r


curve, t0 = [], time.process_time()
for i in range(iters):
    step()
    for d, e in emas.items():
        update_ema(e, live, ema_decay_at(i, d, 10))
    if (i + 1) % every == 0:
        rec = dict(it=i + 1, cpu=round(time.process_time() - t0, 1), live=scores(live))
        rec.update({f"ema{d}": scores(e) for d, e in emas.items()})
        curve.append(rec)
        print(json.dumps(rec), flush=True)
        out.write_text(json.dumps(dict(what=what, frac=frac, n_labelled=len(idx), decays=DECAYS, curve=curve),
                                  indent=1))
