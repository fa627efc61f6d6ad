"""Issue-13 probe: what the round trip costs the shipped metric classifier, and what gating the log floor
to silence (AudioConfig.floor_gate) gives back. Usage: python results/judge/gate_probe.py CLASSIFIER SPLIT [SPEAKER]
SPLIT 'test': FSDD's takes 0-4 (250 clips; the shipped classifier trained on takes 5+); 'speaker': every
clip of SPEAKER (for a classifier trained without that speaker)."""
import dataclasses, json, sys
import numpy as np, torch
torch.set_num_threads(1)
from ggan_lib.audio import AudioConfig
from ggan_lib.data.paths import default_fsdd_dir
from ggan_lib.data.sources import load_digit_folder
from ggan_lib.metrics.classifier import load_classifier
from ggan_lib.metrics.scores import roundtrip_audio
from ggan_lib.metrics.train_classifier import accuracy

clf = load_classifier(sys.argv[1])
speaker = sys.argv[3] if sys.argv[2] == "speaker" else None
x, y = load_digit_folder(default_fsdd_dir(), "test", progress=False, test_speakers=speaker)
res = {"classifier": sys.argv[1], "clips": f"{len(y)} ({'speaker ' + speaker if speaker else 'takes 0-4'})",
       "raw": accuracy(clf, x, y)}
for shape in [(64, 32), (256, 128)]:
    for gate in [None, 0.02, 0.1, 0.2]:
        cfg = AudioConfig(spec_shape=shape, floor_gate=gate)
        res[f"{shape[0]}x{shape[1]} gate={gate}"] = accuracy(clf, roundtrip_audio(x, cfg), y)
        print(json.dumps(res), flush=True)
