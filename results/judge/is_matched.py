"""Issue-13 check: generated IS against real round-trip IS at the same clip count (500 clips, 10 splits of 50),
because IS grows with the clips per split. Real: 500 FSDD training clips (shuffled, seed 0) through the 64 x 32
round trip, scored as the card scores generated clips. Usage: python results/judge/is_matched.py [N]"""
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
from ggan_lib.experiments.reproduce import eval_config, load_waves
from ggan_lib.metrics import load_classifier
from ggan_lib.metrics.reference import reference_scores

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
clf = load_classifier("models/metric_classifier_fsdd.pt")
ev = eval_config("small")
waves, _ = load_waves("fsdd", "train", n, 0)
res = {}
for kind in ("roundtrip", "raw"):
    r = reference_scores(clf, waves, ev, (64, 32), reference=kind)
    res[kind] = {"is": r.is_mean, "is_std": r.is_std, "n": r.n_scored}
print(json.dumps(res))
