"""Issue-13 probe: the floor gate re-confirmed on a validation split carved from the training data.

FSDD's training split is takes 5+. Takes 5-9 (250 clips, 5 speakers x 10 digits x 5 takes) are held out as
validation; a classifier of the metric classifier's recipe, narrower and shorter (CHANNELS, EPOCHS: the
question is the inversion, not the judge), is trained on takes 10+ only, then scored on the validation clips
raw and through the 64 x 32 and 256 x 128 round trips for floor gates None (literal floor), 0.02, 0.1, 0.2.
FSDD's test takes 0-4 are not read. Usage: python results/judge/gate_val.py [CHANNELS] [EPOCHS]
"""
import dataclasses, json, re, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from ggan_lib.audio import AudioConfig, load_audio
from ggan_lib.data.paths import default_fsdd_dir
from ggan_lib.data.sources import list_digit_folder
from ggan_lib.metrics.classifier import ClassifierConfig
from ggan_lib.metrics.scores import roundtrip_audio
from ggan_lib.metrics.train_classifier import accuracy, train_classifier

channels = int(sys.argv[1]) if len(sys.argv) > 1 else 32
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
items = list_digit_folder(default_fsdd_dir(), "train")  # takes 5+ only
take = np.array([int(re.match(r"\d+_\w+_(\d+)", p.stem).group(1)) for p, _ in items])
cfg = AudioConfig()
x = np.stack([load_audio(p, cfg) for p, _ in items]).astype(np.float32)
y = np.array([d for _, d in items], dtype=np.int64)
val = take <= 9
assert take.min() == 5 and val.sum() == 250
t0 = time.process_time()
clf, _ = train_classifier(x[~val], y[~val], ClassifierConfig(channels=channels), epochs=epochs, progress=False)
res = {"classifier": f"recipe, {channels} channels, {epochs} epochs, trained on FSDD takes 10+ ({(~val).sum()} clips)",
       "clips": "FSDD takes 5-9 (250, validation)", "train_cpu_s": round(time.process_time() - t0),
       "raw": accuracy(clf, x[val], y[val])}
print(json.dumps(res), flush=True)
for shape in [(64, 32), (256, 128)]:
    for gate in [None, 0.02, 0.1, 0.2]:
        acfg = AudioConfig(spec_shape=shape, floor_gate=gate)
        res[f"{shape[0]}x{shape[1]} gate={gate}"] = accuracy(clf, roundtrip_audio(x[val], acfg), y[val])
        print(json.dumps(res), flush=True)
