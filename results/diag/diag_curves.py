"""Issue-13 diagnostic: validation curves on a speaker-disjoint split carved from the training speakers.

Test speaker (never touched here): theo. Validation speaker: george. Train pool: jackson, nicolas, yweweler.
GGAN (small preset) and CNN on the same 5 % stratified labels; every EVAL iterations: accuracy on the
validation speaker, fit on the labelled clips, and how often a spectrogram-domain judge (a CNN trained on
all labels of the train pool) hears G's code c as digit c.
"""
import json, sys, time
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from ggan_lib.config import ModelConfig
from ggan_lib.audio import AudioConfig
from ggan_lib.data import DigitFolder, labelled_subset
from ggan_lib.config import TrainConfig
from ggan_lib.train.ggan import Trainer
from ggan_lib.config import BaselineConfig
from ggan_lib.train.classifiers import CNNTrainer
from ggan_lib.metrics.accuracy import accuracy, ggan_accuracy

what = sys.argv[1]; iters = int(sys.argv[2]); every = int(sys.argv[3]); frac = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
tag = sys.argv[6] if len(sys.argv) > 6 else ""
out = Path(__file__).parent / f"{what}{tag}_f{frac}.json"
mcfg = ModelConfig.preset("small")
acfg = AudioConfig(spec_shape=tuple(mcfg.spec_shape))
ds = DigitFolder(None, split="all", cfg=acfg, progress=False)
X, y = ds.as_tensors(); spk = np.array(ds.speakers)
tr = np.isin(spk, ["jackson", "nicolas", "yweweler"]); va = spk == "george"
Xtr, ytr, Xva, yva = X[tr], y[tr], X[va], y[va]
idx = torch.from_numpy(labelled_subset(ytr, frac, 0))
Xl, yl = Xtr[idx], ytr[idx]
bcfg = BaselineConfig.preset("small", progress=False)
judge_path = Path(__file__).parent / "judge_cnn.pt"
if judge_path.exists():
    from ggan_lib.model.baselines import CNNBaseline
    judge = CNNBaseline(cfg=mcfg); judge.load_state_dict(torch.load(judge_path)); judge.eval()
else:
    jt = CNNTrainer(mcfg, bcfg, Xtr, ytr); jt.train(2000); judge = jt.model.eval()
    torch.save(judge.state_dict(), judge_path)
print("judge val acc", accuracy(judge, Xva, yva), flush=True)
curve = []
t0 = time.process_time()
if what == "ggan":
    tcfg = TrainConfig.preset("small", progress=False, tensorboard=False, **extra)
    t = Trainer(mcfg, tcfg, Xtr, Xl, yl)
    for i in range(1, iters + 1):
        t.step()
        if i % every == 0:
            c = torch.arange(500) % 10
            with torch.no_grad():
                xs = t.sample(500, c=c, seed=1)
                pj = judge(xs).argmax(1)
            per = [float((pj[c == k] == k).float().mean()) for k in range(10)]
            rec = dict(it=i, cpu=time.process_time() - t0, val=ggan_accuracy(t.model, Xva, yva),
                       fit=ggan_accuracy(t.model, Xl, yl), gen_agree=float((pj == c).float().mean()), gen_per=per,
                       gen_raw_agree=float((judge(t.sample(500, c=c, seed=1, use_ema=False)).argmax(1) == c).float().mean()))
            curve.append(rec); print(json.dumps(rec), flush=True)
            out.write_text(json.dumps(dict(what=what, frac=frac, extra=extra, curve=curve), indent=1))
else:
    ct = CNNTrainer(mcfg, bcfg, Xl, yl)
    for i in range(1, iters + 1):
        ct.step()
        if i % every == 0:
            rec = dict(it=i, cpu=time.process_time() - t0, val=accuracy(ct.model, Xva, yva), fit=accuracy(ct.model, Xl, yl))
            ct.model.train()
            curve.append(rec); print(json.dumps(rec), flush=True)
            out.write_text(json.dumps(dict(what=what, frac=frac, curve=curve), indent=1))
