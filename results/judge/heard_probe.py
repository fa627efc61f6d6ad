"""Issue-13 probe: how often the metric classifier hears a shipped model's generated code c as digit c,
with the log floor inverted literally (floor_gate None) and gated (0.1). 500 clips, 50 per code, seed 0.
Usage: python results/judge/heard_probe.py MODEL CLASSIFIER"""
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
from ggan_lib.audio import AudioConfig
from ggan_lib.audio.pghi import spectrogram_to_audio
from ggan_lib.experiments.pretrained import load_pretrained
from ggan_lib.metrics.classifier import load_classifier
from ggan_lib.metrics.train_classifier import predict

pm = load_pretrained(sys.argv[1]); clf = load_classifier(sys.argv[2])
n = 500
c = np.arange(n) % pm.model_cfg.n_classes
specs = pm.sample(n, c=torch.as_tensor(c), seed=0)[:, 0].double().numpy()
res = {"model": sys.argv[1], "classifier": sys.argv[2], "n": n}
for gate in (None, 0.1):
    pred = predict(clf, spectrogram_to_audio(specs, AudioConfig(spec_shape=tuple(pm.model_cfg.spec_shape), floor_gate=gate)))
    res[f"gate={gate}"] = {"heard_as_code": float((pred == c).mean()),
                           "per_code": [round(float((pred[c == k] == k).mean()), 3) for k in range(10)],
                           "most_heard_as": [int(np.bincount(pred[c == k], minlength=10).argmax()) for k in range(10)]}
    print(json.dumps(res), flush=True)
