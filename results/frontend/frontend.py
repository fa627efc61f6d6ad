"""Issue-13 diagnostic: does the small preset's front end limit speaker generalisation?

Same split as results/diag (theo never read, george = validation, train pool jackson/nicolas/yweweler).
For each front end: a CNN baseline (small preset, lr 1e-3) trained on ALL 1,500 train-pool labels and on
the 5 % draw (seed 0), and a logistic regression on raw pixels; accuracy on george.
Usage: python results/frontend/frontend.py NAME [steps]
"""
import json, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from ggan_lib.config import ModelConfig, BaselineConfig
from ggan_lib.audio import AudioConfig
from ggan_lib.data import DigitFolder, labelled_subset
from ggan_lib.train.classifiers import CNNTrainer
from ggan_lib.metrics.accuracy import accuracy
from sklearn.linear_model import LogisticRegression

FRONT_ENDS = {
    "16k": dict(),  # the small preset now: 16 kHz, L 16384, a 128, M 512 -> (256,128) -> (64,32)
    "8k": dict(sample_rate=8000, clip_samples=8000, signal_length=8192, hop=64, n_channels=256),
    "8k-M512": dict(sample_rate=8000, clip_samples=8000, signal_length=8192, hop=64, n_channels=512),
}
name = sys.argv[1]; steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
mcfg = ModelConfig.preset("small")
acfg = AudioConfig(spec_shape=tuple(mcfg.spec_shape), **FRONT_ENDS[name])
ds = DigitFolder(None, split="all", cfg=acfg, progress=False)
X, y = ds.as_tensors(); spk = np.array(ds.speakers)
tr = np.isin(spk, ["jackson", "nicolas", "yweweler"]); va = spk == "george"
Xtr, ytr, Xva, yva = X[tr], y[tr], X[va], y[va]
bcfg = BaselineConfig.preset("small", progress=False)
rec = dict(front_end=name, audio=FRONT_ENDS[name], steps=steps)
t0 = time.process_time()
lr = LogisticRegression(max_iter=2000, C=0.01).fit(Xtr.flatten(1).numpy(), ytr.numpy())
rec["logreg_all"] = float(lr.score(Xva.flatten(1).numpy(), yva.numpy()))
for frac in (1.0, 0.05):
    if frac < 1:
        idx = torch.from_numpy(labelled_subset(ytr, frac, 0)); Xl, yl = Xtr[idx], ytr[idx]
    else:
        Xl, yl = Xtr, ytr
    curve = []
    torch.manual_seed(0)
    ct = CNNTrainer(mcfg, bcfg, Xl, yl)
    for i in range(1, steps + 1):
        ct.step()
        if i % 250 == 0:
            curve.append((i, accuracy(ct.model, Xva, yva))); ct.model.train()
    rec[f"cnn_{frac}"] = curve
    print(name, frac, curve, flush=True)
rec["cpu_s"] = time.process_time() - t0
print(json.dumps(rec), flush=True)
(Path(__file__).parent / f"{name}.json").write_text(json.dumps(rec, indent=1))
